"""The 40-photo approval (issue 22): 40 split-`test` photos, four hex colours each, through the colourway path a job
runs (`prodimg_plugin.generation.variants.exact_colourways`: the mask, the colour parts, `ml.exact_colour.recolour_to`
on the main part, on a worn photo only the garment the category names), then looked at by a person as an admin.

Photos: the `test` originals in the order of a permutation drawn with --seed (2240, chosen before any photo was
seen): the first 20 packshots and the first 20 worn items (the mask finds a person), whatever their mask says (a
photo whose mask reports a problem stays in, and its results carry the flag); when fewer than --multi of the 40 are
multi-part (two colour parts of at least 12 % each), the last single-part ones of each group are replaced by the
next multi-part ones in the same order. Targets: 40 hex colours of other `test` packshots' main colour parts
(`bench_colour_targets.draw_targets`), four per photo drawn with seed + 1. Writes sheets (a row per photo: the
original and its four results; the caption: number, id, group, category, parts, and what would make a job flag the
result "needs a look": the mask's or the garment's problems, ΔE00 to the target over the limit), results.json, and
with --small a small sheet of all 40 for docs/images/. The labels (approve, or reject with a reason, per photo) are
a person's, in bench/labels/approval_40.json.

    OMP_NUM_THREADS=1 .venv/bin/python bench/bench_approval.py --mask /tmp/c22/mask/mask.safetensors \\
        --layout prodimg_plugin/bundled/garment_layout.json --out /tmp/c22/approval \\
        --small docs/images/approval_40.png
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_colour_targets import CATEGORY, COLOUR, draw_targets, load, model_args, models  # noqa: E402
from ml.colour import parse_hex  # noqa: E402
from ml.colour_parts import colour_parts  # noqa: E402
from ml.exact_colour import recolour_to  # noqa: E402
from ml.garment import is_worn  # noqa: E402
from prodimg_plugin.conf import DEFAULTS  # noqa: E402
from sheets import save_sheets, sheet  # noqa: E402

MULTI_SHARE = 0.12  # a part at least this share of the product counts towards "multi-part"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    model_args(p, "/tmp/c22/approval")
    p.add_argument("--small", type=Path, default=None, help="also write a small sheet of all 40 here")
    p.add_argument("--per-group", type=int, default=20)
    p.add_argument("--multi", type=int, default=8)
    p.add_argument("--seed", type=int, default=2240)
    p.add_argument("--same-as", type=Path, default=None,
                   help="an earlier run's results.json: the same photos, groups and targets, through this mask")
    return p.parse_args()


def pick(args, masker, rows) -> tuple[list[dict], list[int]]:
    """20 packshots and 20 worn items in the seeded order, with at least --multi multi-part products; the rest of the
    order (for the targets)."""
    order = [int(i) for i in np.random.default_rng(args.seed).permutation(len(rows))]
    groups = {"packshot": [], "worn": []}
    spare = {"packshot": [], "worn": []}  # multi-part photos beyond the first 20 of their group
    used = 0
    for used, i in enumerate(order, start=1):
        photo = load(args.data, rows[i], masker)
        photo["group"] = "worn" if is_worn(photo["mask"]) else "packshot"
        source = masker.palette.lookup(photo[COLOUR], photo[CATEGORY])
        photo["parts"] = colour_parts(photo["image"], photo["mask"], source)
        photo["multi"] = sum(p.share >= MULTI_SHARE for p in photo["parts"]) >= 2
        group = groups[photo["group"]]
        (group if len(group) < args.per_group else spare[photo["group"]]).append(photo)
        full = all(len(g) >= args.per_group for g in groups.values())
        if full and (_multi(groups) >= args.multi or sum(p["multi"] for s in spare.values() for p in s) >= args.multi):
            break
    for name in ("packshot", "worn"):  # replace the last single-part photos by the next multi-part ones
        while _multi(groups) < args.multi and any(p["multi"] for p in spare[name]):
            single = max(k for k, p in enumerate(groups[name]) if not p["multi"])
            groups[name][single] = spare[name].pop(next(k for k, p in enumerate(spare[name]) if p["multi"]))
    return groups["packshot"] + groups["worn"], order[used:]


def same_photos(args, masker, rows) -> tuple[list[dict], list[list[str]]]:
    """The photos (in their earlier group) and hex targets of an earlier run, masked and parted afresh."""
    by_id = {r["id"]: r for r in rows}
    photos, targets = [], []
    for record in json.loads(args.same_as.read_text()):
        photo = load(args.data, by_id[record["id"]], masker)
        photo["group"] = record["group"]
        source = masker.palette.lookup(photo[COLOUR], photo[CATEGORY])
        photo["parts"] = colour_parts(photo["image"], photo["mask"], source)
        photo["multi"] = sum(p.share >= MULTI_SHARE for p in photo["parts"]) >= 2
        photos.append(photo)
        targets.append(record["targets"])
    return photos, targets


def _multi(groups: dict) -> int:
    return sum(p["multi"] for g in groups.values() for p in g)


def flags(mask, figures: dict) -> list[str]:
    """What would make the job flag this result "needs a look" (besides the evaluator-free degenerate checks)."""
    limit = DEFAULTS["CONFIDENCE"]["max_delta_e_target"]
    out = [f"mask: {p}" for p in mask.problems] + [f"garment: {p}" for p in figures["garment_problems"]]
    delta = figures["delta_e_target"]
    if delta is None or delta > limit:
        out.append(f"ΔE00 {delta}")
    return out


def main() -> None:
    args = parse_args()
    masker, layout, rows = models(args)
    if args.same_as:
        photos, hexes = same_photos(args, masker, rows)
    else:
        photos, rest = pick(args, masker, rows)
        targets = draw_targets(args, masker, rows, rest, 40)
        rng = np.random.default_rng(args.seed + 1)
        hexes = [[targets[i]["hex"] for i in rng.choice(len(targets), 4, replace=False)] for _ in photos]
    records, sheet_rows = [], []
    for n, (photo, mine) in enumerate(zip(photos, hexes)):
        source = masker.palette.lookup(photo[COLOUR], photo[CATEGORY])
        garment = layout.garment(photo[CATEGORY]) if layout else None
        made, notes = [], []
        for target in mine:
            out, figures = recolour_to(photo["image"], photo["mask"], parse_hex(target), None, source,
                                       photo["parts"], garment)
            made.append(out)
            notes.append(flags(photo["mask"], figures))
        records.append({"n": n, "id": photo["id"], "group": photo["group"], "category": photo[CATEGORY],
                        "colour": photo[COLOUR], "multi": photo["multi"], "targets": list(mine),
                        "parts": [p.as_dict() for p in photo["parts"]], "flags": notes})
        flagged = sum(bool(x) for x in notes)
        caption = (f"{n} {photo['id']} {photo['group']} {photo[CATEGORY]} {photo[COLOUR]} parts {len(photo['parts'])}"
                   f"{' multi' if photo['multi'] else ''} -> {' '.join(mine)}"
                   f"{f' FLAGGED {flagged}/4' if flagged else ''}")
        sheet_rows.append((caption, [photo["image"]] + made))
        print(caption, flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(records, indent=1))
    for path in save_sheets(sheet_rows, args.out, "approval"):
        print(path)
    if args.small:
        save_small(sheet_rows, args.small)


def save_small(sheet_rows, path: Path) -> None:
    """All 40 rows, two photos side by side, small thumbnails, 256 colours: a few hundred KB for docs/images/."""
    half = (len(sheet_rows) + 1) // 2
    left = sheet([(c.split(" -> ")[0], im) for c, im in sheet_rows[:half]], thumb=(60, 80), caption=11)
    right = sheet([(c.split(" -> ")[0], im) for c, im in sheet_rows[half:]], thumb=(60, 80), caption=11)
    both = Image.new("RGB", (left.width + right.width + 8, max(left.height, right.height)), "white")
    both.paste(left, (0, 0))
    both.paste(right, (left.width + 8, 0))
    path.parent.mkdir(parents=True, exist_ok=True)
    both.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


if __name__ == "__main__":
    main()
