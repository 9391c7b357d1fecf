"""Benchmark: colourways to exact colours (hex targets) vs today's pipeline (the nearest catalogue colour name),
packshots and worn items apart, on split `test` of the real catalogue; and the fringe of cut-outs before/after.

Photos: `test` originals (225x300) in the order of a permutation drawn with --seed (default 0), split into packshots
and worn items (the mask net finds a person), skipping photos whose mask reports a problem. Targets: 40 hex colours
drawn (same order) from the catalogue's own products: the main colour part of other `test` packshots, each with
that product's `baseColour` name. Per photo, six targets (the first 8 packshots and 4 worn items: the six of them
farthest apart, the grid's columns; the others: six drawn with seed + 1); each is made two ways:
- `exact` (`ml.exact_colour.recolour_to`): the product's main colour part to the hex colour;
- `today` (`ml.recolour.recolour_with`): the product recoloured to the catalogue's look of the target's colour
  name (what a shop can ask for today; without a GAN's 25 % hint, whose ablation is not part of this run).
Figures, per group and direction (light-to-dark: target L* at least 20 below the region's, dark-to-light: 20
above, hue: the rest):
- ΔE00 to target: between the hex colour and the changed region's shading-normalised colour (mean CIELAB of the
  main part's pixels, the same region for both methods, measured here);
- spill: ΔE00 between original and result where the mask's alpha is under 0.5 (pooled pixels: median, p95);
- SSIM inside: luminance SSIM inside the product, and its contrast-structure term alone (SSIM's luminance term
  falls by design when the mean lightness is meant to change); cs_region: that term inside the changed region only
  (the folds of the part that changed; inside the product, a part made lighter or darker than the parts next to it
  also changes the structure, by design);
- fringe of cut-outs (`ml.foreground.fringe`: ΔE00 of the edge on black and on white vs the product's own colour,
  mean over the 3 px band inside the edge): raw pixels, the old global-backdrop decontamination, the new local
  foreground estimate;
- one request's time on one core (mask, parts, recolour) at 225x300 and at 1500x2000 (the photo upscaled).
Writes summary.json, records.csv and a grid (12 photos x 6 targets, both ways) to --out.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_colour_targets.py --mask /tmp/c21/mask/mask.safetensors \\
        --out /tmp/bench_colour --grid docs/images/colour_targets.png
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
sys.path.insert(0, str(ROOT / "bench"))

from ml.backdrop import border_pixels  # noqa: E402
from ml.colour import delta_e2000, delta_e_rgb, oklab_to_srgb, parse_hex, srgb_to_cielab  # noqa: E402
from ml.colour_parts import colour_parts  # noqa: E402
from ml.cutout import cutout  # noqa: E402
from ml.exact_colour import layers, recolour_to  # noqa: E402
from ml.flaws import banding  # noqa: E402
from ml.garment import GarmentLayout  # noqa: E402
from ml.guided import box_mean  # noqa: E402
from ml.foreground import SURE, estimate_foreground, fringe, neighbour_colour  # noqa: E402
from ml.masker import ProductMasker  # noqa: E402
from ml.metrics import ssim_maps  # noqa: E402
from ml.recolour import recolour, recolour_with  # noqa: E402
from sheets import save_sheets  # noqa: E402

DATA = ROOT.parent / "shared/data/fashion-product-images"
CATEGORY, COLOUR = "articleType", "baseColour"
METHODS = ("exact", "today")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_args(p, "/tmp/bench_colour")
    p.add_argument("--grid", type=Path, default=None, help="also write the grid here (docs/images/...)")
    p.add_argument("--packshots", type=int, default=30)
    p.add_argument("--worn", type=int, default=20)
    p.add_argument("--targets", type=int, default=6, help="hex targets per photo")
    p.add_argument("--timing", type=int, default=10, help="photos timed at each size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gan", type=Path, default=None, help="a GAN trained on split train: adds the ablation (item 5)")
    p.add_argument("--cvae", type=Path, default=None, help="a CVAE trained on split train: adds its hint to the "
                   "ablation (item 5)")
    p.add_argument("--ablation", type=int, default=20, help="photos in the ablation")
    return p.parse_args()


def model_args(p: argparse.ArgumentParser, out: str) -> None:
    """The arguments the issue-22 benches share: the mask net, the garment layout, the catalogue, the output folder
    (default `out`)."""
    p.add_argument("--out", type=Path, default=Path(out))
    p.add_argument("--mask", type=Path, required=True, help="a mask net trained on split train (bench_mask.py)")
    p.add_argument("--layout", type=Path, default=None, help="where each category's product sits on a model "
                   "(learn_garment_layout.py): worn photos change only the named product")
    p.add_argument("--data", type=Path, default=DATA)


def models(args) -> tuple[ProductMasker, GarmentLayout | None, list[dict]]:
    """The mask net, the garment layout (None without --layout) and the `test` rows; torch on one thread."""
    torch.set_num_threads(1)
    layout = GarmentLayout.load(args.layout) if args.layout else None
    return ProductMasker.from_checkpoint(args.mask), layout, test_rows(args.data)


def test_rows(data: Path) -> list[dict]:
    with open(data / "labels.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["split"] == "test" and r["original"]]


def load(data: Path, row: dict, masker: ProductMasker) -> dict:
    image = Image.open(data / row["original"]).convert("RGB")
    mask = masker.mask(image)
    return {**row, "image": image, "mask": mask, "group": "worn" if mask.person.mean() > 0.01 else "packshot"}


def choose(args, masker, rows) -> tuple[list[dict], list[int]]:
    """Photos by a seeded permutation: packshots and worn items, masks they can trust; the rest of the order."""
    order = np.random.default_rng(args.seed).permutation(len(rows))
    picked, used = {"packshot": [], "worn": []}, []
    want = {"packshot": args.packshots, "worn": args.worn}
    for i in order:
        photo = load(args.data, rows[i], masker)
        used.append(int(i))
        if not photo["mask"].problems and len(picked[photo["group"]]) < want[photo["group"]]:
            picked[photo["group"]].append(photo)
        if all(len(picked[g]) >= want[g] for g in want):
            break
    return picked["packshot"] + picked["worn"], [int(i) for i in order if int(i) not in used]


def draw_targets(args, masker, rows, rest: list[int], n: int) -> list[dict]:
    """n hex colours of the catalogue's own products (their main colour part, at least 30 % of the product), with
    their colour names, in the seeded order: the first six of six different names (the grid's columns), then at
    most two per name (black, blue and white would otherwise fill the list)."""
    targets, seen = [], {}
    for i in rest[:600]:
        photo = load(args.data, rows[i], masker)
        name = photo[COLOUR]
        if photo["mask"].problems or photo["group"] != "packshot" or not masker.palette.knows(name) \
                or seen.get(name, 0) >= (1 if len(targets) < 6 else 2):
            continue
        parts = colour_parts(photo["image"], photo["mask"], masker.palette.lookup(name, photo[CATEGORY]))
        main = next((p for p in parts if p.main), None)
        if main is not None and main.share > 0.3:
            targets.append({"hex": main.colour, "name": name, "from": photo["id"]})
            seen[name] = seen.get(name, 0) + 1
        if len(targets) >= n:
            break
    return targets


def spread(targets: list[dict], n: int) -> list[dict]:
    """n of the targets far apart in CIELAB (farthest-point order from the first): the grid's columns."""
    lab = srgb_to_cielab(np.array([parse_hex(t["hex"]) for t in targets]) / 255)
    chosen = [0]
    while len(chosen) < min(n, len(targets)):
        d = np.min([delta_e2000(lab, lab[c]) for c in chosen], axis=0)
        chosen.append(int(np.argmax(d)))
    return [targets[i] for i in chosen]


def region_lab(image: Image.Image, region: np.ndarray) -> np.ndarray:
    return srgb_to_cielab(np.asarray(image.convert("RGB"), np.float64)[region] / 255).mean(axis=0)


def figures(photo: dict, result: Image.Image, region: np.ndarray, goal: np.ndarray) -> dict:
    a = np.asarray(photo["image"], np.float64) / 255
    b = np.asarray(result.convert("RGB"), np.float64) / 255
    alpha = photo["mask"].alpha
    lum, cs = ssim_maps(a, b)
    r = (a.shape[0] - lum.shape[0]) // 2
    inside = (alpha > 0.5)[r: r + lum.shape[0], r: r + lum.shape[1]]
    changed = region[r: r + lum.shape[0], r: r + lum.shape[1]]
    return {"de_target": float(delta_e2000(region_lab(result, region), goal)),
            "banding": banding(photo["image"], result, region),
            "spill": delta_e_rgb(a, b)[alpha < 0.5][::5],
            "ssim": float((lum * cs)[inside].mean()), "cs": float(cs[inside].mean()),
            "cs_region": float(cs[changed].mean()) if changed.any() else 1.0}


def direction(photo_lab: np.ndarray, goal: np.ndarray) -> str:
    d = goal[0] - photo_lab[0]
    return "dark-to-light" if d > 20 else "light-to-dark" if d < -20 else "hue"


def old_decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The cut-out's foreground before this change: one backdrop colour for the whole edge (the border's median)."""
    backdrop = np.median(border_pixels(rgb), axis=0)
    a = np.clip(alpha, 0.0, 1.0)[..., None]
    fore = (rgb - (1 - a) * backdrop) / np.maximum(a, 0.05)
    return np.where(a > 0.98, rgb, np.clip(fore, 0.0, 1.0))


PAPERS = {"white": (255, 255, 255), "green paper": (120, 200, 120), "dark grey": (70, 72, 75)}


def fringes(photo: dict) -> dict:
    """Fringe of cut-outs: raw pixels, the old decontamination, the new foreground estimate.

    "photo": the photo's own cut-out against its edge's neighbouring product colour (texture and seams count).
    Per paper: the product's edge (its outer 5 px) re-composited, with its own mask's alpha, from its smooth own
    colour (the nearest sure product pixels) onto that paper, then cut out again: the fringe is measured against
    that known colour, so only what the paper left in the edge counts."""
    rgb = np.asarray(photo["image"], np.float32) / 255
    alpha = photo["mask"].foreground
    cut = np.asarray(cutout(photo["image"], photo["mask"], "transparent"), np.float32) / 255
    out = {"photo raw": fringe(rgb, alpha), "photo old": fringe(old_decontaminate(rgb, alpha), alpha),
           "photo new": fringe(cut[..., :3], cut[..., 3])}
    own = neighbour_colour(rgb, (alpha > SURE).astype(np.float32), 4)
    deep = (alpha > SURE) & (box_mean((alpha <= SURE).astype(np.float32), 5) == 0)  # beyond the 3 px band
    a = alpha[..., None]
    for name, paper in PAPERS.items():
        composite = np.where(deep[..., None], rgb, a * own + (1 - a) * np.array(paper, np.float32) / 255)
        out[f"{name} raw"] = fringe(composite, alpha, own=own)
        out[f"{name} old"] = fringe(old_decontaminate(composite, alpha), alpha, own=own)
        out[f"{name} new"] = fringe(estimate_foreground(composite, alpha)[0], alpha, own=own)
    return out


def one_request(masker, image: Image.Image, rgb, source) -> float:
    """Mask, parts and recolour of one photo (the mask's memory of recent photos cleared first)."""
    masker._recent.clear()
    t = time.perf_counter()
    mask = masker.mask(image)
    recolour_to(image, mask, rgb, source=source)
    return time.perf_counter() - t


def run(args):
    masker, layout, rows = models(args)
    photos, rest = choose(args, masker, rows)
    targets = draw_targets(args, masker, rows, rest, 40)
    columns = spread(targets, 6)
    rng = np.random.default_rng(args.seed + 1)
    records, grid, fr, times = [], [], [], {"225x300": [], "1500x2000": []}
    packshots = [p for p in photos if p["group"] == "packshot"]
    in_grid = {id(p) for p in packshots[:8] + [p for p in photos if p["group"] == "worn"][:4]}
    for k, photo in enumerate(photos):
        source, garment = masker.palette.lookup(photo[COLOUR], photo[CATEGORY]), garment_for(layout, photo)
        lay = layers(photo["image"], photo["mask"], source=source, garment=garment)
        region = lay.region
        if region.sum() < 50:
            continue
        before = region_lab(photo["image"], region)
        mine = columns if id(photo) in in_grid else [targets[i] for i in rng.choice(len(targets), args.targets, replace=False)]
        row_images = {"exact": [], "today": []}
        for target in mine:
            goal = srgb_to_cielab(np.array(parse_hex(target["hex"])) / 255)
            made = {"exact": recolour_to(photo["image"], photo["mask"], parse_hex(target["hex"]), source=source,
                                         found=lay.parts, garment=garment)[0],
                    "today": recolour_with(masker, photo["image"], target["name"], photo[CATEGORY], photo[COLOUR],
                                           mask=photo["mask"], garment=garment)[0]}
            for method, result in made.items():
                records.append({"id": photo["id"], "group": photo["group"], "method": method, "target": target["hex"],
                                "name": target["name"], "direction": direction(before, goal),
                                **figures(photo, result, region, goal)})
                row_images[method].append(result)
        fr.append({"group": photo["group"], **fringes(photo)})
        if id(photo) in in_grid:
            grid.append((photo, row_images))
        if len(times["225x300"]) < args.timing:
            times["225x300"].append(one_request(masker, photo["image"], parse_hex(mine[0]["hex"]), source))
            big = photo["image"].resize((1500, 2000), Image.Resampling.BICUBIC)
            times["1500x2000"].append(one_request(masker, big, parse_hex(mine[0]["hex"]), source))
        print(f"{k + 1}/{len(photos)} {photo['id']} {photo['group']}", flush=True)
    if args.gan:
        more, rows = ablation(args, masker, photos, targets, layout)
        records += more
        save_sheets(rows, args.out, "ablation", per_sheet=6)
    save_parts_grid(photos, masker, columns[1:3], args.out / "parts.png")
    if args.grid:
        save_parts_grid(photos, masker, columns[1:3], args.grid.with_name(args.grid.stem + "_parts.png"))
    return records, fr, times, grid, columns


ABLATION = ("palette alone", "palette + GAN hint", "palette + CVAE hint")


def ablation(args, masker, photos: list[dict], targets: list[dict], layout) -> tuple[list[dict], list]:
    """Item 5: the palette recolour to a colour name alone vs with a model's rendition of the product in that colour
    as a 25 % hint (the GAN's colourway and the CVAE's colour edit with a mask, as they were before issue 22), on the
    same photos and names, by ΔE00 to the name's catalogue look on the category, SSIM inside and spill. Only names
    both models know. Returns the records and sheet rows (original, then the methods) to look at."""
    from ml.edits import AttributeEditor
    from ml.recolour import rendition_look
    from ml.variants import MASKED_INVERSION_STEPS, VariantGenerator

    gan = VariantGenerator.from_checkpoint(args.gan)
    editor = AttributeEditor.from_checkpoint(args.cvae) if args.cvae else None
    known = [t["name"] for t in targets if gan.spelling(COLOUR, t["name"])
             and (editor is None or t["name"] in editor.vocab.allowed(COLOUR))]
    out, rows = [], []
    for photo in photos[: args.ablation]:
        image, mask, category = photo["image"], photo["mask"], photo[CATEGORY]
        attrs, garment = {CATEGORY: category, COLOUR: photo[COLOUR]}, garment_for(layout, photo)
        source = masker.palette.lookup(photo[COLOUR], category)
        region = layers(image, mask, source=source, garment=garment).region
        names = list(dict.fromkeys(n for n in known if n != photo[COLOUR]))[:4]
        hints = {"palette alone": [None] * len(names),
                 "palette + GAN hint": gan.renditions(image, attrs, [gan.spelling(COLOUR, n) for n in names],
                                                      MASKED_INVERSION_STEPS)[1]}
        if editor is not None:
            low = editor.lowres(image, attrs, [{COLOUR: n} for n in names])
            hints["palette + CVAE hint"] = [np.clip(low[0] + editor.strength * (a - low[0]), 0, 1) for a in low[1]]
        for k, name in enumerate(names):
            goal = srgb_to_cielab(oklab_to_srgb(masker.palette.lookup(name, category).lab))
            made = []
            for method, renditions in hints.items():
                look = masker.palette.lookup(name, category)  # as colourways were made before issue 22:
                target = look if renditions[k] is None else look.mix(rendition_look(renditions[k], mask), 0.25)
                result = recolour(image, mask, target, source, garment=garment)[0]
                out.append({"id": photo["id"], "group": photo["group"], "method": method, "name": name,
                            "direction": direction(region_lab(image, region), goal),
                            **figures(photo, result, region, goal)})
                made.append(result)
            rows.append((f"{photo['id']} {category} {photo[COLOUR]} -> {name}: " + " | ".join(hints), [image] + made))
    return out, rows


def garment_for(layout, photo: dict):
    """The photo's category's place on a model, when a layout is given."""
    return layout.garment(photo[CATEGORY]) if layout is not None else None


def banding_summary(records: list[dict]) -> dict:
    """Median and p95 of the banding ratio (`ml.flaws.banding`) and the share of results over the issue's 1.5x,
    over the results whose changed region has smooth pixels."""
    ratios = [r["banding"] for r in records if r.get("banding") is not None]
    if not ratios:
        return {"banding_n": 0}
    return {"banding_n": len(ratios), "banding_median": float(np.median(ratios)),
            "banding_p95": float(np.percentile(ratios, 95)), "banding_over": float(np.mean(np.array(ratios) > 1.5))}


def summarise(records, fr, times) -> dict:
    out = {}
    for group in ("packshot", "worn", "all"):
        for method in METHODS + ABLATION:
            rs = [r for r in records if r["method"] == method and (group == "all" or r["group"] == group)]
            if not rs:
                continue
            spill = np.concatenate([r["spill"] for r in rs])
            entry = {"n": len(rs), "spill_median": float(np.median(spill)), "spill_p95": float(np.percentile(spill, 95)),
                     "ssim": float(np.mean([r["ssim"] for r in rs])), "cs": float(np.mean([r["cs"] for r in rs])),
                     **banding_summary(rs)}
            for d in ("all", "hue", "light-to-dark", "dark-to-light"):
                ds = [r for r in rs if d == "all" or r["direction"] == d]
                if ds:
                    de = [r["de_target"] for r in ds]
                    entry[d] = {"n": len(ds), "de_median": float(np.median(de)), "de_p95": float(np.percentile(de, 95)),
                                "ssim": float(np.mean([r["ssim"] for r in ds])),
                                "cs": float(np.mean([r["cs"] for r in ds])),
                                "cs_region": float(np.mean([r["cs_region"] for r in ds]))}
            out[f"{group}/{method}"] = entry
    for group in ("packshot", "worn", "all"):
        fs = [f for f in fr if group == "all" or f["group"] == group]
        keys = [k for k in fs[0] if k != "group"] if fs else []
        out[f"fringe/{group}"] = {k: float(np.mean([f[k] for f in fs])) for k in keys} | {"n": len(fs)}
    out["time"] = {size: {"p50": float(np.median(t)), "p95": float(np.percentile(t, 95)), "n": len(t)}
                   for size, t in times.items() if t}
    return out


def save_grid(grid, targets, path: Path, thumb=(75, 100)) -> None:
    """12 photos x (original + 6 targets), exact on the left half of each cell pair... one row per photo and
    method: original, then the six results; a swatch row of the targets on top."""
    cols = 1 + len(targets)
    w, h = thumb
    head = 18
    canvas = Image.new("RGB", (cols * w, head + 2 * len(grid) * h), "white")
    draw = ImageDraw.Draw(canvas)
    for j, t in enumerate(targets):
        draw.rectangle([(j + 1) * w + 2, 2, (j + 2) * w - 3, head - 3], fill=t["hex"])
    for i, (photo, made) in enumerate(grid):
        for m, method in enumerate(METHODS):
            y = head + (2 * i + m) * h
            canvas.paste(photo["image"].resize(thumb, Image.Resampling.LANCZOS), (0, y))
            draw.text((2, y + 2), method, fill=(200, 0, 0))
            for j, result in enumerate(made[method]):
                canvas.paste(result.resize(thumb, Image.Resampling.LANCZOS), ((j + 1) * w, y))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def save_parts_grid(photos: list[dict], masker, targets: list[dict], path: Path, thumb=(120, 160)) -> None:
    """6 multi-part products (two parts of at least 12 % each): the photo, its parts as numbered swatches with
    their share (what the admin's form shows), each of its first two parts alone changed to a target."""
    w, h = thumb
    rows = []
    for photo in photos:
        source = masker.palette.lookup(photo[COLOUR], photo[CATEGORY])
        parts = colour_parts(photo["image"], photo["mask"], source)
        if len([p for p in parts if p.share >= 0.12]) >= 2:
            made = [recolour_to(photo["image"], photo["mask"], parse_hex(targets[k]["hex"]), [k], source, parts)[0]
                    for k in (0, 1)]
            rows.append((photo, parts, made))
        if len(rows) == 6:
            break
    canvas = Image.new("RGB", (4 * w, len(rows) * h), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (photo, parts, made) in enumerate(rows):
        y = i * h
        canvas.paste(photo["image"].resize(thumb, Image.Resampling.LANCZOS), (0, y))
        for j, part in enumerate(parts[:6]):
            draw.rectangle([w + 6, y + 6 + j * 24, w + 26, y + 26 + j * 24], fill=part.colour, outline=(120, 120, 120))
            draw.text((w + 32, y + 10 + j * 24), f"{part.index}: {part.share:.0%}{' main' if part.main else ''}",
                      fill=(0, 0, 0))
        for k, result in enumerate(made):
            canvas.paste(result.resize(thumb, Image.Resampling.LANCZOS), ((2 + k) * w, y))
            draw.rectangle([(2 + k) * w + 4, y + 4, (2 + k) * w + 40, y + 16], fill=targets[k]["hex"])
            draw.text(((2 + k) * w + 44, y + 4), f"part {k}", fill=(200, 0, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


def main() -> None:
    args = parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    records, fr, times, grid, targets = run(args)
    summary = summarise(records, fr, times)
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    with open(args.out / "records.csv", "w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "group", "method", "target", "name", "direction", "de_target", "ssim", "cs", "cs_region",
                      "banding"])
        for r in records:
            out.writerow([r.get(k, "") for k in ("id", "group", "method", "target", "name", "direction")]
                         + [round(r[k], 3) for k in ("de_target", "ssim", "cs", "cs_region")]
                         + [round(r["banding"], 3) if r["banding"] is not None else ""])
    save_grid(grid, targets, args.out / "grid.png")
    if args.grid:
        save_grid(grid, targets, args.grid)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
