"""A trained evaluator asked what an image shows: `Judge` for the plugin (registry kind "evaluator"), `predict`
and `accuracy` for evaluations and benchmarks, `from_checkpoint` to load what `ml.evaluator_train.export` wrote.
"""
from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from . import checkpoint
from .evaluator import KIND, AttributeClassifier, EvaluatorConfig
from .images import fit, uint8_batch_to_tensor
from .vocab import AttributeVocab, spelling_key


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


def from_checkpoint(path, device: str = "cpu", expected_sha256: str | None = None):
    """Rebuild (model, vocab) from a file written by `ml.evaluator_train.export`."""
    tensors, meta = checkpoint.load(path, expected_sha256)
    if meta.get("kind") != KIND:
        raise checkpoint.CheckpointError(f"not an evaluator checkpoint (kind {meta.get('kind')!r})")
    model = AttributeClassifier(EvaluatorConfig(**meta["config"]))
    checkpoint.load_prefixed(model, "classifier", tensors)
    return model.to(device).eval(), AttributeVocab.from_dict(meta["vocab"])


class Judge:
    """The evaluator as a loadable model (registry kind "evaluator"): what a generated image shows, and how surely.

    Load once per worker with `from_checkpoint` (a file written by `ml.evaluator_train.export`), then call
    `probability` or `predict`.
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
        wanted = spelling_key(value)
        return next((v for v in self.vocab.allowed(attribute) if spelling_key(v) == wanted), None)

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
