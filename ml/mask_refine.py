"""The mask's learned refinement at the photo's own resolution: photo + coarse evidence -> the product's alpha.

`MaskNet` sees a photo at 96x72, so its edge is an upsampled blur; the backdrop estimate (`ml.backdrop`) has
pixel-exact edges but only on near-uniform backdrops, and loses white products on white. `RefineNet` is a small
fully convolutional net that runs at the photo's resolution (up to `REFINE_SIDE` a side; larger photos are refined
there and carried up by the guided filter) on six channels: the photo, the coarse net's foreground probability,
the backdrop estimate's foreground and whether there is one. Dilated convolutions give it a 33 px view: enough to
see which side of an edge is product and whether the backdrop estimate's edge is a real one. It is trained by
`RefineTrainer` on the same free pseudo-labels as the coarse net, put on new backdrops (`ml.mask_labels`), with
the coarse net frozen, so it learns where to trust which input.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

REFINE_SIDE = 640  # the refinement runs on a copy at most this size; 225x300 catalogue photos at their own
DILATIONS = (1, 2, 4, 8, 1)


class RefineNet(nn.Module):
    """Six input channels -> one alpha logit per pixel, at any size."""

    def __init__(self, width: int = 24):
        super().__init__()
        self.width = width
        layers, c_in = [], 6
        for d in DILATIONS:
            layers += [nn.Conv2d(c_in, width, 3, padding=d, dilation=d), nn.ReLU(inplace=True)]
            c_in = width
        self.body = nn.Sequential(*layers)
        self.head = nn.Conv2d(width, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def inputs(rgb: np.ndarray, coarse: np.ndarray, cleanup: np.ndarray | None) -> torch.Tensor:
    """(1, 6, h, w): rgb uint8 or float 0-255 (h, w, 3), the coarse foreground probability (h, w) and the
    backdrop estimate's foreground (h, w) or None."""
    x = torch.from_numpy(np.asarray(rgb, np.float32) / 127.5 - 1).permute(2, 0, 1)
    has = cleanup is not None
    planes = [torch.from_numpy(np.array(coarse, np.float32))[None],  # copies: resized arrays may be read-only
              torch.from_numpy(np.array(cleanup if has else np.zeros_like(coarse), np.float32))[None],
              torch.full((1, *coarse.shape), 1.0 if has else 0.0)]
    return torch.cat([x, *planes])[None]


@torch.no_grad()
def refine_alpha(net: RefineNet, rgb: np.ndarray, coarse: np.ndarray, cleanup: np.ndarray | None) -> np.ndarray:
    """(h, w) alpha in [0, 1] from the refinement net, all inputs at the same size."""
    return torch.sigmoid(net(inputs(rgb, coarse, cleanup)))[0, 0].numpy()


class RefineTrainer:
    """Trains a RefineNet on precomputed composites: (inputs (n, 6, h, w), truth (n, 1, h, w), weight)."""

    def __init__(self, x: torch.Tensor, truth: torch.Tensor, weight: torch.Tensor, width: int = 24, seed: int = 0,
                 crop: int = 96, batch_size: int = 16, lr: float = 3e-3):
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        self.x, self.truth, self.weight = x, truth, weight
        self.net = RefineNet(width)
        self.opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.crop, self.batch_size = min(crop, x.shape[-2], x.shape[-1]), batch_size
        self.history: list[float] = []

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        n, _, h, w = self.x.shape
        idx = torch.randint(0, n, (self.batch_size,), generator=self.gen)
        ys = torch.randint(0, h - self.crop + 1, (self.batch_size,), generator=self.gen)
        xs = torch.randint(0, w - self.crop + 1, (self.batch_size,), generator=self.gen)
        c = self.crop
        return tuple(torch.stack([v[i, :, y: y + c, x: x + c] for i, y, x in zip(idx, ys, xs)]).float()
                     for v in (self.x, self.truth, self.weight))

    def step(self) -> float:
        x, t, w = self.batch()
        logits = self.net(x)
        loss = (F.binary_cross_entropy_with_logits(logits, t, reduction="none") * w).sum() / w.sum().clamp(min=1)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.history.append(loss.item())
        return self.history[-1]

    def train(self, steps: int) -> RefineNet:
        self.net.train()
        for _ in range(steps):
            self.step()
        return self.net.eval().requires_grad_(False)
