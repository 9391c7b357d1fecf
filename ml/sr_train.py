"""Training the super-resolution net on the shop's own catalogue: pairs (bicubic 2x downscale -> original),
random crops and flips, an EMA copy, resumable save/load and export for `ml.upscale.Upscaler`.
"""
from __future__ import annotations

import copy
import math
from dataclasses import asdict
from typing import Callable

import torch
import torch.nn.functional as F

from . import checkpoint
from .sr import KIND, VERSION, SRConfig, SRNet, check_kind, chw_uint8, downscale, even_rgb_array, resolve_device, to_unit
from .training import ema_update, load_optim, optim_tensors, run_steps
from .upscale import Upscaler


class SRTrainer:
    """Owns the net, its EMA copy, the optimiser and the training pairs; saves, resumes and exports."""

    @property
    def train_config(self) -> SRConfig:
        """SR keeps its training settings (batch size, learning rate) in its one config."""
        return self.cfg

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
        hr = [even_rgb_array(im) for im in images]
        self.pairs = [(chw_uint8(a), chw_uint8(downscale(a, self.cfg.scale))) for a in hr
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
        return to_unit(torch.stack(lrs).to(self.device)), to_unit(torch.stack(hrs).to(self.device))

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
        check_kind(meta)
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
