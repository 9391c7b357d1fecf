"""Conditional GAN for product variants: a FiLM-conditioned residual generator, a projection discriminator
(Miyato & Koyama 2018) with spectral norm, hinge losses, truncated sampling, and an encoder for inversion.

Conditioning is a set of categorical attributes (e.g. category, colour), one embedding table per attribute,
sized by `ml.vocab.AttributeVocab.sizes()`; index 0 of each is `<unk>`. G is conditioned by FiLM on GroupNorm
rather than conditional BatchNorm: no running statistics, so a sample never depends on its batch and training
and sampling behave alike. This file does no I/O: the trainer (`ml.gan_train`) owns optimisers, EMA, checkpoints.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm


@dataclass
class GANConfig:
    height: int = 64  # 3:4 portrait like the catalogue's packshots; CPU-trainable
    width: int = 48
    channels: int = 3  # 1 = grayscale catalogue
    blocks: int = 4  # up/down blocks: G starts at (height, width) / 2**blocks, so 4x3 for 64x48
    z_dim: int = 64  # shape/pose variety of packshots is low; a small z keeps inversion well-posed
    g_width: int = 24  # G channels at full resolution (x8 at the start): ~0.8-0.9 M params; ~1 step/s on a core
    d_width: int = 16  # D channels at full resolution (x8 at the end); D runs twice per step, keep it thin
    e_width: int = 16  # encoder only needs a good first guess; inversion refines it
    embed_dim: int = 32  # per attribute; concatenated with z into the condition vector
    attr_sizes: list[int] = field(default_factory=lambda: [2])  # vocab.sizes(): one table per attribute
    groups: int = 8  # GroupNorm groups under FiLM (per-sample norm: a sample never depends on its batch)
    encoder_input: str = "luma"  # "luma": E sees standardised luminance only, so z cannot carry colour (below)

    def __post_init__(self) -> None:
        if min(self.height, self.width, self.blocks, self.channels) < 1:
            raise ValueError("height, width, channels and blocks must be positive")

    @property
    def start(self) -> tuple[int, int]:
        """G's first feature map (and E's last): the padded size over 2**blocks."""
        return tuple(-(-side // 2**self.blocks) for side in (self.height, self.width))

    @property
    def inner(self) -> tuple[int, int]:
        """The size the networks work at: (height, width) rounded up to multiples of 2**blocks. G draws at this
        size and crops the centre; D and E pad their input to it (edge pixels repeated, white on packshots), so
        any size works (28x28, 300x225) without resampling the catalogue."""
        return tuple(side * 2**self.blocks for side in self.start)

    @property
    def cond_dim(self) -> int:
        return self.z_dim + self.embed_dim * len(self.attr_sizes)

    def g_channels(self) -> list[int]:
        """Channels from the start to full resolution: [8w, 4w, 2w, w, w] for 4 blocks."""
        return [self.g_width * 2 ** max(self.blocks - 1 - i, 0) for i in range(self.blocks + 1)]

    def d_channels(self) -> list[int]:
        """Channels from full resolution down: [w, 2w, 4w, 8w] for 4 blocks."""
        return [self.d_width * 2**i for i in range(self.blocks)]


def crop_centre(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(b, c, H, W) -> (b, c, h, w), the centre; a no-op when the sizes match."""
    (h, w), (H, W) = size, x.shape[2:]
    if (H, W) == (h, w):
        return x
    top, left = (H - h) // 2, (W - w) // 2
    return x[:, :, top : top + h, left : left + w]


