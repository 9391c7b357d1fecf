"""Recolour a product's chosen parts to an exact colour (a hex colour, a swatch), and measure how close it came.

The target is a colour a shop sells (`#1F3A5F`), not a catalogue look. What "the product is that colour" means
is measured (`delta_e_target`): ΔE00 between the target and the shading-normalised colour of the changed region,
i.e. the region's mean a*b* and its lightness with the original's shading removed (each pixel's L* minus its
deviation from the region's mean in the original, whose mean over the region is the mean L*).

1. Edge pixels are first split into the product's and the backdrop's colour (`ml.foreground`), so the recolour
   works on the product's own colour and the edge is composited back over the local backdrop: no pale line or
   fringe of the old backdrop along the edge.
2. The chosen parts (`ml.colour_parts`; default: the main colour) get the target's chroma and a lightness at the
   target's level, each pixel keeping its own deviation (folds, weave, print edges; scaled down only as far as
   needed not to clip at black or white), as in `ml.recolour`.
3. The target is corrected a few times on a sample of the region until the measured colour matches it (shading,
   out-of-gamut clipping and soft membership pull the mean away from the aim otherwise).
4. Outside the changed pixels the photo is returned bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .colour import cielab_to_oklab, delta_e2000, oklab_to_srgb, srgb_to_cielab, srgb_to_oklab
from .colour_parts import Part, chosen, colour_parts, product_weight
from .foreground import SURE, estimate_foreground
from .garment import Garment, confined
from .guided import box_mean
from .masker import ProductMask
from .palette import Appearance
from .recolour import L_WEIGHT

CORRECTIONS = 6  # aim corrections; each costs one pass over a sample of the region
CLOSE_ENOUGH = 0.2  # ΔE00 at which the corrections stop
DECISIVE = 0.5  # membership between 0.25 and 0.75 is stretched to 0..1
MEASURED = 20000  # region pixels the corrections simulate
MEASURED_MAX = 250_000  # region pixels averaged for delta_e_target (a stride beyond: the mean moves < 0.05 ΔE00)


@dataclass
class Layers:
    """A photo split for recolouring: its product's colour and the local backdrop's on the soft edge, and how much
    each pixel belongs to the parts to change."""

    photo: np.ndarray  # (H, W, 3) uint8, as given
    fg: np.ndarray  # (H, W) foreground alpha (product and person)
    fore: np.ndarray  # (H, W, 3) float: the foreground's own colour (`ml.foreground`)
    back: np.ndarray  # (H, W, 3) float: the backdrop's colour near the edge
    lab: np.ndarray  # (H, W, 3) OKLab of fore
    weight: np.ndarray  # (H, W) how much each pixel is one of the chosen parts
    parts: list[Part]  # all the product's parts
    problems: list[str] = field(default_factory=list)  # why the change may reach another garment (`ml.garment`)

    @property
    def region(self) -> np.ndarray:
        """(H, W) the pixels that change: mostly the chosen parts, mostly foreground. Measured there."""
        return (self.weight > 0.5) & (self.fg > 0.5)


def layers(image: Image.Image, mask: ProductMask, parts: list[int] | None = None, source: Appearance | None = None,
           found: list[Part] | None = None, garment: Garment | None = None) -> Layers:
    """The photo's `Layers` for changing `parts` (default: the main colour); IndexError for a part not there.
    garment: where the product is worn (`ml.garment`): on a worn photo only the named product's pieces change."""
    photo = np.asarray(image.convert("RGB"))
    fg = np.clip(mask.foreground, 0, 1).astype(np.float32)
    fore, back = estimate_foreground(photo.astype(np.float32) / 255, fg)
    touched = fg > 1e-3
    lab = np.zeros(fore.shape, np.float32)
    lab[touched] = srgb_to_oklab(fore[touched], np.float32)  # only where the product can change
    found = found if found is not None else colour_parts(image, mask, source, lab)
    weight = np.zeros(fg.shape, np.float32)
    if found:
        mine, other = chosen(found, parts)
        share = np.clip(product_weight(mask) / np.maximum(fg, 1e-6), 0, 1)  # the product's share of the foreground
        weight[touched] = decisive(part_membership(lab[touched], mine, other) * share[touched])
        weight = _edge_follows_inside(weight, fg)
    weight, problems = confined(weight, mask, lab, garment)
    return Layers(photo, fg, fore, back, lab, weight, found, problems)


