"""Benchmark: product masks on any backdrop, against truths that neither method made (issue 22, item 1).

Trains the mask net on split `train` (its export also trains the full-resolution refinement and fits the cut-out
chooser), or loads --weights (--fit-chooser trains and fits those two for a net exported without them). Cases:
the first --cases split-`test` photos of the seeded order that can be pseudo-labelled, their truth the
pseudo-label as hand-checked and corrected in bench/labels/mask_truth.json, each put on seven backdrop classes
(its own white, a grey sweep, a coloured or dark paper, wood, tiles, a photographed texture, a blurred scene;
`ml.mask_labels.composite_backdrops`), plus --renders demo renders whose masks are exact. Scores today's rule
(the same net, the light-studio estimate where it agrees), the backdrop cleanup, the net, the refinement and the
new masker (the chooser's pick) by IoU and boundary F (2 px), the wrong cut-outs (IoU < 0.9) delivered without a
problem, the fringe of the cut-out's edge, and the time of a cut-out at 225x300 and 1500x2000. Packshots, worn
items and renders apart. Writes summary.json, records.json and a grid.

    .venv/bin/python bench/bench_mask.py --minutes 14 --steps 700 --cases 40 --out /tmp/c22/mask2
    .venv/bin/python bench/bench_mask.py --weights /tmp/c22/mask2/mask.safetensors --fit-chooser --out /tmp/c22/eval5
"""
from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.backdrop import BackdropConfig, dilate, find_backdrop  # noqa: E402
from ml.colour import delta_e_rgb  # noqa: E402
from ml.cutout import cutout  # noqa: E402
from ml.images import fit  # noqa: E402
from ml.mask import MaskConfig  # noqa: E402
from ml.mask_choice import overlap as iou  # noqa: E402
from ml.mask_labels import composite_backdrops, place_on, pseudo_label  # noqa: E402
from ml.mask_train import MaskTrainer  # noqa: E402
from ml.masker import ProductMasker  # noqa: E402

DATA = ROOT.parent / "shared/data/fashion-product-images"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_mask"))
    p.add_argument("--minutes", type=float, default=20.0, help="training time (wall)")
    p.add_argument("--steps", type=int, help="stop after this many steps (a busy machine then gives the same net)")
    p.add_argument("--weights", type=Path, default=None, help="evaluate these weights instead of training")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--cases", type=int, default=120, help="test photos (x backdrops)")
    p.add_argument("--limit", type=int, default=None, help="train on the first N train photos (smoke runs)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--renders", type=int, default=24, help="demo renders with exact masks")
    p.add_argument("--truth", type=Path, default=ROOT / "bench/labels/mask_truth.json", help="hand-checked truths")
    p.add_argument("--fit-chooser", action="store_true",
                   help="train the refinement and fit the cut-out chooser for --weights first")
    return p.parse_args()


