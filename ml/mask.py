"""The product-mask network: which pixels of a photo are the product, which the person wearing it, which the backdrop.

A small U-Net (`MaskNet`) predicts three classes at 96x72 (3:4). It is trained by `ml.mask_train.MaskTrainer` on
the shop's own catalogue, with no downloaded weights; `ml.masker.ProductMasker` runs it on any photo.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

KIND = "mask"  # the exported checkpoint's kind: what ProductMasker.from_checkpoint loads


@dataclass
class MaskConfig:
    height: int = 96  # 3:4 like the catalogue; 2x the generators' 64x48, since edges are what a mask is for
    width: int = 72
    widths: list[int] = field(default_factory=lambda: [16, 32, 64])  # three scales; ~0.1 M parameters
    classes: int = 3  # background, product, person (skin and hair)


def _block(c_in: int, c_out: int, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class MaskNet(nn.Module):
    """U-Net: an encoder of `widths`, a dilated bottleneck for context, a decoder with skip connections."""

    def __init__(self, config: MaskConfig):
        super().__init__()
        self.config = config
        w = config.widths
        self.down = nn.ModuleList([_block(3, w[0])] + [_block(a, b) for a, b in zip(w, w[1:])])
        self.middle = _block(w[-1], w[-1], dilation=2)
        self.up = nn.ModuleList(_block(b + a, a) for a, b in zip(w[:-1], w[1:]))
        self.head = nn.Conv2d(w[0], config.classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (b, 3, h, w) in [-1, 1] -> logits (b, classes, h, w); h, w divisible by 2 ** (len(widths) - 1)."""
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else F.max_pool2d(x, 2))
            skips.append(x)
        x = self.middle(x)
        for block, skip in zip(reversed(self.up), reversed(skips[:-1])):
            x = block(torch.cat([F.interpolate(x, size=skip.shape[-2:], mode="nearest"), skip], dim=1))
        return self.head(x)
