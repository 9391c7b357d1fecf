"""Training the product-mask net on the shop's own catalogue, with resumable save/load and export.

`MaskTrainer` pseudo-labels the catalogue once (`ml.mask_labels`: labels from studio backdrops, composited onto
new backdrops) and trains `ml.mask.MaskNet` on the composites, with no downloaded weights; the export also
carries the catalogue's colour palette (`ml.palette`), which recolouring reads.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .mask import KIND, MaskConfig, MaskNet
from .mask_labels import composite, jitter, label_catalogue
from .palette import ColourPalette
from .training import load_optim, optim_tensors, run_steps

TRAIN_KIND = "mask-train"


@dataclass
class MaskTrainConfig:
    batch_size: int = 32
    lr: float = 3e-3  # Adam; cosine-free: the run length is a time budget, not a schedule
    weight_decay: float = 1e-4
    p_keep: float = 0.25  # share of samples left on their own studio backdrop
    p_empty: float = 0.05  # share replaced by a backdrop alone (teaches "no product here")


class MaskTrainer:
    """Pseudo-labels the catalogue once, then trains MaskNet on composites; save/load resume, export for use."""

    def __init__(self, config: MaskConfig, images: np.ndarray, colours: list[str] | None = None,
                 categories: list[str] | None = None, seed: int = 0, train_config: MaskTrainConfig | None = None,
                 device: str = "cpu"):
        self.config, self.train_config, self.device = config, train_config or MaskTrainConfig(), torch.device(device)
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        x, t, w, keep = label_catalogue(images, colours, (config.height, config.width))
        self.x = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()  # uint8 (n, 3, h, w)
        self.t = torch.from_numpy(t).permute(0, 3, 1, 2).contiguous()  # (n, 3, h, w) soft targets
        self.w = torch.from_numpy(w)[:, None].contiguous()  # (n, 1, h, w)
        self.palette = ColourPalette.build(x, t, [colours[i] for i in keep] if colours else None,
                                           [categories[i] for i in keep] if categories else None)
        self.labelled, self.offered = len(keep), len(images)
        self.net = MaskNet(config).to(self.device)
        self.opt = torch.optim.AdamW(self.net.parameters(), lr=self.train_config.lr, weight_decay=self.train_config.weight_decay)
        self.step_count, self.history = 0, []

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(self.x), (min(self.train_config.batch_size, len(self.x)),), generator=self.gen)
        x, t, w = self.x[idx].float() / 255, self.t[idx], self.w[idx]
        flip = torch.rand(len(idx), generator=self.gen) < 0.5
        x, t, w = (torch.where(flip.view(-1, 1, 1, 1), v.flip(-1), v) for v in (x, t, w))
        x, t = composite(x, t, self.gen, self.train_config.p_keep, self.train_config.p_empty)
        return jitter(x, self.gen) * 2 - 1, t, w

    def step(self) -> dict[str, float]:
        self.net.train()
        x, t, w = (v.to(self.device) for v in self.batch())
        logits = self.net(x)
        loss = (-(t * F.log_softmax(logits, dim=1)).sum(1, keepdim=True) * w).sum() / w.sum().clamp(min=1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step_count += 1
        with torch.no_grad():
            iou = soft_iou(logits.softmax(1)[:, 1:2], t[:, 1:2])
        figures = {"step": self.step_count, "loss": loss.item(), "iou": iou}
        self.history.append(figures)
        return figures

    def train(self, steps: int | None = None, minutes: float | None = None, callback=None,
              cpu_minutes: float | None = None) -> list[dict]:
        """Run `steps` more steps and/or for `minutes` (wall) / `cpu_minutes`; callback(figures) after each."""
        def one() -> dict:
            figures = self.step()
            if callback:
                callback(figures)
            return figures

        if steps == 0:
            return self.history
        run_steps(one, steps, minutes, None, cpu_minutes)
        return self.history

    def _meta(self) -> dict:
        return {"kind": KIND, "config": asdict(self.config), "palette": self.palette.to_dict(),
                "step": self.step_count, "labelled": self.labelled, "offered": self.offered}

    def export(self, path) -> str:
        """The net's weights, config and the catalogue's palette: what `ProductMasker.from_checkpoint` loads."""
        return checkpoint.save(path, checkpoint.state_dict_with_prefix("net", self.net), self._meta())

    def save(self, path) -> str:
        """The full training state, for resuming."""
        opt_tensors, groups = optim_tensors("opt", self.opt)
        tensors = {**checkpoint.state_dict_with_prefix("net", self.net), **opt_tensors, "rng": self.gen.get_state()}
        meta = {**self._meta(), "kind": TRAIN_KIND, "train_config": asdict(self.train_config), "optim": groups,
                "history": self.history[-2000:]}
        return checkpoint.save(path, tensors, meta)

    def load(self, path) -> None:
        tensors, meta = checkpoint.load(path)
        if meta.get("kind") != TRAIN_KIND:
            raise checkpoint.CheckpointError(f"{path} is not a resumable mask training checkpoint")
        checkpoint.load_prefixed(self.net, "net", tensors)
        load_optim(self.opt, "opt", tensors, meta["optim"])
        self.gen.set_state(tensors["rng"])
        self.step_count, self.history = int(meta["step"]), list(meta.get("history", []))


def soft_iou(pred: torch.Tensor, target: torch.Tensor) -> float:
    """IoU of soft masks (b, 1, h, w): sum(min) / sum(max)."""
    return float(torch.minimum(pred, target).sum() / torch.maximum(pred, target).sum().clamp(min=1e-6))
