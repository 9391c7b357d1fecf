"""`prodimg_eval gan`: how good the active GAN is, stored on its ModelVersion with a grid per category.

An evaluator classifier is trained on the train split (or loaded) and its accuracy on real held-out images is
reported as the ceiling; then the generator's samples for the held-out images' conditions are judged (attribute
accuracy per attribute), compared with them in the evaluator's feature space (evaluator-FID at a fixed N, next to
the floor of real train vs held-out images at the same N), and their diversity within a condition is measured
(`ml.gan_eval`). The grids go to the default storage so the admin can show them.
"""
from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import Callable

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from ml import gan_eval
from ml.images import fit
from ml.vocab import category_attribute, colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.evaluation.base import Evaluation, EvaluationError, num, pct
from prodimg_plugin.evaluation.judged import (
    JudgedEvalOptions,
    catalogue_splits,
    judged_arguments,
    judged_options,
    load_or_train_evaluator,
)
from prodimg_plugin.training import datasets
from prodimg_plugin.weights import ModelUnavailable

log = logging.getLogger(__name__)
GRID_DIR = "prodimg/eval/gan"


@dataclass
class GanEvalOptions(JudgedEvalOptions):
    out_dir: Path = Path("artifacts/eval/gan")
    n: int = 500  # images per set for FID and accuracy (fewer if the held-out split is smaller)
    truncation: float | None = None  # the prior, untruncated: FID sees the generator's whole range
    grid_categories: int = 12
    grid_colours: int = 8
    grid_columns: int = 6


def evaluate_gan(opts: GanEvalOptions, progress: Callable[[str], None] | None = None) -> dict:
    """Evaluate the active GAN; write grids (local and storage) and store the report on its ModelVersion."""
    say = progress or log.info
    version, generator = weights.get_model("gan")
    vocab = generator.vocab
    train, test, split = load_thumbnails(opts)
    train_idx, test_idx = _encode(vocab, train.labels, len(train.images)), _encode(vocab, test.labels, len(test.images))
    known = (test_idx > 0).all(axis=1)  # held-out images the model has every attribute value of
    if len(train.images) < 2 or known.sum() < 2:
        raise EvaluationError(
            f"Not enough images to evaluate: {len(train.images)} training and {int(known.sum())} held-out images "
            "with attribute values the model knows (at least two of each are needed).")
    say(f"{len(train.images)} training images, {int(known.sum())} held-out images ({split}).")
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    judge, judge_path = load_or_train_evaluator(opts, train, vocab, say)
    sampler = gan_eval.gan_sampler(generator.G, opts.truncation)
    report = gan_eval.evaluate(sampler, judge, train.images, train_idx, test.images[known], test_idx[known],
                               n=opts.n, seed=opts.seed)
    report.update(split=split, train_images=len(train.images), evaluator=str(judge_path), version=version.pk,
                  truncation=opts.truncation, evaluated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  grids=save_grids(version, sampler, vocab, train.labels, opts))
    version.metrics = {**(version.metrics or {}), "eval": report}
    version.save(update_fields=["metrics"])
    return report


def load_thumbnails(opts: GanEvalOptions):
    """(train Dataset, held-out Dataset, a description of the split), thumbnails at the evaluator's size."""
    h, w = opts.evaluator_size
    if opts.from_folder:
        common = (opts.from_folder, opts.labels, opts.attributes, h, w, 3, opts.image_column)
        return (datasets.from_folder(*common, split="train"), datasets.from_folder(*common, split=opts.test_split),
                f"folder {opts.from_folder}: train / {opts.test_split}")
    train, samples = catalogue_splits(h, w, 3)
    images = [np.asarray(fit(s.image, h, w)) for s in samples]
    labels = {a: [s.attrs.get(a, "") for s in samples] for a in sorted({k for s in samples for k in s.attrs})}
    test = datasets.Dataset(np.stack(images) if images else np.zeros((0, h, w, 3), np.uint8), labels, [])
    return train, test, ("catalogue: images with pk % 5 == 0 held out from the evaluator (a GAN trained on the "
                         "whole catalogue has seen them: FID can fall below the floor)")


def _encode(vocab, labels: dict[str, list[str]], n: int) -> np.ndarray:
    """Label columns -> (n, n_attr) indices in the model's vocabulary; 0 (<unk>) for values it does not know."""
    columns = {a: labels.get(a, [""] * n) for a in vocab.attributes}
    return np.asarray(vocab.encode_many(columns), dtype=np.int64).reshape(n, len(vocab.attributes))


