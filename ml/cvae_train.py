"""Training the CVAE: optimiser, EMA weights, a critic for attribute swaps, resumable save/load, export.

Besides the CVAE's own objective, each step decodes the batch's z with randomly swapped attributes and asks a
critic (an AttributeClassifier trained alongside on the real images) to name them: the decoder learns that a
new colour in c must show as that colour, which beta alone does not guarantee. The critic is weighted in only
after it has learned something (`critic_start`), and is independent of the evaluator used for benchmarks.
"""
from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .cvae import CVAE, CVAEConfig
from .evaluator import AttributeClassifier, EvaluatorConfig, classification_loss
from .training import load_optim, optim_tensors, run_steps
from .vocab import AttributeVocab

KIND = "cvae"
TRAINER_VERSION = 1


@dataclass
class CVAETrainConfig:
    batch_size: int = 64  # one CPU thread: ~0.7 s a step at 64x48, ~0.35 s at 32x24 (default widths, critic on)
    lr: float = 2e-3
    grad_clip: float = 100.0  # the loss is a per-image sum (thousands); this only stops rare spikes
    ema_decay: float = 0.995  # a few hundred steps of averaging: runs are short on CPU
    flip: bool = True  # mirrored products are products too
    critic_weight: float = 30.0  # per attribute CE, against a recon summed over ~9k values
    change_weight: float = 0.02  # L1 on (swapped decode - decode): only what the new value needs may change
    background_weight: float = 1.0  # extra L1 on changes where x is plain backdrop: halved halos in the bench
    background_tol: float = 0.04  # "plain backdrop": every channel within this of the border's median (0-1 scale)
    critic_start: int = 200  # steps before the critic's verdict counts (it must first learn colours)
    critic_widths: list[int] = field(default_factory=lambda: [16, 32, 64])
    critic_downsample: int = 2  # the critic judges colour and category at 32x24: 4x cheaper, enough for both
    critic_lr: float = 2e-3
    swap_attributes: list[str] | None = None  # attributes swapped for the critic; None: all


