"""Benchmark: the product-mask net against the backdrop cleanup, on cases whose true mask is known.

Trains (or loads) the mask net on split `train` of the real catalogue's full-size photos, then builds test cases
from split `test`: each photo's foreground, cut from its white studio backdrop (the truth; its skin and hair are
the "person" part), is composited onto backdrops the net never trained on (its own white, a grey studio sweep
with vignette and noise, six flat paper colours, a wood-like texture, a blurred scene). Reports, for packshots
and for worn items separately: IoU of the foreground (product + person, what a cut-out keeps), IoU of the
product alone (skin and hair excluded: the backdrop cleanup cannot do this and is scored on its foreground), and
the mean alpha error in a 3-px band around the true edge. Writes a grid to look at and summary.json.

    .venv/bin/python bench/bench_mask.py --minutes 20 --out /tmp/bench_mask
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
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.backdrop import BackdropConfig, dilate, find_backdrop  # noqa: E402
from ml.images import fit  # noqa: E402
from ml.mask import MaskConfig  # noqa: E402
from ml.mask_labels import pseudo_label  # noqa: E402
from ml.mask_train import MaskTrainer  # noqa: E402
from ml.masker import ProductMasker  # noqa: E402

DATA = ROOT.parent / "shared/data/fashion-product-images"
PAPERS = {"pink": (236, 190, 200), "light blue": (185, 210, 235), "beige": (225, 210, 180), "mint": (190, 230, 205),
          "dark grey": (70, 72, 75), "black": (18, 18, 20)}


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
    path = out / "mask.safetensors"
    trainer.export(path)
    (out / "train.json").write_text(json.dumps({"steps": trainer.step_count, "seconds": time.monotonic() - t,
                                                "labelled": trainer.labelled, "offered": trainer.offered}))
    return path


# ---- the constructed cases ------------------------------------------------------------------------------------

def grey_sweep(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    top, bottom = rng.uniform(150, 200), rng.uniform(190, 235)
    ramp = np.linspace(top, bottom, h)[:, None, None]
    yy, xx = np.mgrid[0:h, 0:w]
    vignette = 1 - 0.18 * (((xx - w / 2) / w) ** 2 + ((yy - h / 2) / h) ** 2)[..., None]
    return np.clip(ramp * vignette + rng.normal(0, 2.0, (h, w, 1)), 0, 255) * np.ones(3)


def wood(h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    xx = np.arange(w)[None, :] + 6 * np.sin(np.arange(h)[:, None] / 17.0)
    grain = 0.5 + 0.5 * np.sin(xx / rng.uniform(3, 7))
    base = np.array([150, 105, 70]) + rng.uniform(-20, 20, 3)
    return np.clip(base * (0.8 + 0.25 * grain[..., None]) + rng.normal(0, 4, (h, w, 1)), 0, 255)


def scene(h: int, w: int, other: np.ndarray) -> np.ndarray:
    im = Image.fromarray(other).resize((w * 2, h * 2)).crop((w // 2, h // 2, w // 2 + w, h // 2 + h))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(6)), np.float64)


def backdrops(h: int, w: int, rng: np.random.Generator, other: np.ndarray) -> dict[str, np.ndarray | None]:
    paper = list(PAPERS)[rng.integers(len(PAPERS))]
    return {"own white": None, "grey sweep": grey_sweep(h, w, rng), f"paper ({paper})": np.ones((h, w, 3)) * PAPERS[paper],
            "wood": wood(h, w, rng), "blurred scene": scene(h, w, other)}


def truth_of(photo: np.ndarray, colour: str):
    """(foreground alpha, person alpha) at the photo's size, or None when it is not a light studio photo."""
    labelled = pseudo_label(photo, colour)
    if labelled is None:
        return None
    target, weight = labelled
    return 1 - target[..., 0], target[..., 2] * (weight > 0)


def put_on(photo: np.ndarray, fg: np.ndarray, backdrop: np.ndarray | None) -> np.ndarray:
    if backdrop is None:
        return photo
    rgb = photo.astype(np.float64)
    shot_on = np.median(np.concatenate([rgb[0], rgb[-1]]), axis=0)
    a = fg[..., None]
    fore = np.where(a > 0.98, rgb, np.clip((rgb - (1 - a) * shot_on) / np.maximum(a, 0.05), 0, 255))
    return (a * fore + (1 - a) * backdrop + 0.5).clip(0, 255).astype(np.uint8)


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    p, t = pred > 0.5, truth > 0.5
    return float((p & t).sum() / max((p | t).sum(), 1))


