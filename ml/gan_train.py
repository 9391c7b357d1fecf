"""Training the conditional GAN: hinge loss, spectral-norm projection D, DiffAugment, TTUR Adam(0, 0.9), an EMA
generator for sampling, and an encoder trained alongside so that inversion starts from a good guess.

The encoder is also the G's teacher on a CPU budget (a VAE-GAN hybrid): G decodes samples of E's posterior
q(z|x) back to the real image (L1, KL to the prior), while the down-weighted hinge loss sharpens and E learns to
invert G's own samples (||E(G(z, c)) - z||^2). Minutes of CPU then give recognisable products in the right
colours, where the adversarial loss alone needs hours.

    trainer = GANTrainer(GANConfig(attr_sizes=vocab.sizes()), images, attr_idx, vocab, seed=0)
    trainer.train(minutes=5, callback=lambda step, losses: print(step, losses))
    trainer.save("run.safetensors")        # full state, for --resume: GANTrainer.load(path, images, attr_idx)
    trainer.export("gan.safetensors")      # sampling checkpoint: EMA G + E + config + vocab (a few MB)

Resume is exact: model weights, EMA, all three Adam states (flattened to tensors, hyper-parameters in the JSON
meta), the step, the loss history and the trainer's random generator are saved, so a resumed run continues
as if it had never stopped (on the same device and thread count).
"""
from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint
from .augment import DEFAULT_POLICY, diff_augment
from .gan import Discriminator, Encoder, GANConfig, Generator, d_hinge_loss, g_hinge_loss
from .images import uint8_batch_to_tensor
from .training import ema_update, known_fields, load_optim, optim_tensors, run_steps
from .vocab import AttributeVocab

TRAIN_KIND, SAMPLER_KIND, VERSION = "gan-train", "gan", 1


@dataclass
class TrainConfig:
    """How to train. Each default is what `ml.gan_auto.auto_config` picks for a typical catalogue (64x48 colour,
    thousands of images); per catalogue it sets batch_size, lr, lr_d, kl_weight, class_weight and cond_blend."""

    seed: int = 0
    lr: float = 5e-4  # G's learning rate: high, since runs are a few hundred steps long
    lr_d: float = 1e-3  # TTUR (Heusel et al. 2017): D learns faster than G; fine with spectral norm
    lr_e: float = 5e-4
    batch_size: int = 16  # more steps per CPU minute beat bigger batches at this budget
    ema_decay: float = 0.999  # reached after warm-up: decay_t = min(ema_decay, (1 + t) / (10 + t))
    augment: str = DEFAULT_POLICY  # no "color": it would blur colour labels (see ml.augment)
    adv_weight: float = 0.1  # the hinge loss sharpens; at 1.0 a still-weak D pushed G into stripe artefacts
    recon_weight: float = 1.0  # L1 of G(z ~ q(z|x), c) vs real x, into G and E
    kl_weight: float = 0.05  # KL(q(z|x) || N(0, I)) per latent dim: E's codes fill the prior, the class stays out
    latent_weight: float = 1.0  # ||E(G(z, c)) - z||^2, into E: E inverts the generator
    recon_every: int = 1  # the reconstruction path on every k-th step (it is a third of a step's CPU time)
    # share of the budget over which the condition is blended in, 0 -> 1 (Shahbazi et al. 2022): against collapse
    # within a class when a condition has few images; 0: conditional from the first step
    cond_blend: float = 0.0
    class_weight: float = 0.1  # cross-entropy on D's class term for real images and G's samples: a direct condition
    channels_last: bool = True  # NHWC convolutions: 12-23% less CPU per step (bench/profile_gan_step.py); same maths
    device: str = "cpu"


