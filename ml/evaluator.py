"""The evaluator network: a small CNN that names a product image's attributes (one softmax head per attribute).

`prodimg_eval` uses it to score generated images (does an edit show the target colour? does a GAN variant show
the class it was asked for?), and the CVAE trainer uses a second, independently seeded one as its critic.
Index 0 of every attribute is `<unk>`: never a training target, never a prediction. Training and export live in
`ml.evaluator_train`; loading and asking a trained one (`Judge`, `predict`, `accuracy`) in `ml.judge`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F

KIND = "evaluator"  # the exported checkpoint's kind


@dataclass
class EvaluatorConfig:
    height: int = 64  # the catalogue thumbnails' size (3:4), same as the generators'
    width: int = 48
    channels: int = 3
    widths: list[int] = field(default_factory=lambda: [32, 64, 128])  # one max-pool per stage: 64x48 -> 8x6
    attributes: list[str] = field(default_factory=list)  # head names, in vocabulary order
    attr_sizes: list[int] = field(default_factory=list)  # AttributeVocab.sizes(), <unk> included
    dropout: float = 0.2  # ~10k training images overfit a CNN of this size in a few epochs without it


class AttributeClassifier(nn.Module):
    """Conv stages (conv-BN-ReLU-pool), global average pooling, one linear head per attribute."""

    def __init__(self, config: EvaluatorConfig):
        super().__init__()
        self.config = config
        layers, c_in = [], config.channels
        for w in config.widths:
            layers += [nn.Conv2d(c_in, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2)]
            c_in = w
        layers += [nn.Conv2d(c_in, c_in, 3, padding=1, bias=False), nn.BatchNorm2d(c_in), nn.ReLU()]
        self.features = nn.Sequential(*layers)
        self.dropout = nn.Dropout(config.dropout)
        self.heads = nn.ModuleList(nn.Linear(c_in, n) for n in config.attr_sizes)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """x (b, c, h, w) in [-1, 1] -> one logits tensor (b, n_attr_values) per attribute."""
        h = self.dropout(self.embedding(x))
        return [head(h) for head in self.heads]

    def embedding(self, x: torch.Tensor) -> torch.Tensor:
        """The pooled features the heads read, (b, c): the space evaluator-FID is measured in."""
        return self.features(x).mean(dim=(2, 3))


def classification_loss(logits: list[torch.Tensor], attr_idx: torch.Tensor) -> torch.Tensor:
    """Sum over attributes of the cross-entropy; `<unk>` targets (0) are ignored."""
    total = logits[0].new_zeros(())
    for k, lg in enumerate(logits):
        target = attr_idx[:, k]
        if (target > 0).any():
            total = total + F.cross_entropy(lg, target, ignore_index=0)
    return total