def pad_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(b, c, h, w) -> (b, c, H, W) with the edge pixels repeated around the centre (crop_centre's inverse)."""
    (H, W), (h, w) = size, x.shape[2:]
    if (H, W) == (h, w):
        return x
    top, left = (H - h) // 2, (W - w) // 2
    return F.pad(x, (left, W - w - left, top, H - h - top), mode="replicate")


def _groups(channels: int, groups: int) -> int:
    while channels % groups:
        groups -= 1
    return groups


class FiLM(nn.Module):
    """GroupNorm without affine, then a per-channel scale and shift predicted from the condition vector."""

    def __init__(self, channels: int, cond_dim: int, groups: int):
        super().__init__()
        self.norm = nn.GroupNorm(_groups(channels, groups), channels, affine=False)
        self.affine = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.affine.weight)  # start as plain GroupNorm (scale 1, shift 0)
        nn.init.zeros_(self.affine.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        scale, shift = self.affine(cond)[:, :, None, None].chunk(2, dim=1)  # (b, c, 1, 1) each
        return self.norm(x) * (1 + scale) + shift


class UpBlock(nn.Module):
    """BigGAN-style residual block: FiLM-ReLU-up-conv-FiLM-ReLU-conv, plus an up-1x1 shortcut."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, groups: int):
        super().__init__()
        self.film1, self.film2 = FiLM(c_in, cond_dim, groups), FiLM(c_out, cond_dim, groups)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.film1(x, cond)), scale_factor=2, mode="nearest")  # (b, c_in, 2h, 2w)
        h = self.conv2(F.relu(self.film2(self.conv1(h), cond)))
        # a 1x1 conv commutes with nearest upsampling: run the shortcut at the low resolution (a quarter of the work)
        return h + F.interpolate(self.skip(x), scale_factor=2, mode="nearest")  # (b, c_out, 2h, 2w)


class AttributeEmbedding(nn.Module):
    """One embedding table per attribute; outputs the tables' vectors concatenated."""

    def __init__(self, sizes: list[int], dim: int):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(n, dim) for n in sizes)

    def forward(self, attr_idx: torch.Tensor) -> torch.Tensor:  # (b, n_attr) -> (b, n_attr * dim)
        return torch.cat([t(attr_idx[:, i]) for i, t in enumerate(self.tables)], dim=1)


