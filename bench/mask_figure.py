"""The figure `docs/images/mask_backdrops.png`: three hand-checked `test` photos (a bag, a shoe whose white sole
was corrected by hand, a worn T-shirt) on five backdrop classes; per case the composite, today's cut-out (the same
net, the fixed light-studio rule) and the new one (the chooser's pick), over magenta, with the IoU against the
truth and LOOK where the mask reports a problem.

    .venv/bin/python bench/mask_figure.py --weights /tmp/c22/eval5/mask_refined.safetensors \
        --out docs/images/mask_backdrops.png
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from bench_mask import DATA, ROOT, apply_corrections, catalogue_rows, checked_truths, iou, load, truth_of
from ml.mask_labels import composite_backdrops, place_on
from ml.masker import ProductMasker

IDS = ("25720", "39980", "3860")
SKIP = ("grey sweep", "wood")  # the figure's width: the table has every class
W, H = 113, 150


def label(im: Image.Image, text: str, colour) -> Image.Image:
    d = ImageDraw.Draw(im)
    d.rectangle([0, 0, W, 11], fill=(255, 255, 255))
    d.text((2, 0), text, fill=colour)
    return im


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", type=Path, required=True)
    p.add_argument("--out", type=Path, default=ROOT / "docs/images/mask_backdrops.png")
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    new = ProductMasker.from_checkpoint(args.weights)
    old = ProductMasker.from_checkpoint(args.weights)
    old.chooser = None
    rows = {r["id"]: r for r in catalogue_rows(DATA, "test")}
    checked = checked_truths(ROOT / "bench/labels/mask_truth.json")
    rng = np.random.default_rng(args.seed)
    lines = []
    for k, pid in enumerate(IDS):
        photo = load(DATA, [rows[pid]], None)[0]
        fg = apply_corrections(truth_of(photo, rows[pid]["baseColour"])[0], checked[pid])
        other_id = IDS[(k + 1) % len(IDS)]
        other = load(DATA, [rows[other_id]], None)[0]
        other_fg = truth_of(other, rows[other_id]["baseColour"])[0]
        cells = []
        for name, backdrop in composite_backdrops(*photo.shape[:2], rng, other, other_fg).items():
            if name.split(" (")[0] in SKIP:
                continue
            case = place_on(photo, fg, backdrop)
            cells.append(label(Image.fromarray(case).resize((W, H)), name.split(" (")[0], (0, 0, 255)))
            for masker, who in ((old, "today"), (new, "new")):
                mask = masker.mask(Image.fromarray(case))
                a = mask.foreground[..., None]
                cut = Image.fromarray((case * a + (1 - a) * np.array([255, 0, 255])).astype(np.uint8)).resize((W, H))
                look = " LOOK" if mask.problems else ""
                cells.append(label(cut, f"{who} {iou(mask.foreground, fg):.2f}{look}",
                                   (200, 0, 0) if look else (0, 0, 0)))
        lines.append(cells)
    sheet = Image.new("RGB", (max(len(c) for c in lines) * W, len(lines) * H), "white")
    for i, cells in enumerate(lines):
        for j, cell in enumerate(cells):
            sheet.paste(cell, (j * W, i * H))
    sheet.save(args.out, optimize=True)


if __name__ == "__main__":
    main()