def save_grids(version, sampler, vocab, labels: dict[str, list[str]], opts: GanEvalOptions) -> dict[str, str]:
    """A sheet per category (its commonest colours as rows), in out_dir and in the default storage.

    Returns {category: storage name}; the version's earlier grids are replaced.
    """
    category = category_attribute(vocab.attributes) or vocab.attributes[0]
    colour = colour_attribute(vocab.attributes)
    colour = colour if colour != category else None
    base = {a: _commonest(labels.get(a, []), vocab.allowed(a)) for a in vocab.attributes}
    colours = _ranked(labels.get(colour, []), vocab.allowed(colour))[: opts.grid_colours] if colour else None
    categories = _ranked(labels.get(category, []), vocab.allowed(category))[: opts.grid_categories]
    folder = f"{GRID_DIR}/v{version.pk}"
    _clear(folder)
    sheets = gan_eval.category_grids(sampler, vocab, category, colour, base, categories=categories, colours=colours,
                                     rows=opts.grid_colours, columns=opts.grid_columns, seed=opts.seed)
    names = {}
    for value, sheet in sheets.items():
        slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "category"
        sheet.save(opts.out_dir / f"grid_{slug}.png")
        buffer = BytesIO()
        sheet.save(buffer, format="PNG")
        names[value] = default_storage.save(f"{folder}/{slug}.png", ContentFile(buffer.getvalue()))
    return names


def _clear(folder: str) -> None:
    try:
        files = default_storage.listdir(folder)[1]
    except (FileNotFoundError, NotImplementedError):
        return
    for name in files:
        default_storage.delete(f"{folder}/{name}")


def _ranked(values: list[str], allowed: list[str]) -> list[str]:
    """Allowed values, commonest in the training labels first, then the rest in vocabulary order."""
    counts = Counter(v for v in values if v in allowed)
    return [v for v, _ in counts.most_common()] + [v for v in allowed if v not in counts]


def _commonest(values: list[str], allowed: list[str]) -> str:
    ranked = _ranked(values, allowed)
    return ranked[0] if ranked else ""


# ---- `manage.py prodimg_eval gan` ---------------------------------------------------------------------------

def gan_arguments(parser) -> None:
    d = GanEvalOptions()
    judged_arguments(parser, d, "grids and evaluator go here", "the held-out split (CSV's split column)")
    parser.add_argument("--n", type=int, default=d.n, help=f"images per set for FID and accuracy (default {d.n})")
    parser.add_argument("--truncation", type=float, default=None, help="sample z truncated to this (default: none)")
    parser.add_argument("--grid-categories", type=int, default=d.grid_categories)
    parser.add_argument("--grid-colours", type=int, default=d.grid_colours)


def run_gan(options: dict) -> dict:
    """`prodimg_eval gan`: parsed options -> the report (also stored on the active GAN's ModelVersion)."""
    if options["n"] < 2:
        raise EvaluationError("--n must be at least 2")
    opts = GanEvalOptions(**judged_options(options), n=options["n"], truncation=options.get("truncation"),
                          grid_categories=options["grid_categories"], grid_colours=options["grid_colours"])
    try:
        return evaluate_gan(opts)
    except ModelUnavailable as exc:
        raise EvaluationError(str(exc)) from exc


def format_gan(report: dict) -> str:
    """Accuracy per attribute against the evaluator's own, FID against its floor, diversity, where the grids are."""
    lines = [f"GAN samples for {report['n']} held-out conditions ({report['split']}), judged by the evaluator.", "",
             f"{'attribute':<16}{'generated':>10}{'real':>8}{'ratio':>8}"]
    for name, row in report["accuracy"].items():
        lines.append(f"{name:<16}{pct(row['generated']):>10}{pct(row['real']):>8}{num(row['ratio'], 2):>8}")
    div = report["diversity"]
    lines += ["", f"Evaluator-FID {num(report['fid'], 2)} at N={report['n']}; real train vs held-out floor "
                  f"{num(report['fid_floor'], 2)} (ratio {num(report['fid_ratio_to_floor'], 2)}).",
              f"Diversity within a condition: generated {num(div['generated'])}, real {num(div['real'])}.",
              f"Grids: {', '.join(report['grids'].values()) or 'none'}   Stored on model version {report['version']}."]
    return "\n".join(lines)


GAN = Evaluation(run_gan, format_gan, gan_arguments,
                                help="attribute accuracy, evaluator-FID and diversity of the active GAN, with grids")
