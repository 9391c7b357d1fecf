"""A small learned 2x super-resolution network for catalogue photos (optional: used only where it beats bicubic).

ESPCN-style residual net (Shi et al. 2016) that predicts, at low resolution, a PixelShuffle'd correction added to
the bicubic upsampling of its input; the last conv starts at zero, so an untrained net is exactly bicubic. Also
the small array/tensor helpers its trainer (`ml.sr_train.SRTrainer`) and its inference (`ml.upscale.Upscaler`)
share. The degradation it learns to undo is `downscale`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .images import to_rgb

KIND = "sr"
VERSION = 1


@dataclass
class SRConfig:
    channels: int = 32  # width: 32 keeps a 225x300 photo under ~0.1 s on one CPU core
    blocks: int = 4  # residual blocks; receptive field 2 * blocks + 2 low-res pixels each side
    scale: int = 2  # the upscaling factor (PixelShuffle)
    patch: int = 64  # high-res training crop; 32 low-res pixels cover the receptive field well
    batch_size: int = 16
    lr: float = 1e-3  # Adam; stable for a net this small
    lr_min_ratio: float = 0.1  # cosine decay to lr * this over the planned steps
    ema_decay: float = 0.995  # short runs (a few thousand steps): a long EMA would lag behind
    tile: int = 128  # low-res tile side at inference: bounded memory on camera-size photos
    tile_pad: int = 16  # > receptive field, so tiled output equals whole-image output


class ResBlock(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


class SRNet(nn.Module):
    """(b, 3, h, w) in [-1, 1] -> (b, 3, scale*h, scale*w): bicubic + learned residual."""

    def __init__(self, cfg: SRConfig):
        super().__init__()
        self.cfg = cfg
        c = cfg.channels
        self.head = nn.Conv2d(3, c, 3, padding=1)
        self.body = nn.Sequential(*[ResBlock(c) for _ in range(cfg.blocks)])
        self.tail = nn.Conv2d(c, 3 * cfg.scale**2, 3, padding=1)
        self.shuffle = nn.PixelShuffle(cfg.scale)
        nn.init.zeros_(self.tail.weight)  # start as plain bicubic
        nn.init.zeros_(self.tail.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = F.interpolate(x, scale_factor=self.cfg.scale, mode="bicubic", align_corners=False)  # (b, 3, sh, sw)
        f = self.head(x)  # (b, c, h, w)
        f = F.relu(self.body(f))
        return base + self.shuffle(self.tail(f))  # (b, 3, sh, sw)


def even_rgb_array(image) -> np.ndarray:
    """PIL or uint8 array -> uint8 (h, w, 3), cropped to even size."""
    arr = np.asarray(to_rgb(image)) if isinstance(image, Image.Image) else np.asarray(image, dtype=np.uint8)
    arr = np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr[..., :3]
    return arr[: arr.shape[0] // 2 * 2, : arr.shape[1] // 2 * 2]


def downscale(arr: np.ndarray, scale: int = 2) -> np.ndarray:
    """The degradation the net learns to undo: Pillow's bicubic (antialiased) downscale."""
    h, w = arr.shape[:2]
    return np.asarray(Image.fromarray(arr).resize((w // scale, h // scale), Image.Resampling.BICUBIC))


def chw_uint8(arr: np.ndarray) -> torch.Tensor:
    """uint8 (h, w, 3) -> uint8 (3, h, w) tensor."""
    return torch.from_numpy(np.array(arr, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1]."""
    return x.float().div(127.5).sub(1.0)


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" means the GPU when there is one, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


def check_kind(meta: dict) -> None:
    if meta.get("kind") != KIND:
        raise checkpoint.CheckpointError(f"not a super-resolution checkpoint (kind={meta.get('kind')!r})")
