"""How good is a conditional generator? Judged by the evaluator classifier (`ml.evaluator`) trained on real data.

- attribute accuracy: the share of generated images in which the evaluator sees the category / colour that was
  asked for, next to the evaluator's own accuracy on real held-out images (its ceiling);
- evaluator-FID: the Frechet distance (Heusel et al. 2017) between generated and real held-out images in the
  evaluator's pooled feature space, at a fixed N, next to the same distance between N real *training* images of
  the same conditions and the N held-out ones (the floor a perfect generator would reach at that N: FID is biased
  upwards at small N);
- diversity: the mean pairwise feature distance between samples of one condition, next to real images of one
  condition (a collapsed generator scores near zero);
- a grid per category: rows are colours, columns are samples.

A generator is given as a sampler `sampler(attr_idx (n, n_attr) long tensor, generator) -> (n, c, h, w) in
[-1, 1]`, so the plugin's GAN and the plain DCGAN baseline (`bench/dcgan.py`) are measured the same way.
"""
from __future__ import annotations

from collections import Counter
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from .evaluator import AttributeClassifier
from .gan import truncated_z
from .images import tensor_to_pil, uint8_batch_to_tensor
from .vocab import AttributeVocab

Sampler = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


def to_judge(x: torch.Tensor, judge: AttributeClassifier) -> torch.Tensor:
    """Generated images (n, c, h, w) in [-1, 1] resized (antialiased) and channel-matched to the evaluator's input."""
    cfg = judge.config
    if x.shape[1] != cfg.channels:
        x = x.mean(dim=1, keepdim=True) if cfg.channels == 1 else x.expand(-1, cfg.channels, -1, -1)
    if tuple(x.shape[2:]) != (cfg.height, cfg.width):
        x = F.interpolate(x, size=(cfg.height, cfg.width), mode="bilinear", antialias=True, align_corners=False)
    return x.clamp(-1, 1)


def gan_sampler(G, truncation: float | None = None) -> Sampler:
    """The sampler of an `ml.gan.Generator` (its EMA copy, as exported): z from the (truncated) prior."""
    G.eval()

    @torch.no_grad()
    def sample(attr_idx: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        device = next(G.parameters()).device
        z = truncated_z(len(attr_idx), G.config.z_dim, truncation, generator).to(device)
        return G(z, attr_idx.to(device)).cpu()

    return sample


@torch.no_grad()
def generate(sampler: Sampler, attr_idx: np.ndarray, seed: int = 0, batch_size: int = 200) -> torch.Tensor:
    """Samples for each row of attr_idx (n, n_attr), in batches, reproducibly: (n, c, h, w) in [-1, 1]."""
    gen = torch.Generator().manual_seed(seed)
    rows = torch.as_tensor(np.asarray(attr_idx), dtype=torch.long)
    return torch.cat([sampler(rows[i : i + batch_size], gen) for i in range(0, len(rows), batch_size)])


@torch.no_grad()
def judge_outputs(judge: AttributeClassifier, x: torch.Tensor, batch_size: int = 256):
    """(features (n, d) float64, {attribute: predicted index (n,)}) of images (n, c, h, w) in [-1, 1]."""
    judge.eval()
    feats, preds = [], [[] for _ in judge.config.attributes]
    for i in range(0, len(x), batch_size):
        xb = to_judge(x[i : i + batch_size], judge)
        h = judge.embedding(xb)
        feats.append(h.double())
        for k, head in enumerate(judge.heads):
            logits = head(h)
            logits[:, 0] = -float("inf")  # <unk> is never a prediction
            preds[k].append(logits.argmax(dim=1))
    return (torch.cat(feats).numpy(),
            {a: torch.cat(p).numpy() for a, p in zip(judge.config.attributes, preds)})


def accuracy_per_attribute(pred: dict[str, np.ndarray], attr_idx: np.ndarray, attributes: list[str]) -> dict:
    """Per attribute, the share of rows with a known label (index > 0) whose prediction is that label."""
    attr_idx = np.asarray(attr_idx)
    out = {}
    for k, name in enumerate(attributes):
        known = attr_idx[:, k] > 0
        out[name] = float((pred[name][known] == attr_idx[known, k]).mean()) if known.any() else None
    return out


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^1/2) of two feature sets (n, d); 0 for identical sets.

    The matrix square root's trace is taken from the eigenvalues of S_a^1/2 S_b S_a^1/2 (symmetric, PSD), which
    is stable where scipy's sqrtm of the non-symmetric product is not.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError("need two (n >= 2, d) feature sets of the same width")
    mu = a.mean(0) - b.mean(0)
    sa, sb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    w, v = np.linalg.eigh(sa)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    m = root_a @ sb @ root_a
    cross = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(mu @ mu + np.trace(sa) + np.trace(sb) - 2 * cross)


def mean_pairwise_distance(feats: np.ndarray) -> float:
    """Mean Euclidean distance between distinct rows of (n, d)."""
    f = torch.as_tensor(np.asarray(feats, np.float64))
    n = len(f)
    if n < 2:
        return 0.0
    d = torch.cdist(f, f)
    return float(d.sum() / (n * (n - 1)))


