"""A plain MLP conditional GAN: the shape of the most used public PyTorch cGAN, as a benchmark baseline.

The shape of eriklindernoren/PyTorch-GAN `implementations/cgan/cgan.py` (Mirza & Osindero 2014): each attribute's
label through an embedding as wide as its vocabulary, concatenated to z (G) and to the flattened image (D);
4 linear layers each side with LeakyReLU(0.2) (G's hidden layers with BatchNorm1d(eps=0.8) as in that file,
D's with Dropout(0.4)), tanh output, the least-squares (LSGAN) loss, Adam(2e-4, betas (0.5, 0.999)), batch 64,
z of 100. No convolutions, no augmentation, no EMA. Used by bench/bench_gan_budget.py; not part of the package.

    trainer = MLPCGANTrainer(MLPConfig(height=32, width=32, channels=1, attr_sizes=[9]), images, attr_idx)
    trainer.train(cpu_minutes=10); sampler = trainer.sampler()
"""
from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml import checkpoint  # noqa: E402
from ml.images import uint8_batch_to_tensor  # noqa: E402
from ml.training import run_steps  # noqa: E402


@dataclass
class MLPConfig:
    height: int = 32
    width: int = 32
    channels: int = 1
    z_dim: int = 100  # the public file's latent_dim
    attr_sizes: list[int] = field(default_factory=lambda: [11])
    g_hidden: list[int] = field(default_factory=lambda: [256, 512, 1024])  # + the output layer: 4 linear layers
    d_hidden: list[int] = field(default_factory=lambda: [512, 512, 512])  # + the logit layer: 4 linear layers

    @property
    def pixels(self) -> int:
        return self.height * self.width * self.channels


class Labels(nn.Module):
    """One embedding per attribute, as wide as its vocabulary (the public file's nn.Embedding(n, n))."""

    def __init__(self, sizes: list[int]):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, n) for n in sizes)
        self.dim = sum(sizes)

    def forward(self, attr_idx: torch.Tensor) -> torch.Tensor:  # (b, n_attr) -> (b, sum(sizes))
        return torch.cat([t(attr_idx[:, i]) for i, t in enumerate(self.tables)], dim=1)


class MLPGenerator(nn.Module):
    def __init__(self, c: MLPConfig):
        super().__init__()
        self.c, self.labels = c, Labels(c.attr_sizes)
        layers, width = [], c.z_dim + self.labels.dim
        for i, h in enumerate(c.g_hidden):
            layers += [nn.Linear(width, h)] + ([nn.BatchNorm1d(h, 0.8)] if i else []) + [nn.LeakyReLU(0.2)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, c.pixels), nn.Tanh())

    def forward(self, z: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        x = self.net(torch.cat([z, self.labels(attr_idx)], dim=1))
        return x.view(len(z), self.c.height, self.c.width, self.c.channels).permute(0, 3, 1, 2)  # (b, c, h, w)


class MLPDiscriminator(nn.Module):
    def __init__(self, c: MLPConfig):
        super().__init__()
        self.labels = Labels(c.attr_sizes)
        layers, width = [], c.pixels + self.labels.dim
        for i, h in enumerate(c.d_hidden):
            layers += [nn.Linear(width, h)] + ([nn.Dropout(0.4)] if i else []) + [nn.LeakyReLU(0.2)]
            width = h
        self.net = nn.Sequential(*layers, nn.Linear(width, 1))

    def forward(self, x: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        flat = x.permute(0, 2, 3, 1).flatten(1)  # (b, h*w*c)
        return self.net(torch.cat([flat, self.labels(attr_idx)], dim=1)).squeeze(1)


class MLPCGANTrainer:
    """images uint8 (n, h, w, c); attr_idx (n, n_attr). LSGAN: D -> 1 on real, 0 on fake; G -> 1 on fake."""

    def __init__(self, config: MLPConfig, images, attr_idx, seed: int = 0, batch_size: int = 64, lr: float = 2e-4):
        self.config = config
        images = np.asarray(images, dtype=np.uint8)
        self.images = torch.as_tensor(images[..., None] if images.ndim == 3 else images)
        self.attr_idx = torch.as_tensor(np.asarray(attr_idx), dtype=torch.long).reshape(len(self.images), -1)
        self.batch_size, self.gen = batch_size, torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.G, self.D = MLPGenerator(config), MLPDiscriminator(config)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr, betas=(0.5, 0.999))
        self.step_count = 0
        self.history: list[dict[str, float]] = []

    def step(self) -> dict[str, float]:
        idx = torch.randint(len(self.images), (self.batch_size,), generator=self.gen)
        real, attrs = uint8_batch_to_tensor(self.images[idx].numpy()), self.attr_idx[idx]
        ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
        z = torch.randn(len(real), self.config.z_dim, generator=self.gen)
        gen_attrs = self.attr_idx[torch.randint(len(self.images), (len(real),), generator=self.gen)]
        fake = self.G(z, gen_attrs)  # the public file draws the fake labels at random, too
        g_loss = F.mse_loss(self.D(fake, gen_attrs), ones)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        d_loss = 0.5 * (F.mse_loss(self.D(real, attrs), ones) + F.mse_loss(self.D(fake.detach(), gen_attrs), zeros))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        self.step_count += 1
        losses = {"step": self.step_count, "d": d_loss.item(), "g": g_loss.item()}
        self.history.append(losses)
        return losses

    def train(self, steps: int | None = None, minutes: float | None = None,
              callback: Callable[[int, dict], bool | None] | None = None,
              cpu_minutes: float | None = None) -> list[dict[str, float]]:
        self.G.train(), self.D.train()
        run_steps(self.step, steps, minutes, callback, cpu_minutes)
        return self.history

    def sampler(self):
        """`ml.gan_eval` sampler: (attr_idx (n, n_attr), generator) -> (n, c, h, w); G in eval mode."""
        return mlp_sampler(self.G)

    def export(self, path, meta: dict) -> str:
        return checkpoint.save(path, checkpoint.state_dict_with_prefix("G", self.G),
                               {"kind": "mlp-cgan", "config": asdict(self.config), "step": self.step_count, **meta})


def mlp_sampler(G: MLPGenerator):
    G.eval()

    @torch.no_grad()
    def sample(attr_idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return G(torch.randn(len(attr_idx), G.c.z_dim, generator=generator), attr_idx)

    return sample


def load(path) -> tuple[MLPGenerator, dict]:
    tensors, meta = checkpoint.load(path)
    G = MLPGenerator(MLPConfig(**meta["config"]))
    checkpoint.load_prefixed(G, "G", tensors)
    return G.eval(), meta