def edge_error(pred: np.ndarray, truth: np.ndarray) -> float:
    t = truth > 0.5
    band = dilate(t, 3) & ~_erode(t, 3)
    return float(np.abs(pred[band] - truth[band]).mean()) if band.any() else 0.0


def _erode(m: np.ndarray, r: int) -> np.ndarray:
    return ~dilate(~m, r)


def cleanup_mask(photo: np.ndarray) -> np.ndarray:
    """The current backdrop cleanup's foreground (what enhance keeps), at the photo's size."""
    return 1 - np.clip(find_backdrop(photo.astype(np.float32), BackdropConfig()).alpha, 0, 1)


def evaluate(masker: ProductMasker, args) -> tuple[dict, list]:
    rows = catalogue_rows(args.data, "test")
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(rows))
    photos_all = load(args.data, [rows[i] for i in order[: args.cases * 2]], None)
    records, shown = [], []
    for k, photo in enumerate(photos_all):
        row = rows[order[k]]
        truth = truth_of(photo, row["baseColour"])
        if truth is None or truth[0].mean() < 0.02:
            continue
        fg, person = truth
        worn = person.mean() > 0.005
        other = photos_all[(k + 7) % len(photos_all)]
        for name, backdrop in backdrops(*photo.shape[:2], rng, other).items():
            case = put_on(photo, fg, backdrop)
            t0 = time.perf_counter()
            m = masker.mask(Image.fromarray(case))
            seconds = time.perf_counter() - t0
            base = cleanup_mask(case)
            product = np.clip(fg - person, 0, 1)
            records.append({"photo": k, "bd": name, "worn": bool(worn), "seconds": seconds,
                            "net_fg": iou(m.foreground, fg), "base_fg": iou(base, fg),
                            "net_product": iou(m.alpha, product), "base_product": iou(base, product),
                            "net_edge": edge_error(m.foreground, fg), "base_edge": edge_error(base, fg),
                            "problems": m.problems})
            if len(shown) < 24 and (k % 3 == 0):
                shown.append((case, m.foreground, base, fg))
        if len({r["photo"] for r in records}) >= args.cases:
            break
    return summarise(records), shown


def summarise(records: list[dict]) -> dict:
    out = {}
    for group, keep in (("packshots", lambda r: not r["worn"]), ("worn", lambda r: r["worn"])):
        rs = [r for r in records if keep(r)]
        by = {}
        for bd in sorted({r["bd"].split(" (")[0] for r in rs}):
            sub = [r for r in rs if r["bd"].split(" (")[0] == bd]
            by[bd] = {k: round(float(np.mean([r[k] for r in sub])), 4) for k in
                      ("net_fg", "base_fg", "net_product", "base_product", "net_edge", "base_edge")}
            by[bd]["n"] = len(sub)
            by[bd]["flagged"] = sum(bool(r["problems"]) for r in sub)
        allbd = {k: round(float(np.mean([r[k] for r in rs])), 4) for k in
                 ("net_fg", "base_fg", "net_product", "base_product", "net_edge", "base_edge")} if rs else {}
        out[group] = {"by_backdrop": by, "all": allbd, "photos": len({r["photo"] for r in rs})}
    secs = [r["seconds"] for r in records]
    out["mask_seconds_p50_p95"] = [round(float(np.percentile(secs, q)), 4) for q in (50, 95)]
    return out


def grid(shown: list, path: Path) -> None:
    """Rows: case, net's cut-out on black, backdrop cleanup's cut-out on black, the truth."""
    tiles = []
    for case, net, base, truth in shown[:8]:
        cells = [case] + [(case * a[..., None]).astype(np.uint8) for a in (net, base, truth)]
        tiles.append(np.concatenate([np.asarray(Image.fromarray(c).resize((113, 150))) for c in cells], axis=1))
    canvas = Image.fromarray(np.concatenate([np.concatenate(tiles[i:i + 2], axis=1) for i in range(0, len(tiles) - 1, 2)]))
    draw = ImageDraw.Draw(canvas)
    for j, label in enumerate(["case", "mask net", "backdrop cleanup", "truth"] * 2):
        draw.text((j * 113 + 3, 2), label, fill=(255, 0, 0))
    canvas.save(path)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.weights or train(args, args.out)
    masker = ProductMasker.from_checkpoint(weights)
    torch.set_num_threads(1)
    summary, shown = evaluate(masker, args)
    grid(shown, args.out / "mask_grid.png")
    summary["command"] = " ".join(sys.argv)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
