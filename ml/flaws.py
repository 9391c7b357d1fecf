"""Flaws of a generated image that need no model to see, measured against its source photo.

- `sharpness_ratio`: how much fine detail the result keeps (a low-resolution rendition stretched to the photo's
  size keeps a fifth of it or less; a recolour keeps nearly all of it).
- `changed_regions`: whether the visibly changed pixels form two differently coloured regions far apart (a shirt
  and the jeans below it, trousers and the shoes under them) rather than one product with its pattern.
- `banding`: blotches or posterised bands of colour where the original is smooth (a plain wallet, a grey tank top).

Both work on at most 400 px a side. Pure NumPy and Pillow.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .colour import delta_e_rgb, srgb_to_cielab, srgb_to_oklab
from .guided import box_mean

SIDE = 400


def _small(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize(size, Image.Resampling.BOX), np.float32) / 255


def _size(image: Image.Image) -> tuple[int, int]:
    scale = min(1.0, SIDE / max(image.size))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def _laplacian(g: np.ndarray) -> float:
    if min(g.shape) < 3:
        return 0.0
    return float(np.abs(4 * g[1:-1, 1:-1] - g[:-2, 1:-1] - g[2:, 1:-1] - g[1:-1, :-2] - g[1:-1, 2:]).mean())


def detail(image: Image.Image, coarse: int = 4) -> float:
    """Fine detail relative to coarse structure: the mean absolute Laplacian of the grey levels at the image's
    resolution over the same at 1/`coarse` of it. A colour change scales both alike (new contrast, same ratio);
    an image stretched from a low resolution has structure but little fine detail. 0 for a flat image."""
    size = _size(image)
    g = np.asarray(image.convert("L").resize(size, Image.Resampling.BOX), np.float32)
    small = (max(1, size[0] // coarse), max(1, size[1] // coarse))
    g_small = np.asarray(image.convert("L").resize(small, Image.Resampling.BOX), np.float32)
    structure = _laplacian(g_small)
    return _laplacian(g) / structure if structure > 1e-3 else 0.0


def sharpness_ratio(source: Image.Image, result: Image.Image) -> float:
    """The result's fine detail as a share of its source's (1.0: as sharp; a flat source counts as sharp)."""
    own = detail(source)
    return detail(result) / own if own > 1e-3 else 1.0


def changed_regions(source: Image.Image, result: Image.Image, visible: float = 5.0) -> dict:
    """The visibly changed pixels (ΔE00 > `visible`) split in two by their original colour (2-means in OKLab):
    `minor_share` (the smaller group's share of them), `colour_gap` (OKLab distance of the groups' mean colours)
    and `apart` (vertical distance of the groups' centres, as a share of the image's height). A patterned or
    two-tone product gives groups that interleave (`apart` near 0); two garments give groups one above the other."""
    size = _size(source)
    a, b = _small(source, size), _small(result.resize(source.size), size)
    changed = delta_e_rgb(a, b) > visible
    none = {"minor_share": 0.0, "colour_gap": 0.0, "apart": 0.0}
    if changed.sum() < 50:
        return none
    ys = np.nonzero(changed)[0].astype(np.float64)
    lab = srgb_to_oklab(a[changed].astype(np.float64))
    centres = lab[[int(np.argmin(lab[:, 0])), int(np.argmax(lab[:, 0]))]]
    for _ in range(12):
        group = np.argmin(((lab[:, None] - centres[None]) ** 2).sum(axis=2), axis=1)
        if group.min() == group.max():
            return none
        centres = np.stack([lab[group == k].mean(axis=0) for k in (0, 1)])
    share = float(min((group == 0).mean(), (group == 1).mean()))
    return {"minor_share": share, "colour_gap": float(np.linalg.norm(centres[0] - centres[1])),
            "apart": float(abs(ys[group == 0].mean() - ys[group == 1].mean()) / size[1])}


SMOOTH = 1.0  # CIELAB units: a pixel whose neighbourhood varies less than this in L*, a* and b* (std) is smooth
BAND_FLOOR = 0.25  # a*b* variance (CIELAB units squared) too small to see: the ratio's denominator is at least this


def banding(source: Image.Image, result: Image.Image, region: np.ndarray, radius: int = 2) -> float | None:
    """How much more the colour varies locally in the result than in its source where the source is smooth: the
    mean local a*b* variance ((2 radius + 1)^2 windows inside `region` (H, W, bool), where the source's local L*,
    a* and b* vary by less than SMOOTH) of the result over the source's (at least BAND_FLOOR). 1: as smooth as the
    source; bands and blotches raise it. None when the region has fewer than 50 smooth pixels."""
    size = _size(source)
    inside = np.asarray(Image.fromarray(region.astype(np.float32), "F").resize(size, Image.Resampling.BOX)) > 0.99
    inside &= box_mean(inside.astype(np.float32), radius) > 0.999  # whole windows in the region: no part edges
    before = _local_variance(srgb_to_cielab(_small(source, size).astype(np.float64)), radius)
    after = _local_variance(srgb_to_cielab(_small(result.resize(source.size), size).astype(np.float64)), radius)
    smooth = inside & (before.max(axis=2) < SMOOTH**2)
    if smooth.sum() < 50:
        return None
    ab_before = before[..., 1:][smooth].sum(axis=1).mean()
    return float(after[..., 1:][smooth].sum(axis=1).mean() / max(ab_before, BAND_FLOOR))


def _local_variance(lab: np.ndarray, radius: int) -> np.ndarray:
    """(H, W, 3) variance of each channel over (2 radius + 1)^2 windows."""
    mean = box_mean(lab, radius)
    return np.maximum(box_mean(lab * lab, radius) - mean * mean, 0.0)
