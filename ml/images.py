"""The few image transforms prodimg needs (no torchvision).

Conventions: PIL images are RGB (or L); tensors are float32 in [-1, 1], shape (c, h, w) or (b, c, h, w);
arrays are uint8 (h, w, c) or float32 in [0, 1].

Sources (a shop's photo, as decoded): `normalise` turns any Pillow image upright, 8-bit and sRGB, RGB or RGBA;
`size_problem` says why one is too small or too narrow to work on; `split_alpha` gives the models the RGB on the
backdrop they were trained on (white) and keeps the alpha, which `put_alpha` puts back on a result.
"""
from __future__ import annotations

import io
import struct

import numpy as np
import torch
from PIL import Image, ImageCms, ImageOps

WHITE = (255, 255, 255)
ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")


def to_rgb(image: Image.Image) -> Image.Image:
    """Apply EXIF orientation and flatten transparency onto white, returning an RGB image."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


# ---------------------------------------------------------------- sources: orientation, modes, size
def upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says (as browsers show it); broken EXIF leaves it as stored."""
    try:
        return ImageOps.exif_transpose(image)
    except (ValueError, TypeError, KeyError, OSError, SyntaxError, struct.error):
        return image


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit ("I;16*"), 32-bit int ("I") and float ("F") greyscale -> L, scaled rather than clipped.

    16-bit and int images above 255 are read as 16-bit (/257); floats in [0, 1] are scaled by 255, floats up to
    255 taken as they are; anything brighter is scaled to its maximum. NaN is black; other modes pass through.
    """
    if not (image.mode.startswith("I") or image.mode == "F"):
        return image
    arr = np.asarray(image).astype(np.float64)
    finite = np.isfinite(arr)
    arr = np.where(finite, arr, 0.0)
    top = float(arr.max(initial=0.0))
    if image.mode.startswith("I;16"):
        scale = 1 / 257
    elif image.mode == "F" and top <= 1.0:
        scale = 255.0
    elif top <= 255:
        scale = 1.0
    elif top <= 65535:
        scale = 1 / 257
    else:
        scale = 255.0 / top
    return Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8))


def icc_to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """RGB through the embedded colour profile to sRGB; a broken profile leaves the pixels as they are."""
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return ImageCms.profileToProfile(image, src, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image


def normalise(image: Image.Image) -> Image.Image:
    """Any decoded Pillow image -> a fresh upright 8-bit sRGB image without metadata: RGBA when some pixel is not
    opaque (RGBA, LA, a palette or greyscale with a transparent colour), else RGB (16-bit, float, CMYK, palette,
    1-bit, greyscale, YCbCr, ...). Never raises on an odd mode: one Pillow cannot convert keeps its first band."""
    icc = image.info.get("icc_profile")
    image = to_8bit(upright(image))
    alpha = None
    if image.mode in ALPHA_MODES or "transparency" in image.info:
        rgba = _rgba(image)
        alpha, image = rgba.getchannel("A"), rgba.convert("RGB")
        if alpha.getextrema()[0] == 255:  # an alpha band with nothing transparent in it
            alpha = None
    try:
        rgb = image.convert("RGB")
    except ValueError:  # modes Pillow cannot convert directly (LAB, HSV): keep the first band as grey
        rgb = image.getchannel(0).convert("RGB")
    if icc and image.mode in ("RGB", "CMYK", "L"):  # from the mode the profile describes
        converted = icc_to_srgb(image, icc)
        rgb = rgb if converted is image else converted
    rgb = Image.fromarray(np.array(rgb.convert("RGB"), dtype=np.uint8))  # a new object: no info, no EXIF
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb


def _rgba(image: Image.Image) -> Image.Image:
    try:
        return image.convert("RGBA")
    except ValueError:  # no direct conversion (premultiplied "La"): its grey and its alpha as they are
        grey = image.getchannel(0)
        return Image.merge("RGBA", [grey, grey, grey, image.getchannel(image.getbands()[-1])])


def size_problem(size: tuple[int, int], min_side: int, max_aspect: float) -> str:
    """Why an image of `size` (w, h) is too small or too narrow to work on ("" when it is not): its short side
    under `min_side` px, or its long side more than `max_aspect` times its short side. 0 switches a check off."""
    w, h = size
    short, long = min(w, h), max(w, h)
    if min_side and short < min_side:
        return f"is too small: {w}x{h} pixels, and the short side must be at least {min_side} px"
    if max_aspect and long > max_aspect * short:
        return (f"is too narrow: {w}x{h} pixels is {long / short:.1f}:1, and the long side may be at most "
                f"{max_aspect:g} times the short side")
    return ""


def split_alpha(image: Image.Image, backdrop=WHITE) -> tuple[Image.Image, Image.Image | None]:
    """(the RGB the models see, the alpha or None): a transparent image composited over `backdrop` (the white the
    models were trained on, never the colours hidden under alpha 0), with its alpha ("L") kept apart."""
    if image.mode != "RGBA":
        return image.convert("RGB"), None
    alpha = image.getchannel("A")
    flat = Image.new("RGBA", image.size, (*backdrop, 255))
    return Image.alpha_composite(flat, image).convert("RGB"), alpha


def put_alpha(image: Image.Image, alpha: Image.Image | None, backdrop=WHITE) -> Image.Image:
    """A result made from `split_alpha`'s RGB with the source's alpha back on it: RGBA, the backdrop taken out of
    its half-transparent edge (no white fringe on a dark page) and fully transparent pixels set to the backdrop.
    A result of another size than the alpha (not pixel-aligned with the source) is returned as it is."""
    if alpha is None or image.size != alpha.size:
        return image
    rgb = np.asarray(image.convert("RGB"), dtype=np.float32)
    a = np.asarray(alpha, dtype=np.float32)[..., None] / 255
    bg = np.asarray(backdrop, dtype=np.float32)
    fg = np.where(a > 0.02, (rgb - (1 - a) * bg) / np.maximum(a, 0.02), bg)
    out = Image.fromarray(np.clip(fg + 0.5, 0, 255).astype(np.uint8))
    out.putalpha(alpha)
    return out


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
