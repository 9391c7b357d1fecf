"""Learn where each category's product sits on a person (`ml.garment`) from split `train` of the real catalogue.

Photos: up to --per-category `train` originals of each articleType, in the order of a permutation drawn with
--seed; the worn ones (the mask finds a person) are counted. A garment pixel (the mask's product class) counts as
the product when it belongs to the product's labelled colour part (`ml.exact_colour.layers`, the default region
of a colourway) and near the colour's catalogue look, as another garment when far from that look. Writes the layout (JSON, the file the plugin ships) and a picture of
the maps (rows of categories, dark: another garment's place, light: the product's).

    OMP_NUM_THREADS=1 .venv/bin/python bench/learn_garment_layout.py --mask /tmp/c22/mask/mask.safetensors \\
        --out prodimg_plugin/bundled/garment_layout.json --picture /tmp/c22/layout.png
"""
from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ml.colour import srgb_to_oklab  # noqa: E402
from ml.exact_colour import layers  # noqa: E402
from ml.garment import LayoutLearner, is_worn  # noqa: E402
from ml.masker import ProductMasker  # noqa: E402
from ml.recolour import L_WEIGHT  # noqa: E402

DATA = ROOT.parent / "shared/data/fashion-product-images"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--mask", type=Path, required=True, help="a mask net trained on split train (bench_mask.py)")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--picture", type=Path, default=None)
    p.add_argument("--per-category", type=int, default=80)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def train_photos(data: Path, per_category: int, seed: int) -> list[dict]:
    with open(data / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if r["split"] == "train" and r["original"]]
    taken, out = defaultdict(int), []
    for i in np.random.default_rng(seed).permutation(len(rows)):
        row = rows[i]
        if taken[row["articleType"]] < per_category:
            taken[row["articleType"]] += 1
            out.append(row)
    return out


NEAR, FAR = 0.10, 0.16  # OKLab distance (L counted at L_WEIGHT) to the labelled colour's look: the product within
# NEAR (and in the main colour part), another garment beyond FAR; between, not counted. The colour parts alone join
# a white top and the grey shorts under it (one colour in light and shade), which would teach that shorts are tops


def by_colour(image: Image.Image, mask, source) -> tuple[np.ndarray, np.ndarray]:
    """(product, other) pixel masks (H, W) of a worn photo: its labelled colour's main part near the colour's look,
    and the pixels far from it."""
    lab = srgb_to_oklab(np.asarray(image, np.float32) / 255)
    d = lab - source.lab[None, None].astype(np.float32)
    distance = np.sqrt((L_WEIGHT * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)
    return layers(image, mask, source=source).region & (distance < NEAR), distance > FAR


def picture(layout, path: Path) -> None:
    """The maps side by side, the best-learned first, with 2 px between them."""
    garments = sorted(layout.garments.values(), key=lambda g: -g.photos)
    h, w = garments[0].prior.shape
    canvas = np.full((h * 4, len(garments) * (w * 4 + 2)), 128, np.uint8)
    for k, g in enumerate(garments):
        canvas[:, k * (w * 4 + 2): k * (w * 4 + 2) + w * 4] = np.kron(g.prior * 255, np.ones((4, 4))).astype(np.uint8)
    Image.fromarray(canvas).save(path)
    print("maps, left to right:", ", ".join(f"{g.category} ({g.photos})" for g in garments))


def main() -> None:
    args = parse_args()
    torch.set_num_threads(1)
    masker = ProductMasker.from_checkpoint(args.mask)
    learner = LayoutLearner()
    photos = train_photos(args.data, args.per_category, args.seed)
    for k, row in enumerate(photos):
        if k % 200 == 0:
            print(f"{k}/{len(photos)}", flush=True)
        image = Image.open(args.data / row["original"]).convert("RGB")
        mask = masker.mask(image)
        if mask.problems or not is_worn(mask):
            continue
        source = masker.palette.lookup(row["baseColour"], row["articleType"])
        if source is None:
            continue
        product, other = by_colour(image, mask, source)
        learner.add(row["articleType"], mask, product, other)
    layout = learner.layout()
    layout.save(args.out)
    print(f"{len(layout.garments)} categories: " + ", ".join(f"{g.category} {g.photos}"
                                                          for g in layout.garments.values()))
    if args.picture:
        picture(layout, args.picture)


if __name__ == "__main__":
    main()
