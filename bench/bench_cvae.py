"""Benchmark: CVAE colour edits on the real catalogue, against a naive HSV recolouring, judged by the evaluator.

Trains the evaluator and the CVAE on split `train` (64x48 thumbnails, articleType and baseColour, commonest
values kept), then edits split `test` originals (225x300) to each of the other commonest colours, and reports
per target colour: edit success (the evaluator sees the target colour), preservation (SSIM of luminance at full
resolution; the evaluator still sees the same category; how much of the plain backdrop an edit tints), the null
edit, and the same figures for the baseline. The defaults are the tuned run (about 12 minutes on one thread):

    .venv/bin/python bench/bench_cvae.py --data ../shared/data/fashion-product-images --out /tmp/bench_cvae

Writes cvae.safetensors, evaluator.safetensors, summary.json and cvae_grid.png under --out.
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

from ml import evaluator, evaluator_train, judge as ml_judge  # noqa: E402
from ml.cvae import CVAEConfig  # noqa: E402
from ml.cvae_train import CVAETrainConfig, CVAETrainer  # noqa: E402
from ml.edits import AttributeEditor  # noqa: E402
from ml.images import fit  # noqa: E402
from ml.metrics import psnr, ssim, ssim_maps  # noqa: E402
from ml.vocab import AttributeVocab  # noqa: E402

CATEGORY, COLOUR = "articleType", "baseColour"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=str(ROOT.parent / "shared/data/fashion-product-images"))
    p.add_argument("--out", default="/tmp/bench_cvae")
    p.add_argument("--categories", type=int, default=24, help="commonest articleTypes kept")
    p.add_argument("--colours", type=int, default=10, help="commonest baseColours kept (the edit targets)")
    p.add_argument("--evaluator-minutes", type=float, default=3.0)
    p.add_argument("--evaluator-widths", default="16,32,64")
    p.add_argument("--evaluator", default=None, help="reuse this evaluator checkpoint if it exists (else train it)")
    p.add_argument("--cvae-minutes", type=float, default=7.0)
    p.add_argument("--cvae-steps", type=int, default=None)
    p.add_argument("--size", default="32x24", help="CVAE resolution HxW (the npz is 64x48; smaller is pooled)")
    p.add_argument("--z-dim", type=int, default=32)
    p.add_argument("--kl-warmup", type=int, default=400)
    p.add_argument("--critic-start", type=int, default=100)
    p.add_argument("--critic-downsample", type=int, default=None, help="default: 2 at 64x48, else 1")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--critic-weight", type=float, default=30.0)
    p.add_argument("--change-weight", type=float, default=0.02)
    p.add_argument("--background-weight", type=float, default=1.0)
    p.add_argument("--swap", default=COLOUR, help="attributes the critic sees swapped, comma-separated; \"\": all")
    p.add_argument("--strength", type=float, default=1.3, help="AttributeEditor.strength (edit boldness)")
    p.add_argument("--max-images", type=int, default=100, help="test originals edited (x colours-1 targets)")
    p.add_argument("--grid-rows", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    return p.parse_args()


def load_catalogue(root: Path):
    """Thumbnails (n, 64, 48, 3), label columns, split and original paths, in labels.csv order."""
    data = np.load(root / "catalog_64x48.npz")
    with open(root / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["id"]) for r in rows] == data["id"].tolist(), "npz and labels.csv rows differ"
    labels = {a: [r[a] for r in rows] for a in (CATEGORY, COLOUR)}
    return data["x"], labels, np.array([r["split"] for r in rows]), [r["original"] for r in rows]


# -- the naive baseline ----------------------------------------------------------------------------------------
def product_mask(rgb: np.ndarray, tol: float = 0.08) -> np.ndarray:
    """Pixels not near the background (the border's median colour: white or light grey). rgb float (h, w, 3)."""
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    bg = np.median(border, axis=0)
    return np.abs(rgb - bg).max(axis=2) > tol


def rgb_to_hsv(rgb: np.ndarray) -> np.ndarray:
    """Vectorised colorsys.rgb_to_hsv: (..., 3) in [0, 1] -> (..., 3) hue, saturation, value in [0, 1]."""
    r, g, b = np.moveaxis(rgb, -1, 0)
    v, mn = rgb.max(-1), rgb.min(-1)
    d = v - mn
    safe = np.where(d > 0, d, 1.0)
    h = np.where(v == r, (g - b) / safe, np.where(v == g, 2.0 + (b - r) / safe, 4.0 + (r - g) / safe))
    h = np.where(d > 0, (h / 6.0) % 1.0, 0.0)
    return np.stack([h, np.where(v > 0, d / np.where(v > 0, v, 1.0), 0.0), v], -1)


def hsv_to_rgb(hsv: np.ndarray) -> np.ndarray:
    """Vectorised colorsys.hsv_to_rgb."""
    h, s, v = np.moveaxis(hsv, -1, 0)
    i = np.floor(h * 6.0).astype(int) % 6
    f = h * 6.0 - np.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    table = np.stack([np.stack(c, -1) for c in ((v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q))])
    return np.take_along_axis(table, i[None, ..., None].repeat(3, -1), 0)[0]


def product_hsv(rgb: np.ndarray) -> np.ndarray | None:
    """Mean (hue, saturation, value) of the product's pixels; hue is a saturation-weighted circular mean."""
    mask = product_mask(rgb)
    if mask.sum() < 10:
        return None
    hsv = rgb_to_hsv(rgb[mask])
    ang = 2 * np.pi * hsv[:, 0]
    w = hsv[:, 1] + 1e-6
    hue = (np.arctan2((w * np.sin(ang)).sum(), (w * np.cos(ang)).sum()) / (2 * np.pi)) % 1.0
    return np.array([hue, hsv[:, 1].mean(), hsv[:, 2].mean()])


def colour_references(x: np.ndarray, colours: list[str], labels: list[str], per_colour: int = 150) -> dict:
    """Each colour's typical product HSV, from training thumbnails (median over up to `per_colour` products)."""
    refs, labels = {}, np.array(labels)
    for colour in colours:
        stats = [product_hsv(x[i] / 255.0) for i in np.flatnonzero(labels == colour)[:per_colour]]
        stats = np.array([s for s in stats if s is not None])
        ang = 2 * np.pi * stats[:, 0]
        hue = (np.arctan2(np.sin(ang).sum(), np.cos(ang).sum()) / (2 * np.pi)) % 1.0
        refs[colour] = np.array([hue, np.median(stats[:, 1]), np.median(stats[:, 2])])
    return refs


def hsv_recolour(image: Image.Image, ref: np.ndarray) -> Image.Image:
    """Product pixels: hue set to the target's, saturation and value shifted by (target - product mean)."""
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    mask, src = product_mask(rgb), product_hsv(rgb)
    if src is None:
        return image.convert("RGB")
    hsv = rgb_to_hsv(rgb[mask])
    hsv[:, 0] = ref[0]
    hsv[:, 1:] = np.clip(hsv[:, 1:] + (ref[1:] - src[1:]), 0, 1)
    out = rgb.copy()
    out[mask] = hsv_to_rgb(hsv)
    return Image.fromarray((out * 255 + 0.5).astype(np.uint8))


# -- training --------------------------------------------------------------------------------------------------
def train_evaluator(x, idx, vocab, args, out: Path):
    """Train (seeded apart from the CVAE's critic) and export; or load `--evaluator` when it exists."""
    path = Path(args.evaluator) if args.evaluator else out / "evaluator.safetensors"
    if args.evaluator and path.exists():
        model, saved = ml_judge.from_checkpoint(path)
        assert saved.values == vocab.values, "evaluator vocabulary differs"
        print(f"evaluator: loaded {path}", flush=True)
        return model
    t = time.monotonic()
    widths = [int(w) for w in args.evaluator_widths.split(",")]
    config = evaluator.EvaluatorConfig(widths=widths)
    steps = []
    model = evaluator_train.train_classifier(x, idx, vocab, epochs=None, minutes=args.evaluator_minutes,
                                             seed=args.seed + 1, config=config, callback=lambda s, _: steps.append(s))
    evaluator_train.export(model, vocab, path)
    print(f"evaluator: {len(steps)} steps in {time.monotonic() - t:.0f} s -> {path}", flush=True)
    return model


def pool_to(x: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (n, H, W, c) -> (n, height, width, c) by block averaging (H, W multiples of height, width)."""
    fh, fw = x.shape[1] // height, x.shape[2] // width
    blocks = x.reshape(len(x), height, fh, width, fw, x.shape[3]).astype(np.float32)
    return (blocks.mean(axis=(2, 4)) + 0.5).astype(np.uint8)


def train_cvae(x, idx, vocab, args, out: Path):
    widths = [int(w) for w in args.widths.split(",")]
    height, width = (int(v) for v in args.size.split("x"))
    config = CVAEConfig(height=height, width=width, z_dim=args.z_dim, beta=args.beta, widths=widths,
                        kl_warmup_steps=args.kl_warmup)
    downsample = args.critic_downsample or (2 if height >= 64 else 1)
    tc = CVAETrainConfig(critic_weight=args.critic_weight, critic_start=args.critic_start,
                         change_weight=args.change_weight, background_weight=args.background_weight,
                         swap_attributes=args.swap.split(",") if args.swap else None,
                         critic_downsample=downsample)
    trainer = CVAETrainer(config, pool_to(x, height, width), idx, vocab, seed=args.seed, train_config=tc)
    t = time.monotonic()

    def log(f):
        if f["step"] % 100 == 0:
            print(f"  step {f['step']:5d} {time.monotonic() - t:5.0f}s  recon {f['recon']:7.1f}  kl {f['kl']:6.1f}"
                  f"  edit {f['edit']:.3f}  critic {f['critic']:.3f}", flush=True)

    figures = trainer.train(steps=args.cvae_steps, minutes=None if args.cvae_steps else args.cvae_minutes,
                            callback=log)
    path = out / "cvae.safetensors"
    sha = trainer.export(path)
    print(f"cvae: {trainer.step_count} steps in {time.monotonic() - t:.0f} s; export {path} "
          f"({path.stat().st_size / 1e6:.1f} MB, sha256 {sha[:12]})", flush=True)
    return path, figures, trainer.step_count


# -- evaluation ------------------------------------------------------------------------------------------------
def edit_test_set(editor, refs, rows, args, data: Path):
    """All edits of the chosen test originals; returns per-edit records and the grid's images."""
    colours = list(refs)
    records, grid = [], []
    for n, (orig_path, category, colour) in enumerate(rows):
        with Image.open(data / orig_path) as im:
            image = im.convert("RGB")
        attrs = {CATEGORY: category, COLOUR: colour}
        targets = [c for c in colours if c != colour]
        cvae_edits = editor.edit_many(image, attrs, [{COLOUR: c} for c in targets])
        base_edits = [hsv_recolour(image, refs[c]) for c in targets]
        null = editor.edit(image, attrs, {COLOUR: colour})
        base_null = hsv_recolour(image, refs[colour])
        arr = np.asarray(image)
        backdrop = ~product_mask(arr / 255.0, tol=0.04)  # plain backdrop: any change there is a halo
        for method, edits, nul in (("cvae", cvae_edits, null), ("hsv", base_edits, base_null)):
            for target, edited in zip(targets, edits):
                e = np.asarray(edited)
                lum, cs = ssim_maps(arr, e)
                halo = np.abs(e.astype(int) - arr)[backdrop].max(axis=1) if backdrop.any() else np.zeros(1)
                records.append({"method": method, "image": n, "source": colour, "target": target,
                                "category": category, "ssim": float((lum * cs).mean()), "ssim_cs": float(cs.mean()),
                                "backdrop_change": float(halo.mean()), "backdrop_tinted": float((halo > 8).mean()),
                                "thumb": fit(edited, 64, 48)})
            records.append({"method": method, "image": n, "source": colour, "target": None, "category": category,
                            "null_psnr": psnr(arr, np.asarray(nul)), "null_ssim": ssim(arr, np.asarray(nul)),
                            "thumb": fit(image, 64, 48)})
        if n < args.grid_rows:
            by_colour = dict(zip(targets, cvae_edits)) | {colour: image}
            by_base = dict(zip(targets, base_edits)) | {colour: image}
            grid.append(([by_colour[c] for c in colours], [by_base[c] for c in colours]))
        if (n + 1) % 25 == 0:
            print(f"  edited {n + 1}/{len(rows)} originals", flush=True)
    return records, grid


def judge(records, model, vocab):
    """Evaluator verdicts on every edit: colour seen, category seen."""
    thumbs = np.stack([np.asarray(r["thumb"]) for r in records])
    pred = ml_judge.predict(model, thumbs)
    for r, ci, ki in zip(records, pred[COLOUR][0], pred[CATEGORY][0]):
        r["seen_colour"], r["seen_category"] = vocab.values[COLOUR][ci], vocab.values[CATEGORY][ki]


def summarise(records, colours) -> dict:
    """Per method and target colour: success, SSIM, category kept; plus the null edits."""
    out = {}
    seen_on_original = {r["image"]: r["seen_category"] for r in records if r["method"] == "cvae" and not r["target"]}
    for method in ("cvae", "hsv"):
        edits = [r for r in records if r["method"] == method and r["target"]]
        nulls = [r for r in records if r["method"] == method and not r["target"]]
        per = {}
        for c in colours:
            rs = [r for r in edits if r["target"] == c]
            per[c] = {"n": len(rs), "success": np.mean([r["seen_colour"] == c for r in rs]),
                      "ssim": np.mean([r["ssim"] for r in rs])}
        out[method] = {
            "per_target": per,
            "success": float(np.mean([r["seen_colour"] == r["target"] for r in edits])),
            "ssim_lum": float(np.mean([r["ssim"] for r in edits])),
            "ssim_lum_p10": float(np.percentile([r["ssim"] for r in edits], 10)),
            "ssim_structure": float(np.mean([r["ssim_cs"] for r in edits])),
            "backdrop_change": float(np.mean([r["backdrop_change"] for r in edits])),
            "backdrop_tinted": float(np.mean([r["backdrop_tinted"] for r in edits])),
            "category_kept": float(np.mean([r["seen_category"] == r["category"] for r in edits])),
            "category_as_original": float(np.mean([r["seen_category"] == seen_on_original[r["image"]] for r in edits])),
            "null_psnr_median": float(np.median([r["null_psnr"] for r in nulls])),
            "null_psnr_min": float(np.min([r["null_psnr"] for r in nulls])),
            "null_ssim": float(np.mean([r["null_ssim"] for r in nulls])),
        }
    return out


def draw_grid(grid, colours, path: Path, cell=(90, 120)) -> None:
    """Rows: originals; columns: the ten colours (the source colour's column is the original). CVAE, then HSV."""
    w, h = cell
    rows = [r[0] for r in grid] + [r[1] for r in grid]
    sheet = Image.new("RGB", (w * len(colours), 16 + h * len(rows) + 16), "white")
    draw = ImageDraw.Draw(sheet)
    for j, c in enumerate(colours):
        draw.text((j * w + 3, 3), c, fill="black")
    for i, row in enumerate(rows):
        y = 16 + h * i + (16 if i >= len(grid) else 0)
        for j, im in enumerate(row):
            sheet.paste(im.resize(cell, Image.Resampling.LANCZOS), (j * w, y))
    draw.text((3, 16 + h * len(grid) + 2), "naive HSV recolouring (same originals):", fill="black")
    sheet.save(path)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    np.random.seed(args.seed)
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    x, labels, split, originals = load_catalogue(data)
    train = split == "train"
    vocab = AttributeVocab({
        CATEGORY: AttributeVocab.build({CATEGORY: np.array(labels[CATEGORY])[train].tolist()},
                                       max_values=args.categories).values[CATEGORY],
        COLOUR: AttributeVocab.build({COLOUR: np.array(labels[COLOUR])[train].tolist()},
                                     max_values=args.colours).values[COLOUR],
    })
    idx = np.array(vocab.encode_many(labels))
    colours = vocab.allowed(COLOUR)
    print(f"vocab: {vocab.sizes()}  colours: {colours}", flush=True)

    model = train_evaluator(x[train], idx[train], vocab, args, out)
    test = ~train
    acc = ml_judge.accuracy(model, x[test], idx[test])
    seen = ml_judge.predict(model, x[test])[COLOUR][0]
    col = idx[test][:, vocab.attributes.index(COLOUR)]
    recall = {c: float(np.mean(seen[col == k] == k)) for k, c in enumerate(colours, start=1)}
    print(f"evaluator accuracy on test thumbnails: {acc}", flush=True)
    cvae_path, figures, steps = train_cvae(x[train], idx[train], vocab, args, out)
    editor = AttributeEditor.from_checkpoint(cvae_path, strength=args.strength)
    refs = colour_references(x[train], colours, np.array(labels[COLOUR])[train].tolist())

    rng = np.random.default_rng(args.seed)
    pool = [i for i in np.flatnonzero(test) if labels[COLOUR][i] in colours and originals[i]]
    chosen = sorted(rng.choice(pool, size=min(args.max_images, len(pool)), replace=False))
    rows = [(originals[i], labels[CATEGORY][i], labels[COLOUR][i]) for i in chosen]
    t = time.monotonic()
    records, grid = edit_test_set(editor, refs, rows, args, data)
    print(f"edits: {time.monotonic() - t:.0f} s", flush=True)
    judge(records, model, vocab)
    originals_seen = [r for r in records if r["method"] == "cvae" and not r["target"]]
    summary = summarise(records, colours)
    summary["evaluator_accuracy_test_thumbnails"] = acc
    summary["evaluator_colour_recall_test"] = recall
    summary["evaluator_on_unedited_originals"] = {
        "colour": float(np.mean([r["seen_colour"] == r["source"] for r in originals_seen])),
        "category": float(np.mean([r["seen_category"] == r["category"] for r in originals_seen])),
    }
    summary["chance_success"] = 1.0 / len(colours)
    summary["cvae_steps"], summary["cvae_last"] = steps, figures
    summary["n_originals"], summary["args"] = len(rows), vars(args)
    summary["minutes_total"] = (time.monotonic() - t0) / 60
    draw_grid(grid, colours, out / "cvae_grid.png")
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    report(summary, colours)


def report(s: dict, colours: list[str]) -> None:
    print(f"\n{'target':<11}{'cvae success':>13}{'hsv success':>13}{'cvae ssim':>11}{'hsv ssim':>10}"
          f"{'evaluator recall':>18}")
    for c in colours:
        a, b = s["cvae"]["per_target"][c], s["hsv"]["per_target"][c]
        print(f"{c:<11}{a['success']:>13.2f}{b['success']:>13.2f}{a['ssim']:>11.3f}{b['ssim']:>10.3f}"
              f"{s['evaluator_colour_recall_test'][c]:>18.2f}")
    for m in ("cvae", "hsv"):
        print(m, {k: round(v, 4) for k, v in s[m].items() if k != "per_target"})
    print("evaluator on unedited test originals:", s["evaluator_on_unedited_originals"],
          f"chance {s['chance_success']:.2f}; total {s['minutes_total']:.1f} min")


if __name__ == "__main__":
    main()
