"""A small learned 2x super-resolution for catalogue photos (optional: used only where it beats bicubic).

Network: ESPCN-style residual net (Shi et al. 2016) that predicts, at low resolution, a PixelShuffle'd
correction added to the bicubic upsampling of its input; the last conv starts at zero, so an untrained net
is exactly bicubic. Trained on the shop's own catalogue: pairs (bicubic 2x downscale -> original), random
crops and flips. `Upscaler` is the callable `ml.enhance.enhance` takes; `evaluate` compares it with bicubic
on held-out photos so the plugin can switch it on only when it wins.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .images import to_rgb
from .training import ema_update, load_optim, optim_tensors, run_steps

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


def _as_array(image) -> np.ndarray:
    """PIL or uint8 array -> uint8 (h, w, 3), cropped to even size."""
    arr = np.asarray(to_rgb(image)) if isinstance(image, Image.Image) else np.asarray(image, dtype=np.uint8)
    arr = np.repeat(arr[..., None], 3, axis=2) if arr.ndim == 2 else arr[..., :3]
    return arr[: arr.shape[0] // 2 * 2, : arr.shape[1] // 2 * 2]


def downscale(arr: np.ndarray, scale: int = 2) -> np.ndarray:
    """The degradation the net learns to undo: Pillow's bicubic (antialiased) downscale."""
    h, w = arr.shape[:2]
    return np.asarray(Image.fromarray(arr).resize((w // scale, h // scale), Image.Resampling.BICUBIC))


def _chw_uint8(arr: np.ndarray) -> torch.Tensor:
    """uint8 (h, w, 3) -> uint8 (3, h, w) tensor."""
    return torch.from_numpy(np.array(arr, dtype=np.uint8)).permute(2, 0, 1).contiguous()


def _unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 -> float in [-1, 1]."""
    return x.float().div(127.5).sub(1.0)


def resolve_device(device: str = "auto") -> torch.device:
    """"auto" means the GPU when there is one, else the CPU."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


class SRTrainer:
    """Owns the net, its EMA copy, the optimiser and the training pairs; saves, resumes and exports."""

    def __init__(self, images, config: SRConfig | None = None, seed: int = 0, device: str = "auto"):
        self.cfg = config or SRConfig()
        self.device = resolve_device(device)
        self.seed = seed
        torch.manual_seed(seed)
        self.model = SRNet(self.cfg).to(self.device)
        self.ema = copy.deepcopy(self.model).requires_grad_(False)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=self.cfg.lr)
        self.step_count = 0
        self.gen = torch.Generator().manual_seed(seed)
        hr = [_as_array(im) for im in images]
        self.pairs = [(_chw_uint8(a), _chw_uint8(downscale(a, self.cfg.scale))) for a in hr
                      if min(a.shape[:2]) >= self.cfg.patch]  # uint8: a catalogue of photos fits in memory
        if not self.pairs:
            raise ValueError(f"SR training needs images at least {self.cfg.patch} px a side")

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Random aligned crops with flips: (lr (b, 3, p/s, p/s), hr (b, 3, p, p))."""
        s, p = self.cfg.scale, self.cfg.patch // self.cfg.scale
        lrs, hrs = [], []
        for i in torch.randint(len(self.pairs), (self.cfg.batch_size,), generator=self.gen).tolist():
            hr, lr = self.pairs[i]
            y = int(torch.randint(lr.shape[1] - p + 1, (1,), generator=self.gen))
            x = int(torch.randint(lr.shape[2] - p + 1, (1,), generator=self.gen))
            lr_c, hr_c = lr[:, y: y + p, x: x + p], hr[:, s * y: s * (y + p), s * x: s * (x + p)]
            if torch.rand((), generator=self.gen) < 0.5:  # mirror: products are roughly symmetric
                lr_c, hr_c = lr_c.flip(-1), hr_c.flip(-1)
            lrs.append(lr_c)
            hrs.append(hr_c)
        return _unit(torch.stack(lrs).to(self.device)), _unit(torch.stack(hrs).to(self.device))

    def _set_lr(self, planned: int) -> None:
        t = min(1.0, self.step_count / max(planned, 1))
        scale = self.cfg.lr_min_ratio + (1 - self.cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * t))
        for group in self.opt.param_groups:
            group["lr"] = self.cfg.lr * scale

    def step(self, planned: int = 0) -> float:
        """One optimisation step on a fresh batch; returns the L1 loss."""
        if planned:
            self._set_lr(planned)
        lr, hr = self.batch()
        loss = F.l1_loss(self.model(lr), hr)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step_count += 1
        ema_update(self.ema, self.model, self.cfg.ema_decay)
        return float(loss.detach())

    def train(self, steps: int | None = None, minutes: float | None = None,
              callback: Callable[[int, float], None] | None = None, cpu_minutes: float | None = None) -> list[float]:
        """Train for `steps` steps, `minutes` of wall time or `cpu_minutes` of this process's CPU time (whichever
        comes first); callback(step, loss) after each. Returns this call's losses.

        With `steps`, the learning rate follows a cosine down to lr * lr_min_ratio over them; with a time
        budget alone it stays at lr (the number of steps is not known in advance).
        """
        planned = self.step_count + steps if steps is not None else 0
        losses: list[float] = []

        def one() -> dict:
            losses.append(self.step(planned))
            if callback is not None:
                callback(self.step_count, losses[-1])
            return {"step": self.step_count, "loss": losses[-1]}

        self.model.train()
        run_steps(one, steps, minutes, None, cpu_minutes)
        return losses

    def _meta(self) -> dict:
        return {"kind": KIND, "version": VERSION, "config": asdict(self.cfg), "step": self.step_count,
                "seed": self.seed}

    def save(self, path) -> str:
        """Full training state (net, EMA, Adam moments) to resume from; returns the file's sha256."""
        tensors = {**checkpoint.state_dict_with_prefix("model", self.model),
                   **checkpoint.state_dict_with_prefix("ema", self.ema)}
        tensors.update(optim_tensors("opt", self.opt)[0])  # Adam's moments; on resume its groups come from the config
        return checkpoint.save(path, tensors, self._meta())

    @classmethod
    def from_checkpoint(cls, path, images, device: str = "auto") -> "SRTrainer":
        """Resume a run saved with `save` (the catalogue images are not in the file)."""
        tensors, meta = checkpoint.load(path)
        _check_kind(meta)
        trainer = cls(images, SRConfig(**meta["config"]), seed=meta["seed"], device=device)
        checkpoint.load_prefixed(trainer.model, "model", tensors)
        checkpoint.load_prefixed(trainer.ema, "ema", tensors)
        load_optim(trainer.opt, "opt", tensors, trainer.opt.state_dict()["param_groups"])
        trainer.step_count = meta["step"]
        trainer.gen.manual_seed(meta["seed"] + meta["step"])
        return trainer

    def export(self, path, metrics: dict | None = None) -> str:
        """The EMA weights alone, with config and metrics: what `Upscaler.from_checkpoint` reads."""
        meta = {**self._meta(), "metrics": metrics or {}}
        return checkpoint.save(path, checkpoint.state_dict_with_prefix("ema", self.ema), meta)

    def upscaler(self) -> "Upscaler":
        """An Upscaler over a copy of the current EMA weights."""
        return Upscaler(copy.deepcopy(self.ema), device=str(self.device))


def _check_kind(meta: dict) -> None:
    if meta.get("kind") != KIND:
        raise checkpoint.CheckpointError(f"not a super-resolution checkpoint (kind={meta.get('kind')!r})")


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
        _check_kind(meta)
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
        x = _unit(_chw_uint8(np.asarray(to_rgb(image))))
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
        hr = _as_array(image)
        lr = Image.fromarray(downscale(hr, scale))
        size = (hr.shape[1], hr.shape[0])
        ours.append(psnr(np.asarray(upscaler(lr).convert("RGB").resize(size)), hr))
        bicubic.append(psnr(np.asarray(lr.resize(size, Image.Resampling.BICUBIC)), hr))
        lanczos.append(psnr(np.asarray(lr.resize(size, Image.Resampling.LANCZOS)), hr))
    model, base = float(np.mean(ours)), float(np.mean(bicubic))
    return {"psnr_model": model, "psnr_bicubic": base, "psnr_lanczos": float(np.mean(lanczos)),
            "gain_db": model - base, "beats_bicubic": model > base, "images": len(ours)}
