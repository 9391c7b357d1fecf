"""The backdrop of a product photo: a smooth colour surface, and how much each pixel belongs to it.

A studio backdrop is near-uniform but rarely flat: grey sweeps have vignettes and spotlights, and the product
casts soft shadows on them. `find_backdrop` fits a smooth surface (normalised convolution on a coarse grid)
to backdrop pixels reached from the border through smooth, near-neutral pixels, and gives each pixel an alpha
from its colour distance to that surface. The alpha is kept only in the region grown from the border, which
never crosses the product's outline (a sharp step in brightness, with hysteresis so a faint stretch of a clear
outline counts) nor squeezes through a gap in it: a white shirt on a grey sweep keeps its shaded folds, while
a soft shadow (a ramp, not a step) is grown into and kept as a shadow. Backdrop enclosed by the product (the
inside of a bangle) is added where it is a flat patch of exactly the backdrop's colour, as flat as the
backdrop as a whole. `ml.enhance` turns that into a white background; `ml.quality` uses it to find the
product.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from .guided import box_mean

LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # Rec. 601 luminance weights


@dataclass
class BackdropConfig:
    min_luma: float = 150.0  # darker backdrops are a style choice (black studio), not a defect
    max_chroma: float = 28.0  # a clearly coloured backdrop (pink paper) is kept
    min_border_share: float = 0.35  # share of the border that must look like backdrop (models cut at edges)
    chroma_tol: tuple[float, float] = (7.0, 18.0)  # colour distance: fully backdrop .. surely product
    darker_tol: tuple[float, float] = (0.88, 0.62)  # luminance ratio to backdrop: shadows down to 0.62 fade out
    brighter_tol: tuple[float, float] = (1.04, 1.09)  # white garments on grey keep their folds
    fit_max_ratio: float = 1.2  # a spotlight may be this much brighter than the border...
    fit_max_step: float = 0.03  # ...if reached without a step over 3 % between pixels 1 or 2 apart
    edge_step: float = 0.03  # an outline: a step of 3 % of the backdrop's brightness (or 6x its noise)...
    edge_sharpness: float = 0.5  # ...made within 2 px, not a ramp (a soft shadow's edge is a ramp)
    edge_weak: float = 0.4  # a fainter step counts where it continues a clear outline (hysteresis)
    edge_noise: float = 4.5  # outline threshold in units of the backdrop's noise (noisy JPEG backdrops); half
    # of it for the faint stretches
    gap_radius: int = 2  # the backdrop is not grown through gaps in an outline narrower than 2r+1 px
    hole_tol: float = 0.03  # enclosed backdrop must match the surface's brightness this closely
    hole_seed: float = 1 / 110  # a seed of enclosed backdrop survives an erosion by this share of the short side
    # (2 px on a 225x300 photo): the gap between a model's arm and body is often under 10 px wide (it was 1/40)


def border_pixels(arr: np.ndarray, width: int = 2) -> np.ndarray:
    """The outer ring of an (h, w, c) array as (n, c)."""
    w = max(1, min(width, arr.shape[0] // 4, arr.shape[1] // 4))
    parts = [arr[:w], arr[-w:], arr[w:-w, :w], arr[w:-w, -w:]]
    return np.concatenate([p.reshape(-1, arr.shape[2]) for p in parts])


def border_mask(h: int, w: int, width: int = 2) -> np.ndarray:
    """(h, w) bool mask of the outer ring, `width` pixels wide."""
    m = np.zeros((h, w), dtype=bool)
    m[:width], m[-width:], m[:, :width], m[:, -width:] = True, True, True, True
    return m


def luma(arr: np.ndarray) -> np.ndarray:
    """(h, w, 3) -> (h, w) float32 luminance (Rec. 601, 0-255)."""
    return arr.astype(np.float32) @ LUMA


def channel_max(x: np.ndarray) -> np.ndarray:
    """(..., 3) -> (...) largest channel; 40x faster than x.max(axis=-1), which numpy runs pixel by pixel."""
    return np.maximum(np.maximum(x[..., 0], x[..., 1]), x[..., 2])


def block_mean(arr: np.ndarray, k: int) -> np.ndarray:
    """(h, w, c) -> (h // k, w // k, c): mean over k x k blocks (the last partial block is dropped)."""
    h, w = arr.shape[0] // k * k, arr.shape[1] // k * k
    return arr[:h, :w].reshape(h // k, k, w // k, k, -1).mean(axis=(1, 3), dtype=np.float32)


def working_copy(image: Image.Image, side: int) -> np.ndarray:
    """Float32 (h, w, 3) array of the image, downscaled so its longer side is at most `side`."""
    scale = side / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float32)


def smooth_surface(arr: np.ndarray, mask: np.ndarray, grid: int = 64) -> np.ndarray:
    """Smooth colour surface (h, w, 3) through arr[mask] (normalised convolution at two scales).

    Follows a studio vignette or spotlight; under the product, where there are no samples, the coarse
    scale interpolates from the backdrop around it. Computed on a grid of about `grid` cells a side.
    """
    h, w = mask.shape
    small = (max(1, round(w * grid / max(h, w))), max(1, round(h * grid / max(h, w))))  # (W, H)
    m = resize_array(mask.astype(np.float32), small, Image.Resampling.BOX)[..., None]  # (H, W, 1)
    am = resize_array(arr * mask[..., None], small, Image.Resampling.BOX)  # (H, W, 3)
    fallback = np.median(arr[mask], axis=0) if mask.any() else np.median(arr.reshape(-1, 3), axis=0)
    out = np.broadcast_to(fallback, am.shape).astype(np.float32)
    for r in (max(small) // 4, max(small) // 16):  # coarse fills the holes, fine follows the light
        weight = _box2(m, max(r, 1))
        share = np.clip(weight / 0.25, 0.0, 1.0)
        out = share * _box2(am, max(r, 1)) / np.maximum(weight, 1e-6) + (1 - share) * out
    return np.clip(resize_array(out, (w, h), Image.Resampling.BILINEAR), 1.0, 255.0)


def _box2(x: np.ndarray, r: int) -> np.ndarray:
    """Box filter applied twice (a triangle kernel): smooth enough to show no blocky steps."""
    return box_mean(box_mean(x, r), r).astype(np.float32)


def _smooth_pixels(arr: np.ndarray, surface: np.ndarray, max_step: float) -> np.ndarray:
    """Pixels whose luminance differs from the pixels 1 and 2 away by less than max_step of the backdrop's
    (the 2-pixel step catches soft, JPEG-blurred product edges)."""
    lum = luma(arr) / np.maximum(luma(surface), 1.0)
    step = np.zeros_like(lum)
    for d in (1, 2):
        dy, dx = np.abs(lum[d:] - lum[:-d]), np.abs(lum[:, d:] - lum[:, :-d])
        step[d:], step[:-d] = np.maximum(step[d:], dy), np.maximum(step[:-d], dy)
        step[:, d:], step[:, :-d] = np.maximum(step[:, d:], dx), np.maximum(step[:, :-d], dx)
    return step < max_step


def _ratio_chroma(arr: np.ndarray, surface: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Luminance ratio to the backdrop (h, w), and colour distance from the backdrop at that brightness."""
    ratio = luma(arr) / np.maximum(luma(surface), 1.0)
    return ratio, channel_max(np.abs(arr - surface * ratio[..., None]))


def backdrop_alpha(arr: np.ndarray, surface: np.ndarray, cfg: BackdropConfig) -> np.ndarray:
    """How much each pixel looks like backdrop (h, w) in [0, 1], from colour alone.

    Chroma distance is measured against the surface scaled to the pixel's brightness, so a neutral shadow
    on a neutral backdrop has no chroma distance; its darkness is judged by the luminance ratio.
    """
    ratio, chroma = _ratio_chroma(arr, surface)  # (h, w), (h, w)
    a_chroma = _ramp(chroma, *cfg.chroma_tol)
    a_dark = _ramp(-ratio, -cfg.darker_tol[0], -cfg.darker_tol[1])
    a_bright = _ramp(ratio, *cfg.brighter_tol)
    return a_chroma * a_dark * a_bright


def _ramp(x: np.ndarray, full: float, none: float) -> np.ndarray:
    """1 where x <= full, 0 where x >= none, smoothstep between."""
    t = np.clip((x - full) / (none - full), 0.0, 1.0)
    return (1.0 - t * t * (3 - 2 * t)).astype(np.float32)


def _spread_rows(region: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Every horizontal run of `allowed` pixels that touches `region` joins it."""
    h, w = allowed.shape
    padded = np.pad(allowed, ((0, 0), (1, 0)))
    starts = padded[:, 1:] & ~padded[:, :-1]
    run_id = np.cumsum(starts.ravel()).reshape(h, w)
    seeded = np.zeros(run_id.max(initial=0) + 1, dtype=bool)
    seeded[run_id[region & allowed]] = True
    return allowed & seeded[run_id]


def connected_from(seed: np.ndarray, allowed: np.ndarray, max_rounds: int = 64) -> np.ndarray:
    """Pixels of `allowed` 4-connected to `seed` (flood fill by alternating row and column runs)."""
    region = seed & allowed
    for _ in range(max_rounds):
        before = int(region.sum())
        region = _spread_rows(region, allowed)
        region = _spread_rows(region.T, allowed.T).T
        if int(region.sum()) == before:
            break
    return region


def _erode(mask: np.ndarray, r: int) -> np.ndarray:
    return ~dilate(~mask, r)


def _enclosed_backdrop(arr: np.ndarray, surface: np.ndarray, cfg: BackdropConfig, noise: float) -> np.ndarray:
    """Seeds for backdrop enclosed by the product (inside a bangle, between arm and body): patches of
    exactly the backdrop's colour and as flat as its noise (a grey T-shirt on a grey sweep has folds and
    weave), wide enough to survive an erosion, so a stray pixel is never one."""
    ratio, chroma = _ratio_chroma(arr, surface)
    lum = luma(arr)
    r = max(2, min(arr.shape[:2]) // 60)
    local_std = np.sqrt(np.maximum(box_mean(lum * lum, r) - box_mean(lum, r) ** 2, 0.0))
    strict = (chroma < cfg.chroma_tol[0]) & (np.abs(ratio - 1.0) < cfg.hole_tol) & (local_std < 1.5 * noise + 0.5)
    return _erode(strict, max(2, round(min(arr.shape[:2]) * cfg.hole_seed)))


def noise_level(arr: np.ndarray, surface: np.ndarray, mask: np.ndarray) -> float:
    """Robust std of arr - surface over mask, for the noisiest channel."""
    return _robust_spread(arr[mask] - surface[mask] if mask.any() else np.zeros((1, 3)))


def _robust_spread(resid: np.ndarray) -> float:
    """Robust std (MAD x 1.4826) of (n, 3) values, for the noisiest channel."""
    return float((1.4826 * np.median(np.abs(resid - np.median(resid, axis=0)), axis=0)).max())


@dataclass
class Backdrop:
    colour: np.ndarray  # (3,) median border colour
    surface: np.ndarray  # (h, w, 3) smooth backdrop model at working size
    alpha: np.ndarray  # (h, w) backdrop share, zero outside the region connected to the border
    border_share: float  # share of border pixels that look like backdrop
    noise: float  # robust std of the backdrop's colour (its noisiest channel)


def fit_surface(arr: np.ndarray, ring: np.ndarray, cfg: BackdropConfig) -> np.ndarray:
    """Smooth backdrop surface (h, w, 3) fitted to backdrop reached from the border through smooth,
    near-neutral pixels, allowed to be much brighter than the border (a spotlight) but not darker (a shadow
    would be fitted away). Fitted at about 128 px a side: the surface is smooth, and this is 4x cheaper."""
    k = min(arr.shape[:2]) // 112
    if k >= 2:
        h, w = arr.shape[:2]
        small = block_mean(arr, k)  # (h // k, w // k, 3)
        sh, sw = small.shape[:2]
        return resize_array(fit_surface(small, border_mask(sh, sw, max(1, min(sh, sw) // 50)), cfg), (w, h))
    colour = np.median(arr[ring], axis=0)
    surface = np.broadcast_to(colour, arr.shape).astype(np.float32)
    ceiling = cfg.fit_max_ratio * float(colour @ LUMA)  # relative to the border: the cap cannot creep up
    lum = luma(arr)
    for _ in range(2):
        ratio, chroma = _ratio_chroma(arr, surface)
        ok = (chroma < cfg.chroma_tol[1]) & (ratio > cfg.darker_tol[1]) & (lum < ceiling)
        ok &= _smooth_pixels(arr, surface, cfg.fit_max_step)
        fit = connected_from(ring & ok, ok) & (ratio > cfg.darker_tol[0]) & (chroma < cfg.chroma_tol[0])
        if fit.sum() < 50:
            break
        surface = smooth_surface(arr, fit)
    return surface


def outline(arr: np.ndarray, surface: np.ndarray, cfg: BackdropConfig, noise: float) -> np.ndarray:
    """(h, w) bool: sharp steps in brightness relative to the backdrop, the outline of a product.

    A step counts when it is large (over `edge_step` of the backdrop's brightness and `edge_noise` times its
    noise, measured on a 3x3 mean) and sharp: most of the change over 6 px happens within 2 px. A soft
    shadow's edge is a ramp and is no outline, so the shadow is grown into and kept as a shadow on white;
    a white shirt on a grey sweep has a visible edge, so it is not flooded even where its folds are grey.
    """
    lum_b = np.maximum(luma(surface), 1.0)
    rel = box_mean(luma(arr) / lum_b, 1)  # (h, w), 1.0 on the backdrop
    near, far = np.zeros_like(rel), np.zeros_like(rel)
    for out, d in ((near, 1), (far, 3)):
        dy, dx = np.abs(rel[2 * d:] - rel[:-2 * d]), np.abs(rel[:, 2 * d:] - rel[:, :-2 * d])
        out[d:-d] = np.maximum(out[d:-d], dy)
        out[:, d:-d] = np.maximum(out[:, d:-d], dx)
    spread = np.sqrt(2.0) * noise / 3.0 / float(np.median(lum_b))  # std of `near` on the backdrop (3x3 means)
    strong_at = max(cfg.edge_step, cfg.edge_noise * spread)
    weak_at = max(cfg.edge_weak * strong_at, 0.5 * cfg.edge_noise * spread)  # never down in the noise
    sharp = near >= cfg.edge_sharpness * far
    strong, weak = sharp & (near > strong_at), sharp & (near > weak_at)
    return connected_from(strong, weak | strong)  # hysteresis: a faint stretch of a clear outline counts


def grow_backdrop(seed: np.ndarray, allowed: np.ndarray, gap: int) -> np.ndarray:
    """Pixels of `allowed` connected to `seed`, never far through a neck narrower than 2 * gap + 1 px: the fill
    runs on `allowed` eroded by `gap`, then grows 2 * gap steps on inside `allowed` (an opening by
    reconstruction, with a little slack)."""
    core = _erode(allowed, gap) if gap > 0 else allowed
    region = connected_from(seed & core, core)
    for _ in range(2 * gap):  # then a few steps on: pockets beside a thin product (a chain) are reached too
        region = dilate(region, 1) & allowed
    return region


def enclosed_holes(seeds: np.ndarray, passable: np.ndarray, resid: np.ndarray, noise: float, gap: int,
                   max_holes: int = 8) -> np.ndarray:
    """Backdrop enclosed by the product (inside a bangle, between arm and body), grown from `seeds` through
    `passable` (almost exactly backdrop colour), one hole at a time.

    A hole is kept only if, as a whole, it is about as flat as the backdrop (robust spread of `resid`, the
    difference from the backdrop surface, within 2.5x the backdrop's noise): a patch of a grey T-shirt that
    has the sweep's tone carries the T-shirt's folds, and stays a T-shirt.
    """
    holes, remaining = np.zeros_like(seeds), seeds.copy()
    for _ in range(max_holes):
        first = np.flatnonzero(remaining)[:1]
        if first.size == 0:
            break
        one = np.zeros_like(seeds)
        one.flat[first] = True
        region = grow_backdrop(one, passable, gap) | one
        remaining &= ~region
        if _robust_spread(resid[region]) <= 2.5 * noise + 0.5:
            holes |= region
    return holes


def find_backdrop(arr: np.ndarray, cfg: BackdropConfig) -> Backdrop:
    """Model the backdrop of a float (h, w, 3) array: a smooth surface, then the region grown from the border.

    The region grows through backdrop-coloured pixels but not across the product's outline (nor through a
    gap in it); the outline's own pixels then take the alpha their colour gives them, which feathers the
    product's edge into the backdrop instead of cutting it.
    """
    h, w, _ = arr.shape
    ring = border_mask(h, w, max(1, min(h, w) // 50))
    colour = np.median(arr[ring], axis=0)
    surface = fit_surface(arr, ring, cfg)
    alpha = backdrop_alpha(arr, surface, cfg)
    noise = noise_level(arr, surface, ring & (alpha >= 0.99))
    allowed = (alpha > 0.25) & ~outline(arr, surface, cfg, noise)
    gap = max(1, round(cfg.gap_radius * min(h, w) / 225)) if cfg.gap_radius else 0  # catalogue photos: 225 wide
    outer = grow_backdrop(ring & (alpha >= 0.5), allowed, gap)
    seeds = _enclosed_backdrop(arr, surface, cfg, noise) & ~dilate(outer, 2 * gap + 2)
    holes = enclosed_holes(seeds, allowed & (alpha >= 0.9), arr - surface, noise, gap)
    noise = noise_level(arr, surface, outer & (alpha >= 0.99))
    alpha = alpha * dilate(outer | holes, 1)
    return Backdrop(colour, surface, alpha, float((alpha[ring] >= 0.5).mean()), noise)


def is_light(bd: Backdrop, cfg: BackdropConfig) -> bool:
    """A near-uniform, light, near-neutral backdrop: the kind a shop wants pure white."""
    chroma = float(bd.colour.max() - bd.colour.min())
    lum = float(bd.colour @ LUMA)
    return lum >= cfg.min_luma and chroma <= cfg.max_chroma and bd.border_share >= cfg.min_border_share


def resize_array(x: np.ndarray, size: tuple[int, int], resample=Image.Resampling.BILINEAR) -> np.ndarray:
    """Resize a float32 (h, w) or (h, w, c) array to size (W, H), channel by channel."""
    if x.shape[1] == size[0] and x.shape[0] == size[1]:
        return x.astype(np.float32)
    chans = x[..., None] if x.ndim == 2 else x
    out = [np.asarray(Image.fromarray(np.ascontiguousarray(chans[..., i], dtype=np.float32), "F").resize(size, resample))
           for i in range(chans.shape[2])]
    return np.stack(out, axis=-1) if x.ndim == 3 else out[0]


def dilate(mask: np.ndarray, r: int = 1) -> np.ndarray:
    """Binary dilation by the 4-neighbourhood, r times."""
    for _ in range(r):
        p = np.pad(mask, 1)
        mask = p[1:-1, 1:-1] | p[:-2, 1:-1] | p[2:, 1:-1] | p[1:-1, :-2] | p[1:-1, 2:]
    return mask


def mask_box(mask: np.ndarray, min_share: float = 0.005) -> tuple[int, int, int, int] | None:
    """Bounding box (x0, y0, x1, y1) of a (h, w) mask; rows/columns holding only a speck are ignored."""
    h, w = mask.shape
    rows = np.nonzero(mask.sum(axis=1) >= max(2, min_share * w))[0]
    cols = np.nonzero(mask.sum(axis=0) >= max(2, min_share * h))[0]
    if len(rows) == 0 or len(cols) == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1
