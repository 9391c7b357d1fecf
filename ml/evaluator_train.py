"""Training the evaluator classifier (`ml.evaluator.AttributeClassifier`) on labelled catalogue images, and its
export: what `ml.judge` loads.
"""
from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import torch

from . import checkpoint
from .evaluator import KIND, AttributeClassifier, EvaluatorConfig, classification_loss
from .images import uint8_batch_to_tensor
from .training import run_steps
from .vocab import AttributeVocab


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
    cpu_minutes: float | None = None,
) -> AttributeClassifier:
    """Train on uint8 images (n, h, w, c) with labels (n, n_attributes); stop after `epochs`, `minutes` of wall
    time or `cpu_minutes` of this process's CPU time, whichever comes first.

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
    step = 0

    def one() -> dict:
        nonlocal step
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
        return {"step": step}

    run_steps(one, total, minutes, None, cpu_minutes)
    return model.eval()


def export(model: AttributeClassifier, vocab: AttributeVocab, path) -> str:
    """Write the classifier with its config and vocabulary; return the file's sha256."""
    meta = {"kind": KIND, "config": asdict(model.config), "vocab": vocab.to_dict()}
    return checkpoint.save(path, checkpoint.state_dict_with_prefix("classifier", model), meta)
