"""2x upscaling of photos with an exported super-resolution net, and whether it beats bicubic.

`Upscaler` is the callable `ml.enhance.enhance` takes (tiled, so camera-size photos fit in memory); `evaluate`
compares it with bicubic on held-out photos so the plugin can switch it on only when it wins.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from PIL import Image

from . import checkpoint
from .images import to_rgb
from .sr import SRConfig, SRNet, check_kind, chw_uint8, downscale, even_rgb_array, resolve_device, to_unit


class Upscaler:
    """2x upscaling callable: `Upscaler.from_checkpoint(path)(image) -> image`, tiled for large photos."""

    def __init__(self, model: SRNet, device: str = "cpu", metrics: dict | None = None):
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.cfg = model.cfg
        self.metrics = metrics or {}

    @classmethod
    def from_checkpoint(cls, path, expected_sha256: str | None = None, device: str = "cpu") -> "Upscaler":
        tensors, meta = checkpoint.load(path, expected_sha256)
        check_kind(meta)
        model = SRNet(SRConfig(**meta["config"]))
        checkpoint.load_prefixed(model, "ema", tensors)
        return cls(model, device, meta.get("metrics"))

    @torch.no_grad()
    def upscale_tensor(self, x: torch.Tensor) -> torch.Tensor:
        """(3, h, w) in [-1, 1] -> (3, s*h, s*w), tile by tile with overlap (identical to one pass)."""
        s, t, pad = self.cfg.scale, self.cfg.tile, self.cfg.tile_pad
        _, h, w = x.shape
        out = torch.empty(3, s * h, s * w)
        for y0 in range(0, h, t):
            for x0 in range(0, w, t):
                ys, xs = max(0, y0 - pad), max(0, x0 - pad)
                ye, xe = min(h, y0 + t + pad), min(w, x0 + t + pad)
                tile = self.model(x[None, :, ys:ye, xs:xe].to(self.device))[0].cpu()  # (3, s*th, s*tw)
                th, tw = min(t, h - y0), min(t, w - x0)
                oy, ox = s * (y0 - ys), s * (x0 - xs)
                out[:, s * y0: s * (y0 + th), s * x0: s * (x0 + tw)] = tile[:, oy: oy + s * th, ox: ox + s * tw]
        return out

    def upscale(self, image: Image.Image) -> Image.Image:
        """PIL -> PIL RGB, scale x larger."""
        x = to_unit(chw_uint8(np.asarray(to_rgb(image))))
        y = self.upscale_tensor(x)
        return Image.fromarray(((y.clamp(-1, 1) + 1) * 127.5 + 0.5).byte().permute(1, 2, 0).numpy())

    __call__ = upscale


def psnr(a: np.ndarray, b: np.ndarray, shave: int = 2) -> float:
    """PSNR in dB of two uint8 (h, w, 3) arrays, ignoring `shave` border pixels (edge effects)."""
    if shave:
        a, b = a[shave:-shave, shave:-shave], b[shave:-shave, shave:-shave]
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 99.0 if mse == 0 else 10 * math.log10(255.0**2 / mse)


def evaluate(upscaler: Callable[[Image.Image], Image.Image], images, scale: int = 2) -> dict:
    """Mean PSNR of upscaler vs bicubic (and Lanczos, the stronger classical filter) on held-out photos,
    each downscaled by bicubic first. `beats_bicubic` is what decides whether the plugin uses the model."""
    ours, bicubic, lanczos = [], [], []
    for image in images:
        hr = even_rgb_array(image)
        lr = Image.fromarray(downscale(hr, scale))
        size = (hr.shape[1], hr.shape[0])
        ours.append(psnr(np.asarray(upscaler(lr).convert("RGB").resize(size)), hr))
        bicubic.append(psnr(np.asarray(lr.resize(size, Image.Resampling.BICUBIC)), hr))
        lanczos.append(psnr(np.asarray(lr.resize(size, Image.Resampling.LANCZOS)), hr))
    model, base = float(np.mean(ours)), float(np.mean(bicubic))
    return {"psnr_model": model, "psnr_bicubic": base, "psnr_lanczos": float(np.mean(lanczos)),
            "gain_db": model - base, "beats_bicubic": model > base, "images": len(ours)}