def _edge_follows_inside(weight: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """Pixels along the product's outline belong to the part they border: an outline pixel half mixed with a white
    backdrop looks like a paler part (red mixed with white is pink), and would otherwise keep its old colour as a
    thin line around the recoloured part."""
    r = max(2, round(min(fg.shape) / 150))
    outline = (fg > 1e-3) & (box_mean((fg < 0.5).astype(np.float32), r) > 0)
    if not outline.any():
        return weight
    sure = ((fg > SURE) & ~outline).astype(np.float32)
    near = box_mean(weight * sure, r) / np.maximum(box_mean(sure, r), 1e-6)
    out = weight.copy()
    out[outline] = np.maximum(weight[outline], near[outline] * np.minimum(fg[outline] / SURE, 1.0))
    return out


def part_membership(lab: np.ndarray, mine: np.ndarray, other: np.ndarray, softness: float = 0.02) -> np.ndarray:
    """How much each pixel (n, 3) belongs to the chosen parts' centres rather than the others' (as
    `ml.recolour.membership`, in float32 and one centre at a time: a 3-megapixel photo in a fraction of a second)."""
    if len(other) == 0:
        return np.ones(len(lab), np.float32)
    lab = lab.astype(np.float32)

    def nearest(centres: np.ndarray) -> np.ndarray:
        d = np.full(len(lab), np.inf, np.float32)
        for c in centres.astype(np.float32):
            np.minimum(d, (L_WEIGHT * (lab[:, 0] - c[0])) ** 2 + (lab[:, 1] - c[1]) ** 2 + (lab[:, 2] - c[2]) ** 2,
                       out=d)
        return np.sqrt(d)

    z = np.clip((nearest(other) - nearest(mine)) / softness, -30, 30)
    return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)


