"""`prodimg_eval cvae`: how well the active CVAE's colour edits work, stored on its ModelVersion.

An evaluator classifier is trained on the train split (or loaded), then held-out originals are edited to each
of the commonest colours and judged: edit success (the evaluator sees the target colour), preservation (SSIM of
luminance between original and edit at full resolution; the evaluator still sees the product's category), and
the null edit (target = current attributes) against the original. A grid PNG shows originals and edits.
"""
from __future__ import annotations

import csv
import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image, ImageDraw

from ml import judge as ml_judge
from ml.images import fit
from ml.metrics import psnr, ssim
from ml.vocab import AttributeVocab, category_attribute, colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.evaluation.base import Evaluation, EvaluationError
from prodimg_plugin.evaluation.base import num as _num
from prodimg_plugin.evaluation.base import pct as _pct
from prodimg_plugin.evaluation.judged import (
    JudgedEvalOptions,
    Sample,
    catalogue_splits,
    judged_arguments,
    judged_options,
    load_or_train_evaluator,
)
from prodimg_plugin.training import datasets
from prodimg_plugin.weights import ModelUnavailable

log = logging.getLogger(__name__)
PSNR_CAP = 100.0  # dB stored for an exact null edit (JSON has no infinity)


@dataclass
class CvaeEvalOptions(JudgedEvalOptions):
    out_dir: Path = Path("artifacts/eval/cvae")
    colours: int = 10  # the commonest colours of the train split are the edit targets
    max_images: int = 60  # held-out originals edited (x up to `colours` targets each)
    grid_rows: int = 6


def evaluate_cvae(opts: CvaeEvalOptions, progress: Callable[[str], None] | None = None) -> dict:
    """Evaluate the active CVAE; write the grid (and evaluator) under out_dir; store the report on the version."""
    say = progress or log.info
    version, editor = weights.get_model("cvae")
    vocab = editor.vocab
    colour, category = colour_attribute(vocab.attributes), category_attribute(vocab.attributes)
    if colour is None:
        raise EvaluationError(f"the model has no colour attribute to edit (it knows {', '.join(vocab.attributes)})")
    train, samples, split = load_splits(opts, *opts.evaluator_size, 3)
    say(f"{len(train.images)} training thumbnails, {len(samples)} held-out originals ({split}).")
    targets = commonest(train.labels.get(colour, []), vocab.allowed(colour), opts.colours)
    samples = [s for s in samples if s.attrs.get(colour) in targets][: opts.max_images]
    if not samples or len(targets) < 2:
        raise EvaluationError("Nothing to evaluate: no held-out images of the commonest colours.")
    opts.out_dir.mkdir(parents=True, exist_ok=True)
    judge, judge_path = load_or_train_evaluator(opts, train, vocab, say)
    records, grid = edit_samples(editor, samples, colour, targets, opts, say)
    verdicts(records, judge, vocab)
    report = summarise(records, targets, colour, category, vocab)
    report.update(images=len(samples), split=split, evaluator=str(judge_path), version=version.pk,
                  evaluated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                  grid=str(draw_grid(grid, targets, opts.out_dir / "cvae_grid.png")))
    version.metrics = {**(version.metrics or {}), "eval": report}
    version.save(update_fields=["metrics"])
    return report


def commonest(values: list[str], allowed: list[str], n: int) -> list[str]:
    """The n commonest values among the allowed ones (the edit targets), commonest first."""
    counts = Counter(v for v in values if v in allowed)
    return [v for v, _ in counts.most_common(n)]


# ---- data ---------------------------------------------------------------------------------------------------

def load_splits(opts: CvaeEvalOptions, height: int, width: int, channels: int):
    """(train thumbnails, held-out originals, a description of the split)."""
    if opts.from_folder:
        train = datasets.from_folder(opts.from_folder, opts.labels, opts.attributes, height, width, channels,
                                     opts.image_column, "train")
        samples = folder_samples(opts, opts.test_split)
        return train, samples, f"folder {opts.from_folder}: train / {opts.test_split}"
    return (*catalogue_splits(height, width, channels), "catalogue: images with pk % 5 == 0 held out")