class Generator(nn.Module):
    """G(z, attr_idx) -> image (b, c, h, w) in [-1, 1]."""

    def __init__(self, config: GANConfig):
        super().__init__()
        self.config = config
        ch = config.g_channels()
        h0, w0 = config.start
        self.embed = AttributeEmbedding(config.attr_sizes, config.embed_dim)
        self.fc = nn.Linear(config.cond_dim, ch[0] * h0 * w0)
        self.blocks = nn.ModuleList(
            UpBlock(ch[i], ch[i + 1], config.cond_dim, config.groups) for i in range(config.blocks)
        )
        self.out_norm = nn.GroupNorm(_groups(ch[-1], config.groups), ch[-1])
        self.out = nn.Conv2d(ch[-1], config.channels, 3, padding=1)
        self.cond_scale = 1.0  # the condition's weight; the trainer ramps it 0 -> 1 (TrainConfig.cond_blend)

    def forward(self, z: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        embedded = self.embed(attr_idx)
        if self.cond_scale != 1.0:
            embedded = embedded * self.cond_scale
        cond = torch.cat([z, embedded], dim=1)  # (b, cond_dim)
        h0, w0 = self.config.start
        x = self.fc(cond).view(z.size(0), -1, h0, w0)  # (b, 8w, h0, w0)
        for block in self.blocks:
            x = block(x, cond)
        x = torch.tanh(self.out(F.relu(self.out_norm(x))))  # (b, c, *inner)
        return crop_centre(x, (self.config.height, self.config.width))  # (b, c, h, w)

    @torch.no_grad()
    def sample(
        self,
        n: int,
        attr_idx: torch.Tensor,
        truncation: float | None = 0.7,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """n images for one condition (attr_idx (n_attr,)) or n conditions ((n, n_attr)); truncated z."""
        device = next(self.parameters()).device
        z = truncated_z(n, self.config.z_dim, truncation, generator).to(device)
        attr_idx = torch.as_tensor(attr_idx, dtype=torch.long, device=device)
        return self(z, attr_idx.expand(n, -1) if attr_idx.dim() == 1 else attr_idx)


def truncated_z(
    n: int, z_dim: int, truncation: float | None = None, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Standard normal z (n, z_dim), every entry resampled until |z| <= truncation (BigGAN's trick).

    truncation=None (or >= 4) is the untruncated prior; 0 is the mean image. Lower means more typical,
    less varied samples.
    """
    z = torch.randn(n, z_dim, generator=generator)
    if truncation is None or truncation >= 4:
        return z
    if truncation <= 0:
        return torch.zeros(n, z_dim)
    for _ in range(100):
        bad = z.abs() > truncation
        if not bad.any():
            break
        z[bad] = torch.randn(int(bad.sum()), generator=generator)
    return z.clamp(-truncation, truncation)


class DownBlock(nn.Module):
    """Residual block: (ReLU)-conv-ReLU-conv-avgpool, plus a 1x1-avgpool shortcut; all spectral-normed."""

    def __init__(self, c_in: int, c_out: int, first: bool = False):
        super().__init__()
        self.first = first  # no ReLU on raw pixels
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, padding=1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, padding=1))
        self.skip = spectral_norm(nn.Conv2d(c_in, c_out, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.first else F.relu(x)
        h = self.conv2(F.relu(self.conv1(h)))
        return F.avg_pool2d(h + self.skip(x), 2)  # (b, c_out, h/2, w/2)


class Discriminator(nn.Module):
    """Projection discriminator: D(x, y) = psi(phi(x)) + sum_a <embed_a(y_a), phi(x)>. Returns logits (b,)."""

    def __init__(self, config: GANConfig):
        super().__init__()
        ch = [config.channels] + config.d_channels()
        self.blocks = nn.Sequential(*(DownBlock(ch[i], ch[i + 1], first=i == 0) for i in range(config.blocks)))
        self.linear = spectral_norm(nn.Linear(ch[-1], 1))
        self.embeds = nn.ModuleList(spectral_norm(nn.Embedding(n, ch[-1])) for n in config.attr_sizes)
        self.inner = config.inner
        self.cond_scale = 1.0  # weight of the class term; (1 - s) D_uncond + s D_cond, as G's (cond_blend)

    def forward(self, x: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        return self.score(self.features(x), attr_idx)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """phi(x): (b, c, h, w) -> (b, 8w), global sum pooling of the last block."""
        return F.relu(self.blocks(pad_to(x, self.inner))).sum(dim=(2, 3))

    def score(self, phi: torch.Tensor, attr_idx: torch.Tensor) -> torch.Tensor:
        """psi(phi) + s * sum_a <embed_a(y_a), phi>: logits (b,)."""
        out = self.linear(phi).squeeze(1)  # (b,)
        if self.cond_scale == 0.0:
            return out
        proj = sum((embed(attr_idx[:, i]) * phi).sum(dim=1) for i, embed in enumerate(self.embeds))
        return out + self.cond_scale * proj

    def class_logits(self, phi: torch.Tensor) -> list[torch.Tensor]:
        """The class term read as a classifier: <embed_a(v), phi> for every value v, (b, n_a) per attribute. A
        cross-entropy on these (TrainConfig.class_weight) makes the projection pick the asked-for class over the
        others, where the hinge loss only asks that real-with-its-label beat fake-with-its-label."""
        return [phi @ embed.weight.T for embed in self.embeds]


class Encoder(nn.Module):
    """E(x) -> z: strided convs and a linear head giving q(z | x); its mean starts the inversion.

    With encoder_input="luma" E sees each image's luminance standardised to zero mean and unit variance, so
    its code carries shape and shading but neither hue nor overall brightness: a navy and a red shirt of the
    same cut get the same z. The colour must then come from the condition, which is what colourways change,
    and the reconstruction loss G(E(x), c) ~ x teaches G the colour conditioning by plain regression.
    """

    def __init__(self, config: GANConfig):
        super().__init__()
        if config.encoder_input not in ("luma", "rgb"):
            raise ValueError("encoder_input must be 'luma' or 'rgb'")
        self.luma = config.encoder_input == "luma"
        layers, c_in = [], 1 if self.luma else config.channels
        for i in range(config.blocks):
            c_out = config.e_width * 2 ** min(i, 3)
            layers += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.inner = config.inner
        h0, w0 = config.start
        self.head = nn.Linear(c_in * h0 * w0, 2 * config.z_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (b, c, h, w) -> (b, z_dim)
        """The posterior mean: the inversion's starting point."""
        return self.posterior(x)[0]

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gaussian q(z | x): mean and log-variance, (b, z_dim) each (the trainer's VAE-style path)."""
        if self.luma:
            x = luminance(x)  # (b, 1, h, w)
            x = (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-3)
        mu, logvar = self.head(self.features(pad_to(x, self.inner)).flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(-10, 4)


def luminance(x: torch.Tensor) -> torch.Tensor:
    """(b, 3, h, w) -> (b, 1, h, w), Rec. 601 weights; grayscale passes through."""
    if x.size(1) == 1:
        return x
    return (x * x.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(dim=1, keepdim=True)


def d_hinge_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """E[relu(1 - D(real))] + E[relu(1 + D(fake))]."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_hinge_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[D(G(z))]."""
    return -fake_logits.mean()


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
