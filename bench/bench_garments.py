"""Benchmark (issue 22, item 4): one garment, not the outfit. On worn `test` photos, does a colourway change only
the product the category names, or other garments of its colour too? Before (every garment of the colour) vs after
(`ml.garment`: only the pieces where the category's product sits on a model), both colour paths.

Photos: the first --worn `test` originals that the mask finds worn, with no mask problem, in the order of a
permutation drawn with --seed (`bench_colour_targets.choose`). Target per photo: of four contrasting colours
(green, red, navy, yellow), the one farthest (ΔE00) from the product's main part; exact path: that hex colour on the
main part (`ml.exact_colour.recolour_to`); named path: the catalogue's look of the matching colour name
(`ml.recolour.recolour_with`). Writes sheets (original, exact before, exact after, named before, named after; the
caption: id, category, the garment problems) and records.json to --out; the count is made by looking at the sheets.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_garments.py --mask /tmp/c22/mask/mask.safetensors \\
        --layout prodimg_plugin/bundled/garment_layout.json --out /tmp/c22/garments --seed 22
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_colour_targets import CATEGORY, COLOUR, choose, garment_for, model_args, models  # noqa: E402
from ml.colour import delta_e2000, parse_hex, srgb_to_cielab  # noqa: E402
from ml.colour_parts import colour_parts  # noqa: E402
from ml.exact_colour import recolour_to  # noqa: E402
from ml.recolour import recolour_with  # noqa: E402
from sheets import save_sheets  # noqa: E402

CONTRASTS = {"#2e8b57": "Green", "#c0392b": "Red", "#1f3a5f": "Navy Blue", "#f1c40f": "Yellow"}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_args(p, "/tmp/c22/garments")
    p.add_argument("--worn", type=int, default=30)
    p.add_argument("--seed", type=int, default=22)
    args = p.parse_args()
    args.packshots = 0
    return args


def contrast(photo: dict, masker) -> str:
    """The contrasting hex colour farthest from the product's main part."""
    parts = colour_parts(photo["image"], photo["mask"], masker.palette.lookup(photo[COLOUR], photo[CATEGORY]))
    main = next((p for p in parts if p.main), None)
    if main is None:
        return next(iter(CONTRASTS))
    own = srgb_to_cielab(np.array(parse_hex(main.colour)) / 255)
    return max(CONTRASTS, key=lambda h: float(delta_e2000(srgb_to_cielab(np.array(parse_hex(h)) / 255), own)))


def main() -> None:
    args = parse_args()
    masker, layout, rows = models(args)
    photos, _ = choose(args, masker, rows)
    rows, records = [], []
    for photo in photos:
        image, mask, category = photo["image"], photo["mask"], photo[CATEGORY]
        source = masker.palette.lookup(photo[COLOUR], category)
        garment, hex_colour = garment_for(layout, photo), contrast(photo, masker)
        made, problems = [], {}
        for name, g in (("before", None), ("after", garment)):
            out, figures = recolour_to(image, mask, parse_hex(hex_colour), source=source, garment=g)
            named, named_figures, _ = recolour_with(masker, image, CONTRASTS[hex_colour], category, photo[COLOUR],
                                                    mask=mask, garment=g)
            made += [out, named]
            problems[name] = figures["garment_problems"] + named_figures["garment_problems"]
        records.append({"id": photo["id"], "category": category, "colour": photo[COLOUR], "target": hex_colour,
                        "layout": garment is not None, "problems": problems["after"]})
        flag = " NEEDS A LOOK" if problems["after"] else "" if garment else " (no layout)"
        rows.append((f"{photo['id']} {category} {photo[COLOUR]} -> {hex_colour}{flag}",
                     [image, made[0], made[2], made[1], made[3]]))
        print(f"{photo['id']} {category}{flag}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "records.json").write_text(json.dumps(records, indent=1))
    for path in save_sheets(rows, args.out, "worn"):
        print(path)


if __name__ == "__main__":
    main()
