"""Benchmark: colour edits and colourways of real photos, inside the product mask vs the current pipeline vs a
non-learned baseline, judged by the evaluator; packshots and worn items apart.

Takes models trained on split `train` (bench_cvae.py: the CVAE and the evaluator; bench_gan.py: the GAN;
bench_mask.py: the mask net and palette) and edits split `test` originals (225x300) to each of the ten commonest
colours other than their own, five ways:
- `edit now` / `colourway now`: today's CVAE edit and GAN colourway (guided / chroma transfer);
- `edit masked` / `colourway masked`: the same models with the mask net (`masker=`: recolour inside the mask,
  in OKLab, towards the catalogue's look of the colour, the model's rendition as a 25 % hint);
- `baseline`: a mean OKLab shift to the same catalogue colour inside a threshold mask (pixels far from the
  border's colour), no learning.
Reports per group: success (the evaluator names the target colour) as a share of the evaluator's recall of that
colour on real test photos, ΔE00 outside the product (pooled pixels of all results: median, p95; "outside" is
where the mask net's alpha on the original is under 0.5) and on skin and hair, luminance SSIM inside the mask
(and its contrast-structure part alone), the category still recognised as a share of the evaluator's accuracy on
the originals, and the time of one masked edit / colourway. Writes grids of 12 photos x 6 targets.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_recolour.py --cvae /tmp/b12/cvae/cvae.safetensors \\
        --evaluator /tmp/b12/cvae/evaluator.safetensors --gan /tmp/b12/gan/gan.safetensors \\
        --mask /tmp/m12/run1/mask.safetensors --out /tmp/bench_recolour
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

from ml import judge as ml_judge  # noqa: E402
from ml.colour import delta_e_rgb, oklab_to_srgb, srgb_to_oklab  # noqa: E402
from ml.edits import AttributeEditor  # noqa: E402
from ml.masker import ProductMasker  # noqa: E402
from ml.metrics import ssim_maps  # noqa: E402
from ml.variants import VariantGenerator  # noqa: E402

DATA = ROOT.parent / "shared/data/fashion-product-images"
CATEGORY, COLOUR = "articleType", "baseColour"
METHODS = ("edit now", "edit masked", "colourway now", "colourway masked", "baseline")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("cvae", "evaluator", "gan", "mask"):
        p.add_argument(f"--{name}", type=Path, required=True)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=Path("/tmp/bench_recolour"))
    p.add_argument("--packshots", type=int, default=40)
    p.add_argument("--worn", type=int, default=30)
    p.add_argument("--skip", type=int, default=0, help="skip the first N chosen photos (a fresh set to judge)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--grid-packshots", type=int, default=7, help="packshot rows of the grids")
    p.add_argument("--grid-worn", type=int, default=5, help="worn-item rows of the grids")
    return p.parse_args()


def baseline(image: Image.Image, target_lab: np.ndarray, tol: float = 0.08) -> Image.Image:
    """Mean OKLab shift to the target colour, inside pixels far from the border's median colour."""
    rgb = np.asarray(image.convert("RGB"), np.float64) / 255
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    mask = np.abs(rgb - np.median(border, axis=0)).max(axis=2) > tol
    if mask.sum() < 20:
        return image.convert("RGB")
    lab = srgb_to_oklab(rgb[mask])
    out = rgb.copy()
    out[mask] = oklab_to_srgb(lab + (target_lab - lab.mean(axis=0)))
    return Image.fromarray((out * 255 + 0.5).astype(np.uint8))


def choose(args, masker: ProductMasker, colours: list[str], categories: list[str]) -> list[dict]:
    """Test photos of known colour and category, packshots and worn items (the mask net finds a person)."""
    with open(args.data / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "test" and r["original"]
                and r[COLOUR] in colours and r[CATEGORY] in categories]
    rng = np.random.default_rng(args.seed)
    picked = {"packshot": [], "worn": []}
    for i in rng.permutation(len(rows)):
        row = rows[i]
        image = Image.open(args.data / row["original"]).convert("RGB")
        mask = masker.mask(image)
        group = "worn" if mask.person.mean() > 0.01 else "packshot"
        picked[group].append({**row, "image": image, "mask": mask, "group": group})
        if len(picked["packshot"]) >= args.packshots + args.skip and len(picked["worn"]) >= args.worn + args.skip:
            break
    return picked["packshot"][args.skip: args.skip + args.packshots] + picked["worn"][args.skip: args.skip + args.worn]


