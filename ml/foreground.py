"""Foreground colour on a soft edge: what an edge pixel's product colour is, without the backdrop mixed in.

An edge pixel I is a mix of the product's colour F and the backdrop's B by the mask's alpha: I = a F + (1 - a) B.
Pasting I onto a new background (a cut-out) or recolouring it as if it were product keeps the old backdrop's
share in it: the light fringe of a cut-out on black, the pale line along a recoloured garment's edge. Here B is
the backdrop's colour *near that pixel* (a normalised box filter over confident backdrop pixels, so a shaded
sweep or a coloured paper are followed), F solves the compositing equation with that B where alpha is large
enough to make it well-posed, and tends to the nearby confident product colour where alpha is small. This is a
local closed-form stand-in for multi-level foreground estimation (Germer et al. 2020, `pymatting`'s
`estimate_foreground_ml`): linear in the photo's size, no new dependency; `bench/bench_colour_targets.py`
measures the fringe it leaves.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .backdrop import resize_array
from .colour import delta_e_rgb
from .guided import box_mean

SURE = 0.97  # alpha above which a pixel is product, below 1 - SURE backdrop
SOLVE_FROM = 0.25  # below this alpha the compositing equation amplifies noise: lean on the nearby product colour


def _band_box(alpha: np.ndarray, pad: int) -> tuple[slice, slice] | None:
    """The rows and columns holding the soft edge (0 < alpha < 1), padded; None when there is no soft edge."""
    soft = (alpha > 1 - SURE) & (alpha < SURE)
    rows, cols = np.flatnonzero(soft.any(axis=1)), np.flatnonzero(soft.any(axis=0))
    if len(rows) == 0:
        return None
    h, w = alpha.shape
    return (slice(max(0, rows[0] - pad), min(h, rows[-1] + pad + 1)),
            slice(max(0, cols[0] - pad), min(w, cols[-1] + pad + 1)))


def local_mean(rgb: np.ndarray, weight: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean colour (h, w, 3) of the pixels with `weight` (h, w) within r, how much weight was found (h, w))."""
    found = box_mean(weight, r)
    mean = box_mean(rgb * weight[..., None], r) / np.maximum(found, 1e-6)[..., None]
    return mean, found


def neighbour_colour(rgb: np.ndarray, sure: np.ndarray, r: int) -> np.ndarray:
    """The colour of `sure` pixels near each pixel: within r, else within 4r, else their overall mean."""
    near, found = local_mean(rgb, sure, r)
    far, found_far = local_mean(rgb, sure, 4 * r)
    overall = rgb[sure > 0.5].mean(axis=0) if (sure > 0.5).any() else rgb.reshape(-1, 3).mean(axis=0)
    out = np.where(found_far[..., None] > 1e-3, far, overall)
    return np.where(found[..., None] > 1e-3, near, out)


WORK_SIDE = 320  # the local colours are smooth: measured on a copy at most this many px on its short side


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray, radius: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(F, B): the product's and the backdrop's colour (h, w, 3) of a float photo rgb (h, w, 3) in [0, 1] with a
    soft mask alpha (h, w). Both equal rgb except on the soft edge, the only part worked on. The nearby product and
    backdrop colours are smooth, so they are found on a reduced copy (linear in the photo's size)."""
    alpha = np.clip(alpha, 0.0, 1.0).astype(np.float32)
    fore = rgb.astype(np.float32)
    back = fore.copy()
    scale = max(1, round(min(alpha.shape) / WORK_SIDE))
    r = radius or max(2, round(min(alpha.shape) / 80 / scale))
    box = _band_box(alpha, (4 * r + 1) * scale)
    if box is None:
        return fore, back
    sub, a = fore[box], alpha[box]
    ys, xs = np.nonzero((a > 1 - SURE) & (a < SURE))
    small_size = (max(1, sub.shape[1] // scale), max(1, sub.shape[0] // scale))
    small = resize_array(sub, small_size, Image.Resampling.BOX)
    small_a = resize_array(a, small_size, Image.Resampling.BOX)
    at = ((ys + 0.5) * small_size[1] / sub.shape[0] - 0.5, (xs + 0.5) * small_size[0] / sub.shape[1] - 0.5)
    b_soft = _bilinear(neighbour_colour(small, (small_a < 1 - SURE).astype(np.float32), r), *at)
    f_soft = _bilinear(neighbour_colour(small, (small_a > SURE).astype(np.float32), r), *at)
    am = a[ys, xs][:, None]
    solved = np.clip((sub[ys, xs] - (1 - am) * b_soft) / np.maximum(am, 1e-3), 0.0, 1.0)
    trust = np.clip((am - SOLVE_FROM) / (0.6 - SOLVE_FROM), 0.0, 1.0)
    y0, x0 = box[0].start, box[1].start
    fore[ys + y0, xs + x0] = trust * solved + (1 - trust) * f_soft
    back[ys + y0, xs + x0] = b_soft
    return fore, back


def _bilinear(grid: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """grid (h, w, c) read at fractional pixel positions y, x (n,) -> (n, c)."""
    h, w = grid.shape[:2]
    y, x = np.clip(y, 0, h - 1), np.clip(x, 0, w - 1)
    y0, x0 = np.minimum(y.astype(int), h - 2 if h > 1 else 0), np.minimum(x.astype(int), w - 2 if w > 1 else 0)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy, fx = (y - y0)[:, None], (x - x0)[:, None]
    top = (1 - fx) * grid[y0, x0] + fx * grid[y0, x1]
    return (1 - fy) * top + fy * ((1 - fx) * grid[y1, x0] + fx * grid[y1, x1])


def fringe(cut_rgb: np.ndarray, alpha: np.ndarray, band: int = 3, own: np.ndarray | None = None) -> float:
    """The fringe of a cut-out: mean ΔE00, over the `band` px inside its edge, between the cut-out (colour
    cut_rgb (h, w, 3) in [0, 1], alpha (h, w)) composited on black and on white and the product's own colour
    composited the same way: `own` (h, w, 3) when known, else the nearest sure product pixels' colour (which also
    counts the product's own edge detail: seams, shading). 0 for a clean edge."""
    inside = alpha > 0.5
    edge = inside & (box_mean((~inside).astype(np.float32), band) > 0)
    sure = (alpha > SURE) & (box_mean((alpha <= SURE).astype(np.float32), band) == 0)
    if not edge.any() or (own is None and not sure.any()):
        return 0.0
    own = own[edge] if own is not None else neighbour_colour(cut_rgb, sure.astype(np.float32), 2 * band + 2)[edge]
    a = alpha[edge][:, None]
    figures = [delta_e_rgb(a * cut_rgb[edge] + (1 - a) * bg, a * own + (1 - a) * bg).mean()
               for bg in (np.zeros(3), np.ones(3))]
    return float(np.mean(figures))
