"""The evaluator: a small CNN that names a product image's attributes (one softmax head per attribute).

`prodimg_eval` uses it to score generated images (does an edit show the target colour? does a GAN variant show
the class it was asked for?), and the CVAE trainer uses a second, independently seeded one as its critic.
`Judge` wraps a trained one for the plugin, which asks it how surely each generated image shows what was asked.
Index 0 of every attribute is `<unk>`: never a training target, never a prediction.
"""
from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from . import checkpoint
from .images import fit, uint8_batch_to_tensor
from .vocab import AttributeVocab

KIND = "evaluator"


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


def _flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips: a product facing left is the same product."""
    mask = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(mask[:, None, None, None], x.flip(3), x)


def train_classifier(
    images: np.ndarray,
    attr_idx: np.ndarray,
    vocab: AttributeVocab,
    epochs: float | None = 10,
    minutes: float | None = None,
    seed: int = 0,
    config: EvaluatorConfig | None = None,
    batch_size: int = 64,
    lr: float = 2e-3,
    callback=None,
) -> AttributeClassifier:
    """Train on uint8 images (n, h, w, c) with labels (n, n_attributes); stop after `epochs` or `minutes`.

    `callback(step, loss)` is called every step. Returns the model in eval mode.
    """
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    config = config or EvaluatorConfig(height=images.shape[1], width=images.shape[2], channels=images.shape[3])
    config.attributes, config.attr_sizes = vocab.attributes, vocab.sizes()
    model = AttributeClassifier(config)
    x_all, y_all = uint8_batch_to_tensor(images), torch.as_tensor(np.asarray(attr_idx), dtype=torch.long)
    steps_per_epoch = max(1, math.ceil(len(x_all) / batch_size))
    total = int(epochs * steps_per_epoch) if epochs else None
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    model.train()
    start, step = time.monotonic(), 0
    while (total is None or step < total) and (minutes is None or time.monotonic() - start < minutes * 60):
        idx = torch.randint(len(x_all), (batch_size,), generator=g)
        loss = classification_loss(model(_flip(x_all[idx], g)), y_all[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if total:  # cosine decay over the planned steps
            for group in opt.param_groups:
                group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / total))
        if callback:
            callback(step, loss.item())
    return model.eval()


def images_to_tensor(images, config: EvaluatorConfig) -> torch.Tensor:
    """uint8 array (n, h, w, c) or a list of PIL images (fitted to the model's size) -> (n, c, h, w)."""
    if isinstance(images, np.ndarray):
        return uint8_batch_to_tensor(images)
    arrays = [np.asarray(fit(im, config.height, config.width, config.channels)) for im in images]
    return uint8_batch_to_tensor(np.stack(arrays).reshape(len(arrays), config.height, config.width, -1))


@torch.no_grad()
def predict(model: AttributeClassifier, images, batch_size: int = 256) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per attribute: (indices (n,), probabilities (n, n_values)); `<unk>` never predicted."""
    model.eval()
    x = images_to_tensor(images, model.config)
    device = next(model.parameters()).device
    chunks = [model(x[i : i + batch_size].to(device)) for i in range(0, len(x), batch_size)]
    out = {}
    for k, name in enumerate(model.config.attributes):
        logits = torch.cat([c[k] for c in chunks]).float().cpu()
        logits[:, 0] = -float("inf")
        probs = logits.softmax(dim=1).numpy()
        out[name] = (probs.argmax(axis=1), probs)
    return out


def accuracy(model: AttributeClassifier, images, attr_idx: np.ndarray) -> dict[str, float]:
    """Per attribute, the share of images with a known label that the model names correctly."""
    pred, attr_idx = predict(model, images), np.asarray(attr_idx)
    out = {}
    for k, name in enumerate(model.config.attributes):
        known = attr_idx[:, k] > 0
        out[name] = float((pred[name][0][known] == attr_idx[known, k]).mean()) if known.any() else float("nan")
    return out


def export(model: AttributeClassifier, vocab: AttributeVocab, path) -> str:
    """Write the classifier with its config and vocabulary; return the file's sha256."""
    meta = {"kind": KIND, "config": asdict(model.config), "vocab": vocab.to_dict()}
    return checkpoint.save(path, checkpoint.state_dict_with_prefix("classifier", model), meta)


def from_checkpoint(path, device: str = "cpu", expected_sha256: str | None = None):
    """Rebuild (model, vocab) from a file written by `export`."""
    tensors, meta = checkpoint.load(path, expected_sha256)
    if meta.get("kind") != KIND:
        raise checkpoint.CheckpointError(f"not an evaluator checkpoint (kind {meta.get('kind')!r})")
    model = AttributeClassifier(EvaluatorConfig(**meta["config"]))
    checkpoint.load_prefixed(model, "classifier", tensors)
    return model.to(device).eval(), AttributeVocab.from_dict(meta["vocab"])


def pil_predict(model: AttributeClassifier, vocab: AttributeVocab, image: Image.Image) -> dict[str, str]:
    """The attribute values the evaluator sees in one image, by name."""
    pred = predict(model, [image])
    return {a: vocab.values[a][int(pred[a][0][0])] for a in model.config.attributes}


def value_key(text: str) -> str:
    """A value as compared across spellings: case, spaces, underscores and hyphens ignored ("Navy Blue" = "navy-blue")."""
    return re.sub(r"[\s_-]+", "", str(text).strip().lower())


class Judge:
    """The evaluator as a loadable model (registry kind "evaluator"): what a generated image shows, and how surely.

    Load once per worker with `from_checkpoint` (a file written by `export`), then call `probability` or `predict`.
    """

    def __init__(self, model: AttributeClassifier, vocab: AttributeVocab):
        self.model, self.vocab = model.eval(), vocab

    @classmethod
    def from_checkpoint(cls, path, device: str = "cpu", expected_sha256: str | None = None) -> "Judge":
        """Rebuild from an evaluator checkpoint; refuses a file whose sha256 differs from `expected_sha256`."""
        return cls(*from_checkpoint(path, device, expected_sha256))

    @property
    def attributes(self) -> list[str]:
        return self.model.config.attributes

    def spelling(self, attribute: str, value: str) -> str | None:
        """The evaluator's own spelling of `value`, or None when it has no such attribute or value."""
        if attribute not in self.vocab.values:
            return None
        wanted = value_key(value)
        return next((v for v in self.vocab.allowed(attribute) if value_key(v) == wanted), None)

    def probabilities(self, image: Image.Image, wanted: dict[str, str]) -> dict[str, float | None]:
        """Per asked-for attribute, the probability that `image` shows its value (one forward pass for all);
        None for an attribute or value the evaluator does not know."""
        probs = predict(self.model, [image])
        out = {}
        for attribute, value in wanted.items():
            known = self.spelling(attribute, value)
            index = self.vocab.values[attribute].index(known) if known else None
            out[attribute] = None if index is None else float(probs[attribute][1][0, index])
        return out

    def probability(self, image: Image.Image, attribute: str, value: str) -> float | None:
        """The probability that `image` shows `value` of `attribute`; None when the evaluator does not know it."""
        return self.probabilities(image, {attribute: value})[attribute]

    def predict(self, image: Image.Image) -> dict[str, tuple[str, float]]:
        """Per attribute, the value the evaluator sees in `image` and its probability."""
        probs = predict(self.model, [image])
        return {a: (self.vocab.values[a][int(idx[0])], float(p[0, int(idx[0])])) for a, (idx, p) in probs.items()}
