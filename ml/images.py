"""The few image transforms prodimg needs (no torchvision).

Conventions: PIL images are RGB (or L); tensors are float32 in [-1, 1], shape (c, h, w) or (b, c, h, w);
arrays are uint8 (h, w, c) or float32 in [0, 1].
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageOps

WHITE = (255, 255, 255)


def to_rgb(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation and flatten transparency onto white, returning an RGB image."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def pad_to_aspect(image: Image.Image, aspect: float, fill=WHITE) -> Image.Image:
    """Pad (never crop) to width/height == aspect, centring the content on `fill`."""
    w, h = image.size
    if abs(w / h - aspect) < 1e-3:
        return image
    if w / h > aspect:
        new_w, new_h = w, round(w / aspect)
    else:
        new_w, new_h = round(h * aspect), h
    canvas = Image.new(image.mode, (new_w, new_h), fill if image.mode == "RGB" else fill[0])
    canvas.paste(image, ((new_w - w) // 2, (new_h - h) // 2))
    return canvas


def fit(image: Image.Image, height: int, width: int, channels: int = 3) -> Image.Image:
    """Pad to the model's aspect and resize to (height, width) with antialiasing."""
    image = to_rgb(image)
    image = pad_to_aspect(image, width / height).resize((width, height), Image.Resampling.LANCZOS)
    return image.convert("L") if channels == 1 else image


def to_array(image: Image.Image) -> np.ndarray:
    """PIL -> float32 array in [0, 1], (h, w, c)."""
    arr = np.asarray(image, dtype=np.float32) / 255.0
    return arr[..., None] if arr.ndim == 2 else arr


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL -> float32 tensor in [-1, 1], (c, h, w)."""
    return torch.from_numpy(to_array(image)).permute(2, 0, 1).contiguous() * 2 - 1


def uint8_batch_to_tensor(batch: np.ndarray) -> torch.Tensor:
    """uint8 (b, h, w, c) -> float32 (b, c, h, w) in [-1, 1]."""
    if batch.ndim == 3:
        batch = batch[..., None]
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)


def tensor_to_array(tensor: torch.Tensor) -> np.ndarray:
    """(c, h, w) tensor in [-1, 1] -> float32 (h, w, c) array in [0, 1]."""
    return ((tensor.detach().cpu().float().clamp(-1, 1) + 1) / 2).permute(1, 2, 0).numpy()


def array_to_pil(arr: np.ndarray) -> Image.Image:
    """float (h, w, c) in [0, 1] or uint8 -> PIL (RGB, or L when c == 1)."""
    if arr.dtype != np.uint8:
        arr = (np.clip(arr, 0, 1) * 255 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    return Image.fromarray(arr)


def tensor_to_pil(tensor: torch.Tensor) -> Image.Image:
    """(c, h, w) tensor in [-1, 1] -> PIL."""
    return array_to_pil(tensor_to_array(tensor))