def make(models, photo: dict, targets: list[str]) -> dict[str, list[Image.Image]]:
    editor, gan, masker = models
    image, attrs = photo["image"], {CATEGORY: photo[CATEGORY], COLOUR: photo[COLOUR]}
    out, times = {}, {}
    out["edit now"] = editor.edit_many(image, attrs, [{COLOUR: t} for t in targets])
    out["edit masked"] = editor.edit_many(image, attrs, [{COLOUR: t} for t in targets], masker=masker)
    t = time.perf_counter()
    editor.edit(image, attrs, {COLOUR: targets[0]}, masker=masker)  # one request: mask, encode, decode, recolour
    times["edit masked"] = time.perf_counter() - t
    out["colourway now"] = [v.image for v in gan.colourways(image, attrs, colours=targets)]
    out["colourway masked"] = [v.image for v in gan.colourways(image, attrs, colours=targets, masker=masker)]
    t = time.perf_counter()
    gan.colourways(image, attrs, colours=targets[:1], masker=masker)  # one request, inversion included
    times["colourway masked"] = time.perf_counter() - t
    out["baseline"] = [baseline(image, masker.palette.lookup(t, photo[CATEGORY]).lab) for t in targets]
    return out, times


def figures(photo: dict, result: Image.Image) -> dict:
    """ΔE00 pixels outside the product and on the person, luminance SSIM (and cs) inside the product."""
    a = np.asarray(photo["image"], np.float64) / 255
    b = np.asarray(result.convert("RGB"), np.float64) / 255
    mask = photo["mask"]
    de = delta_e_rgb(a, b)
    lum, cs = ssim_maps(a, b)
    r = (a.shape[0] - lum.shape[0]) // 2
    inside = (mask.alpha > 0.5)[r: r + lum.shape[0], r: r + lum.shape[1]]
    return {"de_out": de[mask.alpha < 0.5][::7], "de_person": de[mask.person > 0.5][::3],
            "ssim": float((lum * cs)[inside].mean()) if inside.any() else 1.0,
            "cs": float(cs[inside].mean()) if inside.any() else 1.0}


def run(args) -> tuple[list[dict], dict, list]:
    judge, vocab = ml_judge.from_checkpoint(args.evaluator)
    colours, categories = vocab.allowed(COLOUR), vocab.allowed(CATEGORY)
    masker = ProductMasker.from_checkpoint(args.mask)
    models = (AttributeEditor.from_checkpoint(args.cvae, strength=1.3), VariantGenerator.from_checkpoint(args.gan),
              masker)
    photos = choose(args, masker, colours, categories)
    records, timing, grid = [], {m: [] for m in ("edit masked", "colourway masked")}, []
    for n, photo in enumerate(photos):
        targets = [c for c in colours if c != photo[COLOUR]]
        made, times = make(models, photo, targets)
        for m, s in times.items():
            timing[m].append(s)
        seen = ml_judge.predict(judge, [photo["image"]] + [im for m in METHODS for im in made[m]])
        col, cat = seen[COLOUR][0], seen[CATEGORY][0]
        own_cat = vocab.index(CATEGORY, photo[CATEGORY])
        k = 1
        for m in METHODS:
            for target, im in zip(targets, made[m]):
                records.append({"method": m, "group": photo["group"], "target": target,
                                "success": bool(col[k] == vocab.index(COLOUR, target)),
                                "category_kept": bool(cat[k] == own_cat), **figures(photo, im)})
                k += 1
        records.append({"method": "original", "group": photo["group"], "target": photo[COLOUR],
                        "success": bool(col[0] == vocab.index(COLOUR, photo[COLOUR])), "category_kept": bool(cat[0] == own_cat)})
        if n % 4 == 0:
            print(f"{n + 1}/{len(photos)} photos", flush=True)
        grid.append((photo, targets, made))
    return records, timing, grid


