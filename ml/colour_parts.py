"""A product's colour parts: its pixels (through the mask) clustered in OKLab, one part per colour in light and shade.

A two-tone shoe has two parts (upper and trim), a watch its bracelet and its dial, a shirt with a print its cloth
and its print. Parts are what an admin chooses to recolour (`ml.exact_colour`); the *main* part is the one the
product's labelled colour names (or the largest), which is what changes when nothing is chosen. Deterministic:
the same photo and mask give the same parts in the same order (largest first), so a part index chosen on the
admin's page is the same part when the job runs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .colour import oklab_to_srgb, srgb_to_oklab, to_hex
from .masker import ProductMask
from .palette import Appearance
from .recolour import _same, kmeans, main_index

CLUSTERS = 6  # colours looked for in one product: cloth, print, trim, sole, ... (light and shade join later)
MIN_SHARE = 0.03  # a cluster smaller than this share of the product is noise, not a part
PART_LIGHTNESS = 0.35  # a white shirt's deep folds are its shade, not a grey part (recolouring the white alone
# and leaving its folds grey inverted the shading: contrast-structure 0.70 -> 0.78 on light-to-dark targets); a grey
# upper and its black sole (0.36 apart) stay two parts
SAMPLE = 6000  # product pixels clustered (a stride over the mask): enough for 3 % parts, fast at any size


@dataclass
class Part:
    """One colour part of a product: its index (largest first), typical colour, share of the product."""

    index: int
    colour: str  # "#rrggbb": the part's median colour, for the admin's swatch
    share: float  # of the product's pixels
    main: bool  # the part the labelled colour names (or the largest): the default to change
    centres: np.ndarray  # (m, 3) OKLab cluster centres of the part

    def as_dict(self) -> dict:
        return {"index": self.index, "colour": self.colour, "share": round(self.share, 3), "main": self.main}


def product_weight(mask: ProductMask) -> np.ndarray:
    """(H, W) how much each pixel is product (not backdrop, not skin or hair)."""
    return mask.alpha * (1 - np.clip(mask.person, 0, 1))


def product_sample(lab: np.ndarray, mask: ProductMask) -> np.ndarray:
    """(n, 3) OKLab pixels of the product (alpha > 0.5), every k-th, at most about SAMPLE."""
    inside = product_weight(mask) > 0.5
    return lab[inside][:: max(1, int(inside.sum()) // SAMPLE)]


def colour_parts(image: Image.Image, mask: ProductMask, source: Appearance | None = None,
                 lab: np.ndarray | None = None) -> list[Part]:
    """The product's colour parts, largest first; [] when the mask finds too little product (under 20 px).

    source: what the labelled colour looks like (`ml.palette`), to mark the main part; lab: the photo in OKLab
    (H, W, 3) when the caller has it already.
    """
    if lab is None:
        lab = srgb_to_oklab(np.asarray(image.convert("RGB"), np.float32) / 255)
    sample = product_sample(lab, mask)
    if len(sample) < 20:
        return []
    k = min(CLUSTERS, max(1, len(sample) // 50))
    centres, labels = kmeans(sample, k)
    share = np.bincount(labels, minlength=k) / len(labels)
    groups = _groups(centres, share)
    first = main_index(centres, share, source)
    parts = []
    for g in sorted(groups, key=lambda g: -share[g].sum()):
        pixels = sample[np.isin(labels, g)]
        parts.append(Part(len(parts), to_hex(oklab_to_srgb(np.median(pixels, axis=0))), float(share[g].sum()),
                          first in g, centres[g]))
    if not any(p.main for p in parts):
        parts[0].main = True
    return parts


def _groups(centres: np.ndarray, share: np.ndarray) -> list[list[int]]:
    """Clusters joined when they are the same colour in light and shade as a group's largest cluster (not
    transitively: a chain black - grey - skin is three parts, not one); groups under MIN_SHARE dropped."""
    same = _same(centres, centres, PART_LIGHTNESS)
    left, out = list(np.argsort(-share)), []
    while left:
        seed = left[0]
        group = [i for i in left if i == seed or same[i, seed]]
        out.append([int(i) for i in group])
        left = [i for i in left if i not in group]
    kept = [g for g in out if share[g].sum() >= MIN_SHARE]
    return kept or [list(range(len(centres)))]


def chosen(parts: list[Part], indices: list[int] | None) -> tuple[np.ndarray, np.ndarray]:
    """(centres of the chosen parts, centres of the others); None or [] chooses the main part.
    Raises IndexError naming the parts there are for an index that does not exist."""
    wanted = set(indices or [p.index for p in parts if p.main])
    missing = sorted(i for i in wanted if not 0 <= i < len(parts))
    if missing:
        raise IndexError(f"part {', '.join(map(str, missing))} does not exist: this product has "
                         f"{len(parts)} colour part{'s' if len(parts) != 1 else ''} (0 to {len(parts) - 1})")
    mine = [p.centres for p in parts if p.index in wanted]
    other = [p.centres for p in parts if p.index not in wanted]
    return np.concatenate(mine), (np.concatenate(other) if other else np.zeros((0, 3)))
