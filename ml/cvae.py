"""Conditional VAE for attribute edits: q(z | x, c) and p(x | z, c), c = one value per attribute.

An edit encodes a product with its own attributes and decodes the same z with new ones. For that to change
the colour, the colour has to live in c, not in z: z is small and KL-weighted (beta, with a warm-up so the
decoder learns to use c before z is squeezed), and the decoder is conditioned in every block (FiLM, Perez et
al. 2018), so c reaches every scale. The trainer adds a critic's verdict on swapped-attribute decodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class CVAEConfig:
    height: int = 64  # training resolution (3:4); edits reach full size through ml.guided
    width: int = 48
    channels: int = 3
    z_dim: int = 32  # room for silhouette and shading, little enough that colour is cheaper to take from c
    widths: list[int] = field(default_factory=lambda: [32, 64, 128])  # one 2x stage each: 64x48 -> 8x6
    attr_sizes: list[int] = field(default_factory=list)  # AttributeVocab.sizes(), <unk> included
    embed_dim: int = 16  # per attribute; a few dozen values each
    beta: float = 1.0  # KL weight after warm-up, against a per-image summed L1+L2 reconstruction
    kl_warmup_steps: int = 1000  # linear 0 -> beta: the decoder learns to read c before z is squeezed
    l1_weight: float = 1.0  # L1 keeps flat colour areas sharp-edged; L2 punishes big colour errors
    l2_weight: float = 1.0

    @property
    def bottleneck(self) -> tuple[int, int]:
        n = 2 ** len(self.widths)
        if self.height % n or self.width % n:
            raise ValueError(f"height and width must be divisible by {n} for {len(self.widths)} stages")
        return self.height // n, self.width // n


class AttrEmbedding(nn.Module):
    """One embedding table per attribute, concatenated: (b, n_attr) -> (b, n_attr * dim)."""

    def __init__(self, sizes: list[int], dim: int):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)

    def forward(self, attr_idx: torch.Tensor) -> torch.Tensor:
        return torch.cat([t(attr_idx[:, k]) for k, t in enumerate(self.tables)], dim=1)


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(min(8, channels), channels, affine=False)


class Encoder(nn.Module):
    """Strided convs, then a linear layer on [features, embedding(c)] -> (mu, logvar)."""

    def __init__(self, config: CVAEConfig):
        super().__init__()
        layers, c_in = [], config.channels
        for w in config.widths:
            layers += [nn.Conv2d(c_in, w, 4, stride=2, padding=1), _norm(w), nn.SiLU()]
            c_in = w
        self.convs = nn.Sequential(*layers)
        h0, w0 = config.bottleneck
        cond = len(config.attr_sizes) * config.embed_dim
        self.embed = AttrEmbedding(config.attr_sizes, config.embed_dim)
        self.fc = nn.Linear(c_in * h0 * w0 + cond, 2 * config.z_dim)

    def forward(self, x: torch.Tensor, attr_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.convs(x).flatten(1)  # (b, widths[-1] * h0 * w0)
        mu, logvar = self.fc(torch.cat([h, self.embed(attr_idx)], dim=1)).chunk(2, dim=1)  # (b, z) each
        return mu, logvar.clamp(-12.0, 8.0)


class FiLMUpBlock(nn.Module):
    """2x nearest upsampling, 3x3 conv, norm, then scale and shift from the condition (FiLM), SiLU."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.norm = _norm(c_out)
        self.film = nn.Linear(cond_dim, 2 * c_out)
        nn.init.zeros_(self.film.weight)  # start as a plain decoder; c is learned in
        nn.init.zeros_(self.film.bias)

    def forward(self, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = (t[:, :, None, None] for t in self.film(cond).chunk(2, dim=1))  # (b, c_out, 1, 1)
        h = F.interpolate(h, scale_factor=2.0, mode="nearest")
        return F.silu(self.norm(self.conv(h)) * (1 + scale) + shift)


class Decoder(nn.Module):
    """Linear [z, embedding(c)] -> (widths[-1], h0, w0), then FiLM up-blocks back to (channels, h, w)."""

    def __init__(self, config: CVAEConfig):
        super().__init__()
        self.hw = config.bottleneck
        cond = len(config.attr_sizes) * config.embed_dim
        self.embed = AttrEmbedding(config.attr_sizes, config.embed_dim)
        self.fc = nn.Linear(config.z_dim + cond, config.widths[-1] * self.hw[0] * self.hw[1])
        outs = list(reversed(config.widths))
        ins = outs[:1] + outs[:-1]
        self.blocks = nn.ModuleList(FiLMUpBlock(i, o, cond) for i, o in zip(ins, outs))
        self.out = nn.Conv2d(config.widths[0], config.channels, 3, padding=1)

    def forward(self, z: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        cond = self.embed(attr_idx)  # (b, n_attr * embed_dim)
        h = self.fc(torch.cat([z, cond], dim=1)).view(z.shape[0], -1, *self.hw)  # (b, widths[-1], h0, w0)
        for block in self.blocks:
            h = block(h, cond)
        return torch.tanh(self.out(h))  # (b, c, h, w) in [-1, 1]


class CVAE(nn.Module):
    """Conditional VAE. Images are (b, c, h, w) in [-1, 1]; attr_idx is (b, n_attributes) long."""

    def __init__(self, config: CVAEConfig):
        super().__init__()
        if not config.attr_sizes:
            raise ValueError("CVAEConfig.attr_sizes is empty: pass AttributeVocab.sizes()")
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)

    def encode(self, x: torch.Tensor, attr_idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | x, c): (mu, logvar), each (b, z_dim)."""
        return self.encoder(x, attr_idx)

    @staticmethod
    def reparameterize(mu: torch.Tensor, logvar: torch.Tensor, generator: torch.Generator | None = None):
        """z = mu + sigma * eps; pass a generator for reproducible noise."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return mu + torch.exp(0.5 * logvar) * eps

    def decode(self, z: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        """p(x | z, c): the mean image (b, c, h, w) in [-1, 1]."""
        return self.decoder(z, attr_idx)

    def kl_weight(self, step: int | None) -> float:
        """beta, linearly warmed up from 0 over `kl_warmup_steps`; the full beta when step is None."""
        warm = self.config.kl_warmup_steps
        if step is None or warm <= 0:
            return self.config.beta
        return self.config.beta * min(1.0, step / warm)

    def forward(self, x: torch.Tensor, attr_idx: torch.Tensor, step: int | None = None, generator=None) -> dict:
        """Negative ELBO-style objective: dict(loss, recon, kl) plus (mu, logvar, z, x_hat) for the trainer."""
        mu, logvar = self.encode(x, attr_idx)
        z = self.reparameterize(mu, logvar, generator)
        x_hat = self.decode(z, attr_idx)
        diff = x_hat - x
        recon = (self.config.l1_weight * diff.abs() + self.config.l2_weight * diff.pow(2)).flatten(1).sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(1).mean()
        loss = recon + self.kl_weight(step) * kl
        return {"loss": loss, "recon": recon, "kl": kl, "mu": mu, "logvar": logvar, "z": z, "x_hat": x_hat}