def folder_samples(opts: CvaeEvalOptions, split: str) -> list[Sample]:
    """Originals of one split of a labels CSV, full resolution, at most max_images * 4 read."""
    samples = []
    with open(opts.labels, newline="") as fh:
        for row in csv.DictReader(fh):
            path = Path(opts.from_folder) / (row.get(opts.image_column) or "")
            if row.get("split") != split or not path.is_file():
                continue
            with Image.open(path) as im:
                samples.append(Sample(im.convert("RGB"), {a: str(row.get(a, "")).strip().lower()
                                                          for a in opts.attributes}))
            if len(samples) >= opts.max_images * 4:
                break
    return samples


# ---- edits and figures --------------------------------------------------------------------------------------

def edit_samples(editor, samples: list[Sample], colour: str, targets: list[str], opts: CvaeEvalOptions, say):
    """Edit every sample to every other target colour and to its own (the null edit); per-edit records."""
    records, grid = [], []
    for n, sample in enumerate(samples):
        own = sample.attrs[colour]
        wanted = [c for c in targets if c != own] + [own]
        edited = editor.edit_many(sample.image, sample.attrs, [{colour: c} for c in wanted])
        original = np.asarray(sample.image.convert("RGB"))
        for target, image in zip(wanted, edited):
            records.append(edit_record(sample, original, own, target, image, opts.evaluator_size))
        if n < opts.grid_rows:
            by_colour = dict(zip(wanted, edited)) | {own: sample.image}
            grid.append([sample.image] + [by_colour[c] for c in targets])
        if (n + 1) % 10 == 0:
            say(f"Edited {n + 1}/{len(samples)} originals.")
    return records, grid


def edit_record(sample: Sample, original: np.ndarray, own: str, target: str, image: Image.Image, size) -> dict:
    """Full-resolution figures of one edit, and its thumbnail for the evaluator."""
    edited = np.asarray(image.convert("RGB"))
    record = {"target": target, "null": target == own, "attrs": sample.attrs, "thumb": fit(image, *size),
              "ssim_lum": ssim(original, edited)}
    if target == own:
        record["psnr"] = min(psnr(original, edited), PSNR_CAP)
    return record


def verdicts(records: list[dict], judge, vocab: AttributeVocab) -> None:
    """What the evaluator sees in each edit, by attribute name."""
    predicted = ml_judge.predict(judge, [r.pop("thumb") for r in records])
    for k, record in enumerate(records):
        record["seen"] = {a: vocab.values[a][int(predicted[a][0][k])] for a in predicted}


def summarise(records: list[dict], targets: list[str], colour: str, category: str | None, vocab) -> dict:
    """Per target colour and overall: success, luminance SSIM, category kept; the null edit's PSNR / SSIM."""
    known = set(vocab.allowed(category)) if category else set()
    edits = [r for r in records if not r["null"]]
    nulls = [r for r in records if r["null"]]
    per_target = {c: _figures([r for r in edits if r["target"] == c], colour, category, known) for c in targets}
    return {
        "targets": targets, "per_target": per_target, **_figures(edits, colour, category, known),
        "null_psnr_median": _round(np.median([r["psnr"] for r in nulls])) if nulls else None,
        "null_psnr_min": _round(min(r["psnr"] for r in nulls)) if nulls else None,
        "null_ssim": _round(np.mean([r["ssim_lum"] for r in nulls])) if nulls else None,
        "evaluator_on_originals": _on_originals(nulls, colour, category, known),
    }


def _on_originals(nulls: list[dict], colour: str, category: str | None, known: set[str]) -> dict:
    """How often the evaluator names the unedited originals' colour and category: the ceiling of the figures."""
    figures = _figures(nulls, colour, category, known)  # a null edit is the original (PSNR capped at 100 dB)
    return {"colour": figures["success"], "category": figures["category_kept"]}


