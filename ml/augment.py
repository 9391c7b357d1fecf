"""DiffAugment (Zhao et al. 2020): differentiable augmentations applied to real AND fake images before D.

With a few hundred training images a discriminator memorises the real set within a few hundred steps and the
generator stops learning. Augmenting both what D sees of the real set and of G's output (differentiably, so
G's gradient flows through the augmentation) keeps D honest without teaching G to draw augmented images.

Default policy "translation,cutout": our generator is conditioned on colour, and "color" (brightness,
saturation, contrast) would let a real navy shirt look grey or light blue to D, so D could no longer tell G
that its "navy" shirt has the wrong colour; conditional colour fidelity is what colourways sell. Use "color"
only for models that are not conditioned on colour.

Tensors are (b, c, h, w) in [-1, 1]. Randomness comes from an optional torch.Generator (CPU) so a trainer can
make a run reproducible and resumable.
"""
from __future__ import annotations

from collections.abc import Callable

import torch

DEFAULT_POLICY = "translation,cutout"


def _rand(shape, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform [0, 1) drawn on the CPU generator, moved to x's device (generators are per device)."""
    return torch.rand(shape, generator=generator).to(x.device, x.dtype)


def _randint(low: int, high: int, shape, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    return torch.randint(low, high, shape, generator=generator).to(x.device)


def rand_brightness(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    return x + (_rand((x.size(0), 1, 1, 1), x, generator) - 0.5)


def rand_saturation(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand((x.size(0), 1, 1, 1), x, generator) * 2) + mean


def rand_contrast(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand((x.size(0), 1, 1, 1), x, generator) + 0.5) + mean


def rand_translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to ratio*size pixels; uncovered pixels repeat the edge (white on packshots)."""
    b, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = _randint(-sy, sy + 1, (b, 1, 1), x, generator)
    dx = _randint(-sx, sx + 1, (b, 1, 1), x, generator)
    rows = (torch.arange(h, device=x.device).view(1, h, 1) + dy).clamp(0, h - 1).expand(b, h, w)  # (b, h, w)
    cols = (torch.arange(w, device=x.device).view(1, 1, w) + dx).clamp(0, w - 1).expand(b, h, w)  # (b, h, w)
    batch = torch.arange(b, device=x.device).view(b, 1, 1).expand(b, h, w)
    return x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def rand_cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero (mid grey) one random rectangle of ratio*size per image."""
    b, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = _randint(0, h + (1 - ch % 2), (b, 1, 1), x, generator)
    cx = _randint(0, w + (1 - cw % 2), (b, 1, 1), x, generator)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= cy - ch // 2) & (ys < cy - ch // 2 + ch) & (xs >= cx - cw // 2) & (xs < cx - cw // 2 + cw)
    return x * (~inside).unsqueeze(1).to(x.dtype)  # (b, c, h, w)


AUGMENTS: dict[str, list[Callable]] = {
    "color": [rand_brightness, rand_saturation, rand_contrast],
    "translation": [rand_translation],
    "cutout": [rand_cutout],
}


def parse_policy(policy: str) -> list[str]:
    """'translation,cutout' -> ['translation', 'cutout']; raises ValueError on an unknown name."""
    names = [p.strip() for p in policy.split(",") if p.strip()]
    for name in names:
        if name not in AUGMENTS:
            raise ValueError(f"unknown DiffAugment policy {name!r}; choose from {', '.join(AUGMENTS)}")
    return names


def diff_augment(
    x: torch.Tensor, policy: str = DEFAULT_POLICY, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Apply the policy's augmentations, each with fresh per-image randomness. x: (b, c, h, w)."""
    for name in parse_policy(policy):
        for fn in AUGMENTS[name]:
            x = fn(x, generator=generator)
    return x.contiguous()