def matching_rows(pool_idx: np.ndarray, wanted: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each wanted label row, a random pool row with the same labels (any row when none has them), without
    reuse while possible: the floor's training set then has the held-out set's mix of conditions, as a perfect
    generator asked for those conditions would."""
    by_row: dict[tuple, list[int]] = {}
    for i in rng.permutation(len(pool_idx)):
        by_row.setdefault(tuple(pool_idx[i].tolist()), []).append(int(i))
    out, used = [], set()
    for row in wanted:
        options = by_row.get(tuple(row.tolist())) or []
        pick = next((i for i in options if i not in used), None)
        if pick is None:
            free = [i for i in range(len(pool_idx)) if i not in used]
            pick = int(rng.choice(free)) if free else int(rng.integers(len(pool_idx)))
        used.add(pick)
        out.append(pick)
    return np.asarray(out)


def commonest_conditions(attr_idx: np.ndarray, k: int, min_count: int = 2) -> list[tuple[int, ...]]:
    """The k commonest label combinations (rows) with at least min_count images, commonest first."""
    counts = Counter(map(tuple, np.asarray(attr_idx).tolist()))
    return [c for c, n in counts.most_common() if n >= min_count and all(v > 0 for v in c)][:k]


def evaluate(
    sampler: Sampler,
    judge: AttributeClassifier,
    train_images: np.ndarray,
    train_idx: np.ndarray,
    test_images: np.ndarray,
    test_idx: np.ndarray,
    n: int = 500,
    seed: int = 0,
    diversity_conditions: int = 8,
    per_condition: int = 16,
) -> dict:
    """Accuracy, evaluator-FID (and its floor) and diversity of a sampler against the real splits.

    Generated conditions are the held-out images' own label rows (resampled to n), so the generated and real sets
    have the same mix of categories and colours. N is min(n, held-out images, training images).
    """
    rng = np.random.default_rng(seed)
    attributes = judge.config.attributes
    n = int(min(n, len(test_images), len(train_images)))
    if n < 2:
        raise ValueError("need at least two held-out and two training images")
    test_pick = rng.choice(len(test_images), n, replace=False)
    train_pick = matching_rows(np.asarray(train_idx), np.asarray(test_idx)[test_pick], rng)
    test_x, train_x = uint8_batch_to_tensor(test_images[test_pick]), uint8_batch_to_tensor(train_images[train_pick])
    conds = np.asarray(test_idx)[test_pick]
    fake = generate(sampler, conds, seed=seed)
    f_fake, p_fake = judge_outputs(judge, fake)
    f_test, p_test = judge_outputs(judge, test_x)
    f_train, _ = judge_outputs(judge, train_x)
    gen_acc = accuracy_per_attribute(p_fake, conds, attributes)
    real_acc = accuracy_per_attribute(p_test, conds, attributes)
    fid, floor = frechet_distance(f_fake, f_test), frechet_distance(f_train, f_test)

    div_fake, div_real = [], []
    train_idx = np.asarray(train_idx)
    for k, cond in enumerate(commonest_conditions(train_idx, diversity_conditions)):
        rows = np.repeat(np.asarray(cond)[None], per_condition, axis=0)
        div_fake.append(mean_pairwise_distance(judge_outputs(judge, generate(sampler, rows, seed=seed + 1 + k))[0]))
        same = np.flatnonzero((train_idx == np.asarray(cond)).all(axis=1))[:per_condition]
        div_real.append(mean_pairwise_distance(judge_outputs(judge, uint8_batch_to_tensor(train_images[same]))[0]))
    return {
        "n": n,
        "accuracy": {a: {"generated": _r(gen_acc[a]), "real": _r(real_acc[a]),
                         "ratio": _r(gen_acc[a] / real_acc[a]) if gen_acc[a] is not None and real_acc[a] else None}
                     for a in attributes},
        "fid": _r(fid), "fid_floor": _r(floor), "fid_ratio_to_floor": _r(fid / floor) if floor > 0 else None,
        "diversity": {"generated": _r(np.mean(div_fake)) if div_fake else None,
                      "real": _r(np.mean(div_real)) if div_real else None},
    }


def category_grids(sampler: Sampler, vocab: AttributeVocab, category: str, colour: str | None,
                   base: dict[str, str], categories: list[str] | None = None, colours: list[str] | None = None,
                   rows: int = 8, columns: int = 6, seed: int = 0,
                   cell: tuple[int, int] = (48, 64)) -> dict[str, Image.Image]:
    """One sheet per category value (the given ones, or all): a row per colour (the given ones, or the vocabulary's
    first `rows`), a column per sample. The same z runs down a column, so rows differ only in colour; `base`
    fills the other attributes."""
    colour_values = (colours or vocab.allowed(colour))[:rows] if colour else [None]
    sheets = {}
    for value in categories or vocab.allowed(category):
        images = []
        for c_name in colour_values:
            attrs = {**base, category: value, **({colour: c_name} if colour else {})}
            row = np.repeat(np.asarray(vocab.encode(attrs), dtype=np.int64)[None], columns, axis=0)
            images.append([tensor_to_pil(x) for x in generate(sampler, row, seed=seed)])
        sheets[value] = draw_sheet(images, [str(c) if c else "" for c in colour_values], value, cell)
    return sheets


def draw_sheet(rows: list[list[Image.Image]], labels: list[str], title: str, cell: tuple[int, int]) -> Image.Image:
    """A labelled grid: a title line, then one row of cells per label."""
    w, h = cell
    label_w, top = 72, 14
    ncol = max((len(r) for r in rows), default=0)
    sheet = Image.new("RGB", (label_w + ncol * w, top + len(rows) * h), "white")
    draw = ImageDraw.Draw(sheet)
    draw.text((2, 1), str(title)[:40], fill="black")
    for i, (row, label) in enumerate(zip(rows, labels)):
        draw.text((2, top + i * h + h // 2 - 5), label[:11], fill="black")
        for j, im in enumerate(row):
            sheet.paste(im.convert("RGB").resize((w, h), Image.Resampling.NEAREST), (label_w + j * w, top + i * h))
    return sheet


def _r(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if np.isnan(value) else round(value, 4)