def _figures(rows: list[dict], colour: str, category: str | None, known: set[str]) -> dict:
    """n, edit success, mean luminance SSIM, and the share whose (known) category the evaluator still sees."""
    if not rows:
        return {"n": 0, "success": None, "ssim_lum": None, "category_kept": None}
    kept = [r["seen"][category] == r["attrs"][category] for r in rows if r["attrs"].get(category) in known]
    return {"n": len(rows), "success": _round(np.mean([r["seen"][colour] == r["target"] for r in rows])),
            "ssim_lum": _round(np.mean([r["ssim_lum"] for r in rows])),
            "category_kept": _round(np.mean(kept)) if kept else None}


def _round(value) -> float | None:
    value = float(value)
    return None if math.isnan(value) else round(value, 4)


def draw_grid(rows: list[list[Image.Image]], targets: list[str], path: Path, cell=(72, 96)) -> Path:
    """Each row: the original, then its edit to each target colour (its own colour's column is the original)."""
    w, h = cell
    sheet = Image.new("RGB", (w * (len(targets) + 1), 14 + h * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, name in enumerate(["original"] + targets):
        draw.text((j * w + 2, 1), name[:12], fill="black")
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            sheet.paste(fit(image, h, w), (j * w, 14 + i * h))
    sheet.save(path)
    return path


# ---- `manage.py prodimg_eval cvae` --------------------------------------------------------------------------

def cvae_arguments(parser) -> None:
    """The command-line options of `prodimg_eval cvae` (CvaeEvalOptions' fields)."""
    d = CvaeEvalOptions()
    judged_arguments(parser, d, "grid PNG and evaluator go here", "split whose originals are edited")
    parser.add_argument("--colours", type=int, default=d.colours, help="edit to the N commonest colours")
    parser.add_argument("--max-images", type=int, default=d.max_images, help="held-out originals edited")
    parser.add_argument("--grid-rows", type=int, default=d.grid_rows)


def run_cvae(options: dict) -> dict:
    """`prodimg_eval cvae`: parsed options -> the report (also stored on the active CVAE's ModelVersion)."""
    opts = CvaeEvalOptions(**judged_options(options), colours=options["colours"], max_images=options["max_images"],
                           grid_rows=options["grid_rows"])
    try:
        return evaluate_cvae(opts)
    except ModelUnavailable as exc:
        raise EvaluationError(str(exc)) from exc


def format_cvae(report: dict) -> str:
    """Per target colour: edits, success, luminance SSIM, category kept; then the totals and the null edit."""
    lines = [f"Colour edits of {report['images']} held-out originals ({report['split']}), judged by the evaluator.",
             "", f"{'target':<14}{'edits':>6}{'success':>9}{'SSIM(Y)':>9}{'category':>10}"]
    rows = list(report["per_target"].items()) + [("all", report)]
    for name, row in rows:
        lines.append(f"{name:<14}{row['n']:>6}{_pct(row['success']):>9}{_num(row['ssim_lum']):>9}"
                     f"{_pct(row['category_kept']):>10}")
    lines += ["", f"Null edit: PSNR median {_num(report['null_psnr_median'], 1)} dB, min "
                  f"{_num(report['null_psnr_min'], 1)} dB; SSIM(Y) {_num(report['null_ssim'])}.",
              f"The evaluator names {_pct(report['evaluator_on_originals']['colour'])} of the unedited originals' "
              f"colours and {_pct(report['evaluator_on_originals']['category'])} of their categories.",
              f"Grid: {report['grid']}   Stored on model version {report['version']}."]
    return "\n".join(lines)


CVAE = Evaluation(run_cvae, format_cvae, cvae_arguments,
                                 help="colour-edit success, preservation and null edits of the active CVAE")