class CVAETrainer:
    """Owns the model, its EMA copy, the critic, optimisers and data; `.step()` runs one update."""

    def __init__(
        self,
        config: CVAEConfig,
        images_uint8: np.ndarray,
        attr_idx: np.ndarray,
        vocab: AttributeVocab,
        seed: int = 0,
        train_config: CVAETrainConfig | None = None,
        device: str = "cpu",
    ):
        self.config, self.vocab, self.device = config, vocab, torch.device(device)
        self.train_config = train_config or CVAETrainConfig()
        config.attr_sizes = vocab.sizes()
        torch.manual_seed(seed)
        self.generator = torch.Generator().manual_seed(seed)
        self.images = torch.from_numpy(np.ascontiguousarray(images_uint8))  # (n, h, w, c) uint8, on CPU
        self.attr_idx = torch.as_tensor(np.asarray(attr_idx), dtype=torch.long)
        self.model = CVAE(config).to(self.device)
        self.ema = copy.deepcopy(self.model).eval().requires_grad_(False)
        ds = self.train_config.critic_downsample
        critic_cfg = EvaluatorConfig(height=config.height // ds, width=config.width // ds, channels=config.channels,
                                     widths=list(self.train_config.critic_widths), attributes=vocab.attributes,
                                     attr_sizes=vocab.sizes(), dropout=0.0)  # no global-RNG use: runs replay
        self.critic = AttributeClassifier(critic_cfg).to(self.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=self.train_config.lr)
        self.critic_opt = torch.optim.Adam(self.critic.parameters(), lr=self.train_config.critic_lr)
        names = self.train_config.swap_attributes or vocab.attributes
        self.swap_mask = torch.tensor([a in names for a in vocab.attributes])
        self.step_count = 0

    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        """A random batch: x (b, c, h, w) in [-1, 1], attr_idx (b, n_attributes)."""
        idx = torch.randint(len(self.images), (self.train_config.batch_size,), generator=self.generator)
        x = self.images[idx].permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
        if self.train_config.flip:
            flip = torch.rand(len(idx), generator=self.generator) < 0.5
            x = torch.where(flip[:, None, None, None], x.flip(3), x)
        return x.to(self.device), self.attr_idx[idx].to(self.device)

    def swapped(self, attr_idx: torch.Tensor) -> torch.Tensor:
        """Each swappable attribute replaced by a random known value (never `<unk>`)."""
        sizes = torch.tensor(self.vocab.sizes())
        u = torch.rand(attr_idx.shape, generator=self.generator)
        rand = 1 + (u * (sizes - 1).clamp(min=1)).long().clamp(max=sizes - 1)  # (b, n_attr) in [1, size)
        return torch.where(self.swap_mask.to(attr_idx.device), rand.to(attr_idx.device), attr_idx)

    def judge(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The critic's logits for images at the model's resolution."""
        return self.critic(F.avg_pool2d(x, self.train_config.critic_downsample) if self.train_config.critic_downsample > 1 else x)

    def critic_step(self, x: torch.Tensor, attr_idx: torch.Tensor) -> float:
        self.critic.train()
        loss = classification_loss(self.judge(x), attr_idx)
        self.critic_opt.zero_grad(set_to_none=True)
        loss.backward()
        self.critic_opt.step()
        return loss.item()

    def step(self) -> dict[str, float]:
        """One critic update and one CVAE update; returns the step's figures."""
        x, c = self.batch()
        critic_loss = self.critic_step(x, c)
        out = self.model(x, c, step=self.step_count, generator=self.generator)
        loss, edit_loss = out["loss"], torch.zeros(())
        if self.train_config.critic_weight > 0 and self.step_count >= self.train_config.critic_start:
            c_new = self.swapped(c)
            x_new = self.model.decode(out["z"], c_new)
            self.critic.eval().requires_grad_(False)  # real-image batch statistics; a judge, not a player
            edit_loss = classification_loss(self.judge(x_new), c_new)
            self.critic.requires_grad_(True)
            change = (x_new - out["x_hat"].detach()).abs()  # (b, c, h, w)
            halo = (change * backdrop_mask(x, self.train_config.background_tol)).flatten(1).sum(1).mean()
            loss = loss + self.train_config.critic_weight * edit_loss + self.train_config.change_weight * change.flatten(1).sum(1).mean()
            loss = loss + self.train_config.background_weight * halo
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.train_config.grad_clip)
        self.opt.step()
        self._update_ema()
        self.step_count += 1
        return {"step": self.step_count, "loss": loss.item(), "recon": out["recon"].item(),
                "kl": out["kl"].item(), "edit": edit_loss.item(), "critic": critic_loss}

    @torch.no_grad()
    def _update_ema(self) -> None:
        d = min(self.train_config.ema_decay, (1 + self.step_count) / (10 + self.step_count))  # fast start
        for e, p in zip(self.ema.state_dict().values(), self.model.state_dict().values()):
            e.copy_(p) if not e.is_floating_point() else e.lerp_(p, 1 - d)

    def train(self, steps: int | None = None, minutes: float | None = None, callback=None,
              cpu_minutes: float | None = None) -> dict[str, float]:
        """Run until `steps` more steps, `minutes` of wall time or `cpu_minutes` of this process's CPU time have
        passed (whichever first); `callback(figures)` after each step. Returns the last step's figures."""
        last: dict[str, float] = {}

        def one() -> dict:
            nonlocal last
            last = self.step()
            if callback:
                callback(last)
            return last

        run_steps(one, steps, minutes, None, cpu_minutes)
        return last

    # -- checkpoints -----------------------------------------------------------------------------------------
    def _meta(self) -> dict:
        return {"kind": KIND, "config": asdict(self.config), "vocab": self.vocab.to_dict(), "step": self.step_count}

    def export(self, path) -> str:
        """Write the EMA weights for sampling/editing (config and vocabulary in the meta); return the sha256."""
        return checkpoint.save(path, checkpoint.state_dict_with_prefix("cvae", self.ema), self._meta())

    def save(self, path) -> str:
        """Write everything needed to resume: weights, EMA, critic, optimisers, RNG states."""
        tensors = {}
        for name, module in (("cvae", self.model), ("ema", self.ema), ("critic", self.critic)):
            tensors.update(checkpoint.state_dict_with_prefix(name, module))
        opt_meta = {}
        for name, opt in (("opt", self.opt), ("critic_opt", self.critic_opt)):
            flat, groups = optim_tensors(name, opt)
            opt_meta[name] = {"param_groups": groups}
            tensors.update(flat)
        tensors["rng.generator"] = self.generator.get_state()
        tensors["rng.torch"] = torch.get_rng_state()
        meta = self._meta() | {"trainer_version": TRAINER_VERSION, "train_config": asdict(self.train_config),
                               "optimizers": opt_meta}
        return checkpoint.save(path, tensors, meta)

    def load(self, path) -> None:
        """Resume from a file written by `save` (same config, vocabulary and data)."""
        tensors, meta = checkpoint.load(path)
        if meta.get("kind") != KIND or "optimizers" not in meta:
            raise checkpoint.CheckpointError("not a resumable CVAE training checkpoint")
        for name, module in (("cvae", self.model), ("ema", self.ema), ("critic", self.critic)):
            checkpoint.load_prefixed(module, name, tensors)
        for name, opt in (("opt", self.opt), ("critic_opt", self.critic_opt)):
            load_optim(opt, name, tensors, meta["optimizers"][name]["param_groups"])
        self.generator.set_state(tensors["rng.generator"])
        torch.set_rng_state(tensors["rng.torch"])
        self.step_count = int(meta["step"])


def backdrop_mask(x: torch.Tensor, tol: float) -> torch.Tensor:
    """(b, 1, h, w) 1.0 where x (in [-1, 1]) is within tol (0-1 scale) of its border's median colour."""
    border = torch.cat([x[:, :, 0], x[:, :, -1], x[:, :, :, 0], x[:, :, :, -1]], dim=2)  # (b, c, 2w + 2h)
    backdrop = border.median(dim=2).values[:, :, None, None]  # (b, c, 1, 1)
    return ((x - backdrop).abs() < 2 * tol).all(dim=1, keepdim=True).float()


def load_cvae(path, device: str = "cpu", expected_sha256: str | None = None) -> tuple[CVAE, AttributeVocab]:
    """Rebuild (model, vocab) from an exported CVAE checkpoint (kind 'cvae')."""
    tensors, meta = checkpoint.load(path, expected_sha256)
    if meta.get("kind") != KIND:
        raise checkpoint.CheckpointError(f"not a CVAE checkpoint (kind {meta.get('kind')!r})")
    model = CVAE(CVAEConfig(**meta["config"]))
    checkpoint.load_prefixed(model, "cvae", tensors)
    return model.to(device).eval(), AttributeVocab.from_dict(meta["vocab"])