def decisive(weight: np.ndarray) -> np.ndarray:
    """A pixel mostly of the chosen parts (and mostly product rather than skin) is all of it: no mottled, half-changed
    print dots or beige suede half taken for skin; still smooth across a part's edge."""
    t = np.clip((weight - 0.5) / DECISIVE + 0.5, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def recolour_to(image: Image.Image, mask: ProductMask, rgb, parts: list[int] | None = None,
                source: Appearance | None = None, found: list[Part] | None = None,
                garment: Garment | None = None) -> tuple[Image.Image, dict]:
    """The photo with the chosen parts (default: the main colour) in the colour rgb (r, g, b in 0-255).

    Returns (image, figures): delta_e_target (None when nothing could change), changed_share (of the product),
    parts (the indices changed), garment_problems (`ml.garment`: another garment of the colour may have changed,
    or none of the product did). found: the product's parts when already computed; garment: where the product is
    worn. Raises IndexError for a part that does not exist.
    """
    lay = layers(image, mask, parts, source, found, garment)
    region, w, lab = lay.region, lay.weight, lay.lab
    if region.sum() < 20:
        return Image.fromarray(lay.photo), {"delta_e_target": None, "changed_share": 0.0,
                                            "parts": _indices(lay.parts, parts), "garment_problems": lay.problems}
    goal = srgb_to_cielab(np.asarray(rgb, np.float64) / 255)
    light = Lightness.of(lab[region][:, 0], w[region])
    aim = _aim(lab, w, lay.fg, lay.back, region, light, goal)
    changed = w > 1e-3
    new = _shift(lab[changed], aim, light)
    mixed = lab[changed] + w[changed][:, None] * (new - lab[changed])
    arr = lay.photo.copy()  # exactly the original where nothing changes
    new_rgb = _composite(oklab_to_srgb(mixed, np.float32), lay.fg[changed], lay.back[changed])
    arr[changed] = (np.clip(new_rgb, 0, 1) * 255 + 0.5).astype(np.uint8)
    figures = {"delta_e_target": measure(arr, region, goal), "parts": _indices(lay.parts, parts),
               "changed_share": float(region.sum() / max((product_weight(mask) > 0.5).sum(), 1)),
               "garment_problems": lay.problems}
    return Image.fromarray(arr), figures


def _indices(found: list[Part], parts: list[int] | None) -> list[int]:
    return sorted(parts) if parts else [p.index for p in found if p.main]


@dataclass
class Lightness:
    """The changed region's lightness: its mean, and how far its shading reaches below and above it (1st and 99th
    percentile of the deviation)."""

    mean: float
    low: float
    high: float

    @classmethod
    def of(cls, l: np.ndarray, weight: np.ndarray) -> "Lightness":
        mean = float(np.average(l, weights=weight))
        low, high = np.percentile(l - mean, [1, 99])
        return cls(mean, float(low), float(high))

    def gain(self, target: float) -> float:
        """How much of the shading fits around the target's lightness without clipping at black or white: all of it
        for most colours, less for a near-black or near-white target (clipped folds would be flat patches)."""
        room = min((target - FLOOR) / max(-self.low, 1e-3), (CEILING - target) / max(self.high, 1e-3))
        return float(np.clip(room, MIN_GAIN, 1.0))


FLOOR, CEILING = 0.03, 0.99  # OKLab L the shading may reach
MIN_GAIN = 0.3  # folds keep at least this share of their depth


def _shift(lab: np.ndarray, aim: np.ndarray, light: Lightness) -> np.ndarray:
    """Pixels (n, 3) moved to the aim (3,): each keeps its lightness deviation from the region's mean (scaled down
    only where it would clip), takes the aim's chroma scaled with its lightness, as shade does."""
    new_l = np.clip(aim[0] + (lab[:, 0] - light.mean) * light.gain(float(aim[0])), 0.0, 1.0)
    shade = np.clip((new_l + 0.05) / (aim[0] + 0.05), 0.6, 1.3)
    return np.stack([new_l, aim[1] * shade, aim[2] * shade], axis=-1)


def _composite(fore: np.ndarray, fg: np.ndarray, back: np.ndarray) -> np.ndarray:
    """Soft-edge pixels: the new product colour over the local backdrop; sure product pixels: the colour itself."""
    a = fg[:, None]
    return np.where(a < SURE, a * fore + (1 - a) * back, fore)


def _aim(lab, w, fg, back, region, light: Lightness, goal: np.ndarray) -> np.ndarray:
    """The OKLab colour to shift to so that the region's measured colour is `goal` (CIELAB (3,))."""
    idx = np.flatnonzero(region.reshape(-1))
    idx = idx[:: max(1, len(idx) // MEASURED)]
    s_lab, s_w = lab.reshape(-1, 3)[idx], w.reshape(-1)[idx][:, None]
    s_fg, s_back = fg.reshape(-1)[idx], back.reshape(-1, 3)[idx]
    aim_cie = goal.copy()
    for _ in range(CORRECTIONS):
        aim_cie[0] = max(aim_cie[0], 0.0)  # no blacker than black: a target out of reach stays missed, and flagged
        aim = cielab_to_oklab(aim_cie)
        mixed = s_lab + s_w * (_shift(s_lab, aim, light) - s_lab)
        got = srgb_to_cielab(_composite(oklab_to_srgb(mixed), s_fg, s_back)).mean(axis=0)
        if delta_e2000(got, goal) < CLOSE_ENOUGH:
            break
        aim_cie = aim_cie + (goal - got)
    return cielab_to_oklab(aim_cie)


def measure(result: np.ndarray, region: np.ndarray, goal: np.ndarray) -> float:
    """ΔE00 between the goal (CIELAB (3,)) and the region's shading-normalised colour in `result` (uint8 RGB):
    its mean a*, b* and mean L* (the original's shading removed pixel by pixel averages out to the mean), over
    every pixel of the region up to MEASURED_MAX of them, else an even stride through it."""
    pixels = result[region]
    got = srgb_to_cielab(pixels[:: max(1, len(pixels) // MEASURED_MAX)].astype(np.float64) / 255).mean(axis=0)
    return round(float(delta_e2000(got, goal)), 3)


def region_colour(image: Image.Image, weight: np.ndarray) -> tuple[int, int, int]:
    """The shading-normalised colour of the pixels with weight > 0.5 (mean CIELAB), as (r, g, b) in 0-255:
    the colour a swatch rectangle stands for."""
    rgb = np.asarray(image.convert("RGB"), np.float64) / 255
    mean = srgb_to_cielab(rgb[weight > 0.5]).mean(axis=0)
    return tuple(int(c) for c in np.clip(oklab_to_srgb(cielab_to_oklab(mean)) * 255 + 0.5, 0, 255))