class GANTrainer:
    """Owns G, D, E, the EMA generator, their optimisers and the loss history.

    images: uint8 (n, h, w, c) (or (n, h, w) grayscale) at the config's size; attr_idx: (n, n_attr) indices
    from `vocab.encode`. Keyword arguments are `TrainConfig` fields (seed, lr, batch_size, ema_decay, ...).
    """

    def __init__(self, config: GANConfig, images, attr_idx, vocab: AttributeVocab,
                 train: TrainConfig | None = None, **kwargs):
        self.config, self.vocab = config, vocab
        self.train_config = TrainConfig(**{**asdict(train or TrainConfig()), **kwargs})
        self.device = torch.device(self.train_config.device)
        self.images, self.attr_idx = self._check_data(images, attr_idx)
        self.gen = torch.Generator().manual_seed(self.train_config.seed)  # all of training's randomness
        with torch.random.fork_rng(devices=[]):  # seeded weight init without touching the caller's RNG
            torch.manual_seed(self.train_config.seed)
            self.G, self.D, self.E = (m(config).to(self.device) for m in (Generator, Discriminator, Encoder))
        if self.train_config.channels_last:
            for module in (self.G, self.D, self.E):
                module.to(memory_format=torch.channels_last)
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        tc = self.train_config
        self.opt_g = torch.optim.Adam(self.G.parameters(), tc.lr, betas=(0.0, 0.9))
        self.opt_d = torch.optim.Adam(self.D.parameters(), tc.lr_d, betas=(0.0, 0.9))
        self.opt_e = torch.optim.Adam(self.E.parameters(), tc.lr_e, betas=(0.0, 0.9))
        self.step_count = 0
        self.images_seen = 0  # real images drawn for D and the reconstruction path (one batch per step)
        self.cpu_seconds = 0.0  # process CPU time spent in step(), over the whole run (resumes included)
        self.cond_scale = 0.0 if self.train_config.cond_blend > 0 else 1.0  # the condition's weight (_blend)
        self._plan: dict | None = None
        self.history: list[dict[str, float]] = []

    def _check_data(self, images, attr_idx) -> tuple[torch.Tensor, torch.Tensor]:
        images = torch.as_tensor(np.asarray(images, dtype=np.uint8))
        images = images.unsqueeze(-1) if images.dim() == 3 else images  # (n, h, w, c)
        c = self.config
        if tuple(images.shape[1:]) != (c.height, c.width, c.channels):
            raise ValueError(f"images are {tuple(images.shape[1:])}, config wants {(c.height, c.width, c.channels)}")
        attr_idx = torch.as_tensor(np.asarray(attr_idx), dtype=torch.long).reshape(len(images), -1)
        if attr_idx.shape[1] != len(c.attr_sizes) or (attr_idx >= torch.tensor(c.attr_sizes)).any():
            raise ValueError("attr_idx does not match config.attr_sizes (one index per attribute, in range)")
        return images, attr_idx

    def _batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(self.images), (self.train_config.batch_size,), generator=self.gen)
        real = uint8_batch_to_tensor(self.images[idx].numpy()).to(self.device)  # (b, c, h, w)
        return real, self.attr_idx[idx].to(self.device)  # (b, n_attr)

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.z_dim, generator=self.gen).to(self.device)

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        return diff_augment(x, self.train_config.augment, self.gen) if self.train_config.augment else x

    def step(self) -> dict[str, float]:
        """One D step, one G + E step (adversarial, reconstruction, inversion), one EMA update. Returns the losses.

        G runs once per step, on the prior's z and (on reconstruction steps) on E's posterior samples in one
        batch: D's step reads that batch's samples detached, G's adversarial term reads them again through the
        updated D, and one backward pass trains G and E together (see `bench/profile_gan_step.py`).
        """
        cpu = time.process_time()
        tc = self.train_config
        self._blend()
        real, attrs = self._batch()
        b = len(real)
        z = self._z(b)
        recon_now = tc.recon_weight > 0 and self.step_count % tc.recon_every == 0
        if recon_now:
            mu, logvar = self.E.posterior(real)  # (b, z_dim) each
            eps = torch.randn(mu.shape, generator=self.gen).to(self.device)
            out = self.G(torch.cat([z, mu + (0.5 * logvar).exp() * eps]), torch.cat([attrs, attrs]))
            fake, recon_x = out[:b], out[b:]  # (b, c, h, w) each
        else:
            fake = self.G(z, attrs)  # (b, c, h, w)
        losses = {"d": self._d_step(real, fake.detach(), attrs)}

        self.D.requires_grad_(False)  # G's step needs D's input gradient only
        phi = self.D.features(self._aug(fake))
        loss_adv = g_hinge_loss(self.D.score(phi, attrs))
        self.D.requires_grad_(True)
        e_latent = F.mse_loss(self.E(fake.detach()), z)  # E inverts G on its own samples; into E only
        loss = tc.adv_weight * loss_adv + tc.latent_weight * e_latent
        if tc.class_weight > 0:
            loss = loss + tc.class_weight * self.cond_scale * self._class_loss(phi, attrs)
        if recon_now:
            # the VAE-style path teaches G the catalogue, colours included, by plain regression long before the
            # adversarial signal alone would on a CPU budget; the KL keeps E's codes where sampling draws z
            recon = F.l1_loss(recon_x, real)
            kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).mean()
            loss = loss + tc.recon_weight * recon + tc.kl_weight * kl
            losses.update(g=loss_adv.item(), recon=recon.item(), kl=kl.item())
        else:  # carry the last measured figures, so every history row has the same keys
            last = self.history[-1] if self.history else {}
            losses.update(g=loss_adv.item(), recon=last.get("recon", float("nan")), kl=last.get("kl", float("nan")))
        self.opt_g.zero_grad(set_to_none=True)
        self.opt_e.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_g.step()
        self.opt_e.step()
        losses["e_latent"] = e_latent.item()
        decay = min(tc.ema_decay, (1 + self.step_count) / (10 + self.step_count))
        ema_update(self.G_ema, self.G, decay)
        self.step_count += 1
        self.images_seen += b
        self.cpu_seconds += time.process_time() - cpu
        losses = {"step": self.step_count, **losses}
        self.history.append(losses)
        return losses

    def _d_step(self, real: torch.Tensor, fake: torch.Tensor, attrs: torch.Tensor) -> float:
        """Hinge loss on augmented real and fake images of the same conditions, in one D pass (one spectral-norm
        power iteration)."""
        phi = self.D.features(torch.cat([self._aug(real), self._aug(fake)]))  # (2b, 8w)
        logits = self.D.score(phi, torch.cat([attrs, attrs]))  # (2b,)
        loss = d_hinge_loss(logits[: len(real)], logits[len(real) :])
        if self.train_config.class_weight > 0:
            loss = loss + self.train_config.class_weight * self._class_loss(phi[: len(real)], attrs)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_d.step()
        return loss.item()

    def _class_loss(self, phi: torch.Tensor, attrs: torch.Tensor) -> torch.Tensor:
        """Sum over attributes of the cross-entropy of D's class term; `<unk>` (0) is neither target nor answer."""
        total = phi.new_zeros(())
        for k, logits in enumerate(self.D.class_logits(phi)):
            logits = logits.clone()
            logits[:, 0] = -1e4
            total = total + F.cross_entropy(logits, attrs[:, k], ignore_index=0)
        return total

    # --- conditioning blended in (Shahbazi et al. 2022, "Collapse by Conditioning") ------------------------

    def _blend(self) -> None:
        """Set the condition's weight lambda in G and D for this step: 0 -> 1 over the first `cond_blend` of the
        run's budget, never decreasing (kept in the checkpoint, so a resumed run does not restart the ramp)."""
        blend = self.train_config.cond_blend
        if blend > 0 and self.cond_scale < 1.0:
            self.cond_scale = max(self.cond_scale, min(1.0, self._progress() / blend))
        self.G.cond_scale = self.D.cond_scale = self.cond_scale if blend > 0 else 1.0

    def _progress(self) -> float:
        """How much of this run's budget is spent, 0..1: the largest of steps, wall time and CPU time done."""
        plan = self._plan or {}
        done = [0.0]
        if plan.get("steps"):
            done.append(self.step_count / plan["steps"])  # steps: the total the run was planned for
        if plan.get("minutes"):
            done.append((time.monotonic() - plan["wall"]) / (60 * plan["minutes"]))
        if plan.get("cpu_minutes"):
            done.append((time.process_time() - plan["cpu"]) / (60 * plan["cpu_minutes"]))
        return min(1.0, max(done))

    def train(self, steps: int | None = None, minutes: float | None = None,
              callback: Callable[[int, dict], bool | None] | None = None,
              cpu_minutes: float | None = None) -> list[dict[str, float]]:
        """Run `steps` more steps and/or until `minutes` of wall time (or `cpu_minutes` of this process's CPU
        time: a fair budget on a shared machine) have passed; at least one limit is required.

        callback(step, losses) is called after every step (progress bars, periodic checkpoints); returning
        True stops training early (e.g. a cancelled job). Returns the history.
        """
        self.G.train(), self.D.train(), self.E.train()
        self._plan = {"steps": None if steps is None else self.step_count + steps, "minutes": minutes,
                      "cpu_minutes": cpu_minutes, "wall": time.monotonic(), "cpu": time.process_time()}
        try:
            run_steps(self.step, steps, minutes, callback, cpu_minutes)
        finally:
            self._plan = None
            self.G.cond_scale = self.D.cond_scale = 1.0  # samples are always fully conditional
        return self.history

    # --- checkpoints -------------------------------------------------------------------------------------

    def _meta(self, kind: str) -> dict:
        return {"kind": kind, "version": VERSION, "config": asdict(self.config), "vocab": self.vocab.to_dict(),
                "step": self.step_count, "n_images": len(self.images), "images_seen": self.images_seen,
                "cpu_seconds": round(self.cpu_seconds, 3), "cond_scale": self.cond_scale}

    def save(self, path) -> str:
        """Full training state (for --resume); returns the file's sha256."""
        tensors = {}
        for name in ("G", "D", "E", "G_ema"):
            tensors.update(checkpoint.state_dict_with_prefix(name, getattr(self, name)))
        meta = {**self._meta(TRAIN_KIND), "train": asdict(self.train_config), "optim": {}}
        for name in ("opt_g", "opt_d", "opt_e"):
            opt_tensors, meta["optim"][name] = optim_tensors(name, getattr(self, name))
            tensors.update(opt_tensors)
        tensors["rng"] = self.gen.get_state()
        meta["history_keys"] = list(self.history[0]) if self.history else []
        tensors["history"] = torch.tensor([[h[k] for k in meta["history_keys"]] for h in self.history],
                                          dtype=torch.float64).reshape(len(self.history), -1)
        return checkpoint.save(path, tensors, meta)

    @classmethod
    def load(cls, path, images, attr_idx, expected_sha256: str | None = None, **overrides) -> "GANTrainer":
        """Rebuild a trainer from `save`'s file and the same data; overrides (e.g. device) replace saved fields."""
        tensors, meta = checkpoint.load(path, expected_sha256)
        if meta.get("kind") != TRAIN_KIND:
            raise checkpoint.CheckpointError(f"{path} is not a GAN training checkpoint")
        # a run saved before sharpen, adv_final, recon_final and diversity_weight were removed still loads
        train = TrainConfig(**{**known_fields(TrainConfig, meta["train"]), **overrides})
        trainer = cls(GANConfig(**meta["config"]), images, attr_idx, AttributeVocab.from_dict(meta["vocab"]), train)
        for name in ("G", "D", "E", "G_ema"):
            checkpoint.load_prefixed(getattr(trainer, name), name, tensors)
        for name in ("opt_g", "opt_d", "opt_e"):
            load_optim(getattr(trainer, name), name, tensors, meta["optim"][name])
        trainer.gen.set_state(tensors["rng"])
        trainer.step_count = meta["step"]
        trainer.images_seen = meta.get("images_seen", meta["step"] * train.batch_size)
        trainer.cpu_seconds = meta.get("cpu_seconds", 0.0)
        trainer.cond_scale = meta.get("cond_scale", 1.0)
        keys = meta["history_keys"]
        trainer.history = [{k: (int(v) if k == "step" else v) for k, v in zip(keys, row)}
                           for row in tensors["history"].tolist()]
        return trainer

    def export(self, path) -> str:
        """Sampling checkpoint: EMA generator + encoder + config + vocab. Returns its sha256."""
        tensors = {**checkpoint.state_dict_with_prefix("G", self.G_ema),
                   **checkpoint.state_dict_with_prefix("E", self.E)}
        return checkpoint.save(path, tensors, self._meta(SAMPLER_KIND))
