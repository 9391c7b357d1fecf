"""A plain conditional DCGAN (Radford et al. 2016 + Mirza & Osindero's conditioning): the benchmark's baseline,
not part of the product (bench/bench_gan.py and bench/bench_gan_budget.py train it; tests/bench tests it).

What it lacks on purpose, against `ml.gan`: no spectral norm, no projection discriminator (labels are concatenated
to D's input as constant feature maps), no hinge loss (the non-saturating BCE loss), no EMA generator, no
differentiable augmentation, no encoder / reconstruction path. Transposed convolutions with BatchNorm, Adam
(2e-4, beta1 0.5) as in the paper. Trained for the same CPU budget it shows what the stronger recipe buys.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ml.images import uint8_batch_to_tensor
from ml.training import run_steps


@dataclass
class DCGANConfig:
    height: int = 64
    width: int = 48
    channels: int = 3
    blocks: int = 4  # G starts at (height, width) / 2**blocks
    z_dim: int = 64
    g_width: int = 24  # channels at full resolution (x8 at the start), as ml.gan's default
    d_width: int = 16
    embed_dim: int = 8  # per attribute: G concatenates it to z, D gets it as constant feature maps
    attr_sizes: list[int] = field(default_factory=lambda: [2])


class DCGenerator(nn.Module):
    def __init__(self, c: DCGANConfig):
        super().__init__()
        self.c = c
        self.embeds = nn.ModuleList(nn.Embedding(n, c.embed_dim) for n in c.attr_sizes)
        ch = [c.g_width * 2 ** (c.blocks - 1 - i) for i in range(c.blocks)]  # [8w, 4w, 2w, w]
        h0, w0 = c.height // 2**c.blocks, c.width // 2**c.blocks
        self.fc = nn.Sequential(nn.Linear(c.z_dim + c.embed_dim * len(c.attr_sizes), ch[0] * h0 * w0, bias=False))
        self.bn0 = nn.BatchNorm2d(ch[0])
        layers = []
        for i in range(c.blocks - 1):
            layers += [nn.ConvTranspose2d(ch[i], ch[i + 1], 4, 2, 1, bias=False), nn.BatchNorm2d(ch[i + 1]), nn.ReLU()]
        layers += [nn.ConvTranspose2d(ch[-1], c.channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.start = (ch[0], h0, w0)

    def forward(self, z: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        y = torch.cat([z] + [e(attr_idx[:, i]) for i, e in enumerate(self.embeds)], dim=1)
        x = F.relu(self.bn0(self.fc(y).view(len(z), *self.start)))
        return self.net(x)  # (b, c, h, w) in [-1, 1]


class DCDiscriminator(nn.Module):
    def __init__(self, c: DCGANConfig):
        super().__init__()
        self.embeds = nn.ModuleList(nn.Embedding(n, c.embed_dim) for n in c.attr_sizes)
        ch = [c.channels + c.embed_dim * len(c.attr_sizes)] + [c.d_width * 2**i for i in range(c.blocks)]
        layers = []
        for i in range(c.blocks):
            layers.append(nn.Conv2d(ch[i], ch[i + 1], 4, 2, 1, bias=i == 0))
            if i:
                layers.append(nn.BatchNorm2d(ch[i + 1]))
            layers.append(nn.LeakyReLU(0.2))
        self.net = nn.Sequential(*layers)
        self.out = nn.Linear(ch[-1] * (c.height // 2**c.blocks) * (c.width // 2**c.blocks), 1)

    def forward(self, x: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        maps = [e(attr_idx[:, i])[:, :, None, None].expand(-1, -1, *x.shape[2:]) for i, e in enumerate(self.embeds)]
        return self.out(self.net(torch.cat([x, *maps], dim=1)).flatten(1)).squeeze(1)  # logits (b,)


class DCGANTrainer:
    """images uint8 (n, h, w, c); attr_idx (n, n_attr) from `AttributeVocab.encode_many`."""

    def __init__(self, config: DCGANConfig, images, attr_idx, seed: int = 0, batch_size: int = 64,
                 lr: float = 2e-4):
        self.config = config
        self.images = torch.as_tensor(np.asarray(images, dtype=np.uint8))
        self.attr_idx = torch.as_tensor(np.asarray(attr_idx), dtype=torch.long).reshape(len(self.images), -1)
        self.batch_size = batch_size
        self.gen = torch.Generator().manual_seed(seed)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.G, self.D = DCGenerator(config), DCDiscriminator(config)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr, betas=(0.5, 0.999))
        self.step_count = 0
        self.history: list[dict[str, float]] = []

    def step(self) -> dict[str, float]:
        idx = torch.randint(len(self.images), (self.batch_size,), generator=self.gen)
        real, attrs = uint8_batch_to_tensor(self.images[idx].numpy()), self.attr_idx[idx]
        z = torch.randn(len(real), self.config.z_dim, generator=self.gen)
        fake = self.G(z, attrs)
        ones, zeros = torch.ones(len(real)), torch.zeros(len(real))
        d_loss = (F.binary_cross_entropy_with_logits(self.D(real, attrs), ones)
                  + F.binary_cross_entropy_with_logits(self.D(fake.detach(), attrs), zeros))
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        g_loss = F.binary_cross_entropy_with_logits(self.D(fake, attrs), ones)  # non-saturating
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.step_count += 1
        losses = {"step": self.step_count, "d": d_loss.item(), "g": g_loss.item()}
        self.history.append(losses)
        return losses

    def train(self, steps: int | None = None, minutes: float | None = None,
              callback: Callable[[int, dict], bool | None] | None = None,
              cpu_minutes: float | None = None) -> list[dict[str, float]]:
        """Like `GANTrainer.train`: until `steps` more steps, `minutes` of wall or `cpu_minutes` of CPU time."""
        self.G.train(), self.D.train()
        run_steps(self.step, steps, minutes, callback, cpu_minutes)
        return self.history

    def sampler(self):
        """`ml.gan_eval` sampler: (attr_idx (n, n_attr), generator) -> (n, c, h, w); G in eval mode."""
        self.G.eval()

        @torch.no_grad()
        def sample(attr_idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
            return self.G(torch.randn(len(attr_idx), self.config.z_dim, generator=generator), attr_idx)

        return sample