def recall_on_real(args, judge_path: Path) -> dict[str, float]:
    """The evaluator's recall of each colour on the real test thumbnails (the ceiling of edit success)."""
    judge, vocab = ml_judge.from_checkpoint(judge_path)
    data = np.load(args.data / "catalog_64x48.npz")
    with open(args.data / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    test = np.array([r["split"] == "test" for r in rows])
    seen = ml_judge.predict(judge, data["x"][test])[COLOUR][0]
    truth = np.array([vocab.index(COLOUR, r[COLOUR]) for r, t in zip(rows, test) if t])
    return {c: float((seen[truth == vocab.index(COLOUR, c)] == vocab.index(COLOUR, c)).mean())
            for c in vocab.allowed(COLOUR)}


def summarise(records: list[dict], recall: dict, timing: dict) -> dict:
    out = {"recall_on_real": recall}
    for group in ("packshot", "worn"):
        orig = [r for r in records if r["method"] == "original" and r["group"] == group]
        cat_ceiling = float(np.mean([r["category_kept"] for r in orig])) if orig else float("nan")
        res = {"photos": len(orig), "evaluator_on_originals": {
            "colour": float(np.mean([r["success"] for r in orig])), "category": cat_ceiling}}
        for m in METHODS:
            rs = [r for r in records if r["method"] == m and r["group"] == group]
            if not rs:
                continue
            per_target = {t: float(np.mean([r["success"] for r in rs if r["target"] == t])) for t in recall}
            de_out = np.concatenate([r["de_out"] for r in rs])
            de_person = np.concatenate([r["de_person"] for r in rs])
            res[m] = {"success": float(np.mean([r["success"] for r in rs])),
                      "success_of_ceiling": float(np.mean([per_target[t] / max(recall[t], 1e-6) for t in recall
                                                           if any(r["target"] == t for r in rs)])),
                      "per_target": per_target,
                      "de_out_median": float(np.median(de_out)), "de_out_p95": float(np.percentile(de_out, 95)),
                      "de_person_p95": float(np.percentile(de_person, 95)) if len(de_person) else None,
                      "ssim_inside": float(np.mean([r["ssim"] for r in rs])),
                      "cs_inside": float(np.mean([r["cs"] for r in rs])),
                      "category_kept_of_ceiling": float(np.mean([r["category_kept"] for r in rs])) / max(cat_ceiling, 1e-6)}
        out[group] = res
    out["seconds_per_image_p50_p95"] = {m: [float(np.percentile(v, q)) for q in (50, 95)] for m, v in timing.items() if v}
    return out


def draw(grid: list, method: str, path: Path, picks: list[int], cell=(90, 120)) -> None:
    """12 photos x 6 targets (the first six of the photo's other colours in a fixed order), source first."""
    w, h = cell
    sheet = Image.new("RGB", (w * 7, (h + 14) * len(picks)), "white")
    d = ImageDraw.Draw(sheet)
    for i, g in enumerate(picks):
        photo, targets, made = grid[g]
        y = i * (h + 14)
        d.text((2, y), f"{photo[CATEGORY][:12]} {photo[COLOUR]}", fill="black")
        sheet.paste(photo["image"].resize(cell), (0, y + 14))
        for j, (t, im) in enumerate(list(zip(targets, made[method]))[:6]):
            d.text(((j + 1) * w + 2, y), t, fill="black")
            sheet.paste(im.resize(cell, Image.Resampling.LANCZOS), ((j + 1) * w, y + 14))
    sheet.save(path)


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    args.out.mkdir(parents=True, exist_ok=True)
    records, timing, grid = run(args)
    summary = summarise(records, recall_on_real(args, args.evaluator), timing)
    summary["command"] = " ".join(sys.argv)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    packs = [i for i, g in enumerate(grid) if g[0]["group"] == "packshot"][:args.grid_packshots]
    worn = [i for i, g in enumerate(grid) if g[0]["group"] == "worn"][:args.grid_worn]
    for m in METHODS:
        draw(grid, m, args.out / f"grid_{m.replace(' ', '_')}.png", packs + worn)
    print(json.dumps({g: {m: {k: v for k, v in s.items() if k != "per_target"} if isinstance(s, dict) else s
                          for m, s in summary[g].items()} for g in ("packshot", "worn")}, indent=1))
    print(summary["seconds_per_image_p50_p95"])


if __name__ == "__main__":
    main()