def catalogue_rows(root: Path, split: str) -> list[dict]:
    with open(root / "labels.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["original"] and r["split"] == split]


def load(root: Path, rows: list[dict], size: tuple[int, int] | None) -> list[np.ndarray]:
    """uint8 photos, fitted to size (h, w) (3:4, padded) or as they are."""
    out = []
    for r in rows:
        with Image.open(root / r["original"]) as im:
            out.append(np.asarray(fit(im, *size) if size else im.convert("RGB")))
    return out


def train(args, out: Path) -> Path:
    rows = catalogue_rows(args.data, "train")[: args.limit]
    t = time.monotonic()
    images = np.stack(load(args.data, rows, (192, 144)))
    trainer = MaskTrainer(MaskConfig(), images, [r["baseColour"] for r in rows], [r["articleType"] for r in rows],
                          seed=args.seed)
    print(f"labelled {trainer.labelled}/{trainer.offered} photos in {time.monotonic() - t:.0f} s", flush=True)

    def log(f):
        if f["step"] % 100 == 0:
            print(f"  step {f['step']:5d} {time.monotonic() - t:5.0f}s loss {f['loss']:.3f} iou {f['iou']:.3f}",
                  flush=True)

    trainer.train(steps=args.steps, minutes=args.minutes, callback=log)
    trainer.save(out / "mask_train.safetensors")  # resumable, should the export's refinement fail
    path = out / "mask.safetensors"
    t = time.monotonic()
    trainer.export(path)
    print(f"refinement and chooser fitted in {time.monotonic() - t:.0f} s: "
          f"{trainer.chooser.fitted_on if trainer.chooser else trainer.chooser_note}", flush=True)
    (out / "train.json").write_text(json.dumps({"steps": trainer.step_count, "seconds": time.monotonic() - t,
                                                "labelled": trainer.labelled, "offered": trainer.offered}))
    return path


# ---- the cases: test photos on other backdrops, hand-checked truths, the demo's exact renders ------------------

def truth_of(photo: np.ndarray, colour: str):
    """(foreground alpha, person alpha) at the photo's size, or None when it is not a light studio photo."""
    labelled = pseudo_label(photo, colour)
    if labelled is None:
        return None
    target, weight = labelled
    return 1 - target[..., 0], target[..., 2] * (weight > 0)


def checked_truths(path: Path) -> dict[str, dict]:
    """Hand-checked truths (`bench/labels/mask_truth.json`): per catalogue id a verdict on the pseudo-label
    ("ok", "corrected" with polygons to add or remove, "excluded" with the reason)."""
    return json.loads(path.read_text())["photos"] if path.exists() else {}


def apply_corrections(fg: np.ndarray, entry: dict) -> np.ndarray:
    """The pseudo-label's foreground with the hand-drawn polygons (x, y in the photo's pixels) added or removed."""
    out = Image.fromarray((fg * 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for polygon in entry.get("add", []):
        draw.polygon([tuple(p) for p in polygon], fill=255)
    for polygon in entry.get("remove", []):
        draw.polygon([tuple(p) for p in polygon], fill=0)
    return np.asarray(out, np.float32) / 255


def _erode(m: np.ndarray, r: int) -> np.ndarray:
    return ~dilate(~m, r)


def _boundary(m: np.ndarray) -> np.ndarray:
    return m & ~_erode(m, 1)


def boundary_f(pred: np.ndarray, truth: np.ndarray, tolerance: int = 2) -> float:
    """Boundary F-measure: outline pixels of each mask within `tolerance` px of the other's outline."""
    bp, bt = _boundary(pred > 0.5), _boundary(truth > 0.5)
    if not bp.any() or not bt.any():
        return float(bp.any() == bt.any())
    precision = float((bp & dilate(bt, tolerance)).sum() / bp.sum())
    recall = float((bt & dilate(bp, tolerance)).sum() / bt.sum())
    return 2 * precision * recall / max(precision + recall, 1e-9)


def fringe(case: np.ndarray, mask, fore: np.ndarray, truth: np.ndarray) -> float:
    """Mean ΔE00, over a 3 px band around the true outline, between the cut-out on black and on white and the
    product itself composited by its true alpha on the same colours: backdrop colour left in the edge, or an
    edge in the wrong place, both count."""
    band = dilate(truth > 0.5, 3) & ~_erode(truth > 0.5, 3)
    out = []
    for colour in ((0, 0, 0), (255, 255, 255)):
        cut = np.asarray(cutout(Image.fromarray(case), mask, "#%02x%02x%02x" % colour).convert("RGB"), np.float64)
        true = truth[..., None] * fore + (1 - truth[..., None]) * np.array(colour, np.float64)
        out.append(delta_e_rgb(cut[band] / 255, np.clip(true[band], 0, 255) / 255))
    return float(np.mean(np.concatenate(out))) if band.any() else 0.0


def cleanup_mask(photo: np.ndarray) -> np.ndarray:
    """The backdrop cleanup's foreground on any near-uniform backdrop (zero where it finds none)."""
    bd = find_backdrop(photo.astype(np.float32), BackdropConfig())
    if bd.border_share < BackdropConfig().min_border_share:
        return np.zeros(photo.shape[:2], np.float32)
    return 1 - np.clip(bd.alpha, 0, 1)


def decontaminated(photo: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """The product's own colour at its edge: the photo with the studio white it was shot on solved away."""
    return place_on(photo, fg, np.zeros_like(photo, np.float64)).astype(np.float64) / np.maximum(fg[..., None], 0.05)


def score(case: np.ndarray, fg: np.ndarray, fore: np.ndarray, old: ProductMasker, new: ProductMasker) -> dict:
    """One case through today's masker, the cleanup alone, the net alone, the refinement alone and the new masker
    (the chooser's pick)."""
    image = Image.fromarray(case)
    t0 = time.perf_counter()
    m_new = new.mask(image)
    seconds = time.perf_counter() - t0
    m_old = old.mask(image)
    candidates = new.evidence(image).candidates
    masks = {"today": m_old.foreground, "cleanup": cleanup_mask(case), "net": candidates["net"],
             "refined": candidates.get("refined", candidates["net"]), "new": m_new.foreground}
    record = {"seconds": seconds, "source": m_new.source, "predicted": m_new.predicted_iou,
              "flagged_new": bool(m_new.problems), "flagged_today": bool(m_old.problems),
              "fringe_new": fringe(case, m_new, fore, fg), "fringe_today": fringe(case, m_old, fore, fg)}
    for name, m in masks.items():
        record[f"iou_{name}"] = iou(m, fg)
        record[f"bf_{name}"] = boundary_f(m, fg)
    return record


def demo_renders(n: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The demo's procedural photos with their exact alpha (kind, colour, pattern drawn by `seed`)."""
    from shop_demo.catalog.render import COLOURS, KINDS, PATTERNS, render_with_mask

    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        r = render_with_mask(KINDS[i % len(KINDS)], list(COLOURS)[rng.integers(len(COLOURS))],
                             PATTERNS[rng.integers(len(PATTERNS))], int(rng.integers(10_000)), (225, 300))
        out.append((np.asarray(r.image), np.asarray(r.alpha, np.float32) / 255))
    return out


def evaluate(old: ProductMasker, new: ProductMasker, args) -> tuple[list, list]:
    rows = catalogue_rows(args.data, "test")
    order = np.random.default_rng(args.seed).permutation(len(rows))
    checked = checked_truths(args.truth)
    rng = np.random.default_rng(args.seed + 1)
    photos = load(args.data, [rows[i] for i in order[: args.cases * 2]], None)
    studio = []
    for k, photo in enumerate(photos):
        row = rows[order[k]]
        truth = truth_of(photo, row["baseColour"])
        entry = checked.get(row["id"], {})
        if truth is None or truth[0].mean() < 0.02 or entry.get("verdict") == "excluded":
            continue
        fg = apply_corrections(truth[0], entry) if entry else truth[0]
        studio.append((row, photo, fg, truth[1].mean() > 0.005, bool(entry)))
        if len(studio) >= args.cases:
            break
    records, shown = [], []
    for k, (row, photo, fg, worn, hand) in enumerate(studio):
        other, other_fg = studio[(k + 7) % len(studio)][1:3]
        fore = decontaminated(photo, fg)
        for name, backdrop in composite_backdrops(*photo.shape[:2], rng, other, other_fg).items():
            case = place_on(photo, fg, backdrop)
            rec = score(case, fg, fore, old, new)
            rec.update({"id": row["id"], "bd": name.split(" (")[0], "worn": bool(worn), "hand_checked": hand})
            records.append(rec)
            if len(shown) < 16 and k % 3 == 0 and name != "own white":
                shown.append((case, new.mask(Image.fromarray(case)).foreground, cleanup_mask(case), fg))
        print(f"  {k + 1}/{len(studio)} photos", flush=True)
    for i, (photo, alpha) in enumerate(demo_renders(args.renders, args.seed)):
        rec = score(photo, alpha, decontaminated(photo, alpha), old, new)
        rec.update({"id": f"render{i}", "bd": "demo render", "worn": False, "hand_checked": False})
        records.append(rec)
    return records, shown


METHODS = ("today", "cleanup", "net", "refined", "new")


def summarise(records: list[dict]) -> dict:
    """Per group (packshots, worn, renders) and backdrop class: mean IoU and boundary F per method, the share of
    wrong cut-outs (IoU < 0.9) delivered without a problem, fringe."""
    def figures(rs: list[dict]) -> dict:
        out = {"n": len(rs)}
        for m in METHODS:
            out[f"iou_{m}"] = round(float(np.mean([r[f"iou_{m}"] for r in rs])), 4)
            out[f"bf_{m}"] = round(float(np.mean([r[f"bf_{m}"] for r in rs])), 4)
        for m in ("today", "new"):
            wrong = [r for r in rs if r[f"iou_{m}"] < 0.9]
            out[f"wrong_{m}"] = len(wrong)
            out[f"wrong_unflagged_{m}"] = sum(not r[f"flagged_{m}"] for r in wrong)
            out[f"flagged_{m}"] = sum(r[f"flagged_{m}"] for r in rs)
            out[f"fringe_{m}"] = round(float(np.mean([r[f"fringe_{m}"] for r in rs])), 3)
        out["sources"] = {s: sum(r["source"] == s for r in rs) for s in sorted({r["source"] for r in rs})}
        return out

    groups = {"packshots": [r for r in records if not r["worn"] and r["bd"] != "demo render"],
              "worn": [r for r in records if r["worn"]], "renders": [r for r in records if r["bd"] == "demo render"]}
    out = {}
    for group, rs in groups.items():
        if rs:
            out[group] = {bd: figures([r for r in rs if r["bd"] == bd]) for bd in sorted({r["bd"] for r in rs})}
            out[group]["all"] = figures(rs)
    off = [r for r in records if r["bd"] in OFF_STUDIO]
    out["off studio"] = figures(off) if off else {}
    out["all"] = figures(records)
    secs = [r["seconds"] for r in records]
    out["mask_seconds_p50_p95"] = [round(float(np.percentile(secs, q)), 4) for q in (50, 95)]
    return out


OFF_STUDIO = ("wood", "tiles", "fabric", "blurred scene")


def grid(shown: list, path: Path) -> None:
    """Rows: case, the new masker's cut-out on black, the backdrop cleanup's cut-out on black, the truth."""
    tiles_ = []
    for case, net, base, truth in shown[:8]:
        cells = [case] + [(case * a[..., None]).astype(np.uint8) for a in (net, base, truth)]
        tiles_.append(np.concatenate([np.asarray(Image.fromarray(c).resize((113, 150))) for c in cells], axis=1))
    canvas = Image.fromarray(np.concatenate([np.concatenate(tiles_[i:i + 2], axis=1)
                                             for i in range(0, len(tiles_) - 1, 2)]))
    draw = ImageDraw.Draw(canvas)
    for j, label in enumerate(["case", "new masker", "backdrop cleanup", "truth"] * 2):
        draw.text((j * 113 + 3, 2), label, fill=(255, 0, 0))
    canvas.save(path)


def timing(masker: ProductMasker, args, n: int = 6) -> dict:
    """Seconds for one cut-out (mask and composite on white) at 225x300 and at 1500x2000 (the photo upscaled),
    p50 / p95 over the first n test photos, on one thread, each photo masked afresh."""
    rows = catalogue_rows(args.data, "test")[:n]
    out = {}
    for size in ((225, 300), (1500, 2000)):
        seconds = []
        for row in rows:
            with Image.open(args.data / row["original"]) as im:
                photo = im.convert("RGB").resize(size, Image.Resampling.BICUBIC)
            masker._recent.clear()
            t0 = time.perf_counter()
            cutout(photo, masker.mask(photo), "#ffffff")
            seconds.append(time.perf_counter() - t0)
        out[f"{size[0]}x{size[1]}"] = [round(float(np.percentile(seconds, q)), 3) for q in (50, 95)]
    return out


def with_refinement(weights: Path, args, out: Path) -> Path:
    """An export of `weights` with the refinement (unless it has one) and the chooser trained and fitted on split
    `train`, as `MaskTrainer.export` does."""
    from ml import checkpoint
    from ml.mask_train import MaskTrainConfig, fit_refinement_and_chooser

    tensors, meta = checkpoint.load(weights)
    masker = ProductMasker.from_checkpoint(weights)
    config = MaskTrainConfig()
    rows = catalogue_rows(args.data, "train")
    most = max(config.chooser_photos, config.refine_photos)
    picked = [rows[i] for i in np.sort(np.random.default_rng(args.seed).permutation(len(rows))[:most])]
    photos = np.stack(load(args.data, picked, (192, 144)))
    t = time.monotonic()
    refiner, chooser, note = fit_refinement_and_chooser(masker, photos, [r["baseColour"] for r in picked],
                                                        args.seed, config)
    print(f"refinement and chooser fitted in {time.monotonic() - t:.0f} s: {chooser.fitted_on if chooser else note}",
          flush=True)
    path = out / "mask_refined.safetensors"
    tensors.update(checkpoint.state_dict_with_prefix("refiner", refiner))
    checkpoint.save(path, tensors, {**meta, "chooser": chooser.to_dict() if chooser else None,
                                    "refiner": {"width": refiner.width}})
    return path


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.weights or train(args, args.out)
    if args.fit_chooser:
        weights = with_refinement(weights, args, args.out)
    new = ProductMasker.from_checkpoint(weights)
    old = ProductMasker.from_checkpoint(weights)
    old.chooser = None  # today's masker: the net, and the light-studio estimate where the two agree
    torch.set_num_threads(1)
    records, shown = evaluate(old, new, args)
    grid(shown, args.out / "mask_grid.png")
    (args.out / "records.json").write_text(json.dumps(records))
    summary = summarise(records)
    summary["cutout_seconds_p50_p95"] = timing(new, args)
    summary["command"] = " ".join(sys.argv)
    summary["chooser"] = new.chooser.to_dict() if new.chooser else None
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
