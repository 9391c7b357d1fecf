"""A product photo's quality score (0-100), made of parts a shop owner understands, with the reasons in words.

Each part scores 0-100 and keeps its raw measurement, so the admin can show "sharpness 41 (Laplacian var 62)"
and the enhancement step can be judged by the same yardstick before and after. Measurements are taken on a
copy downscaled to `work_side`, so a camera-size photo costs about as much as a thumbnail and sharpness is
judged at a fixed viewing scale.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from PIL import Image

from .backdrop import LUMA, BackdropConfig, border_mask, find_backdrop, luma, mask_box, working_copy
from .enhance import to_srgb

PARTS = ("resolution", "sharpness", "exposure", "background", "coverage", "centring")


@dataclass
class QualityConfig:
    target_size: tuple[int, int] = (600, 800)  # (w, h) the storefront shows; smaller photos get upscaled
    work_side: int = 384  # measure at most this large: fast, and sharpness at one viewing scale
    weights: dict[str, float] = field(default_factory=lambda: {
        "resolution": 1.0, "sharpness": 1.5, "exposure": 1.0,  # blur is the defect shoppers notice most
        "background": 1.0, "coverage": 0.75, "centring": 0.75,
    })
    blurry_below: float = 60.0  # sharpness score under this gives the reason "blurry"
    min_resolution: float = 0.75  # under 75 % of the target size the upscaling shows: "too small"
    sharpness_ref: float = 150.0  # Laplacian variance scoring 63: catalogue photos measure 400-3600 (5-95 %),
    # the same blurred by a 1.5 px Gaussian 13-64
    dark_p99: float = 200.0  # a photo whose brightest 1 % stays below this never reaches white: "dark"
    dark_mean: float = 80.0  # ...or whose mean luminance is this low
    clip_share: float = 0.08  # share of product pixels clipped to black or white that starts to cost
    grey_distance: float = 12.0  # a uniform border this far below white reads as "grey background"
    busy_spread: float = 12.0  # robust border spread (MAD x 1.48) above this reads as "busy background"
    coverage_range: tuple[float, float] = (0.3, 0.92)  # product box share of the frame that scores 100
    off_centre: float = 0.08  # box centre this far (share of the frame) from the middle: "off-centre"
    backdrop: BackdropConfig = field(default_factory=BackdropConfig)  # how the product is told from backdrop


@dataclass
class Part:
    score: float  # 0-100
    measured: dict[str, float]  # the raw measurement behind the score


@dataclass
class QualityReport:
    score: float  # 0-100, weighted mean of the parts
    parts: dict[str, Part]
    reasons: list[str]  # shop words: "dark", "blurry", "off-centre", "grey background", "too small", ...

    def to_dict(self) -> dict:
        """JSON-able form for storing next to a GeneratedImage."""
        return asdict(self)


def _clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))


def _part(score: float, **measured: float) -> Part:
    return Part(round(100.0 * _clip01(score), 1), {k: round(float(v), 4) for k, v in measured.items()})


def resolution_part(size: tuple[int, int], cfg: QualityConfig) -> Part:
    ratio = min(size[0] / cfg.target_size[0], size[1] / cfg.target_size[1])
    return _part(ratio, width=size[0], height=size[1], ratio=ratio)


def laplacian_variance(lum: np.ndarray) -> float:
    """Variance of the 4-neighbour Laplacian of a (h, w) luminance array (0-255)."""
    if min(lum.shape) < 3:
        return 0.0
    lap = lum[:-2, 1:-1] + lum[2:, 1:-1] + lum[1:-1, :-2] + lum[1:-1, 2:] - 4 * lum[1:-1, 1:-1]
    return float(lap.var())


def sharpness_part(lum: np.ndarray, box: tuple[int, int, int, int] | None, cfg: QualityConfig) -> Part:
    """Laplacian variance inside the product's box (a white backdrop would dilute it)."""
    if box is not None:
        x0, y0, x1, y1 = box
        lum = lum[max(0, y0 - 2): y1 + 2, max(0, x0 - 2): x1 + 2]
    var = laplacian_variance(lum)
    return _part(1.0 - np.exp(-var / cfg.sharpness_ref), laplacian_var=var)


def exposure_part(lum: np.ndarray, product: np.ndarray, cfg: QualityConfig) -> Part:
    """Dark (no white point, low mean) and clipped shadows / highlights on the product."""
    p99, mean = float(np.percentile(lum, 99)), float(lum.mean())
    on_product = lum[product] if product.sum() >= 20 else lum.ravel()
    shadows, highlights = float((on_product <= 4).mean()), float((on_product >= 251).mean())
    dark = 0.6 * _clip01((cfg.dark_p99 - p99) / 100.0) + 0.4 * _clip01((cfg.dark_mean - mean) / cfg.dark_mean)
    clipped = _clip01((shadows - cfg.clip_share) * 4) + _clip01((highlights - cfg.clip_share) * 4)
    return _part(1.0 - dark - 0.5 * clipped, mean_luma=mean, p99_luma=p99,
                 clipped_shadows=shadows, clipped_highlights=highlights)


def background_part(arr: np.ndarray, cfg: QualityConfig) -> Part:
    """Border pixels: how far from white, how uneven, how coloured."""
    h, w, _ = arr.shape
    ring = arr[border_mask(h, w, max(1, min(h, w) // 50))]  # (n, 3)
    colour = np.median(ring, axis=0)
    std = float(ring.std(axis=0).mean())
    # robust spread: a product or model touching the edge covers part of the border without making it busy
    spread = float(1.4826 * np.median(np.abs(ring - colour), axis=0).mean())
    distance = 255.0 - float(colour @ LUMA)
    chroma = float(np.ptp(colour))
    score = 1.0 - 0.6 * _clip01(distance / 60.0) - 0.3 * _clip01(spread / 30.0) - 0.3 * _clip01(chroma / 40.0)
    return _part(score, distance_from_white=distance, border_std=std, border_spread=spread, chroma=chroma)


def framing_parts(box, shape: tuple[int, int], cfg: QualityConfig) -> tuple[Part, Part]:
    """Coverage (box share of the frame) and centring (box centre's distance from the middle)."""
    if box is None:
        return _part(0.0, coverage=0.0), _part(0.0, offset=1.0)
    h, w = shape
    x0, y0, x1, y1 = box
    coverage = (x1 - x0) * (y1 - y0) / float(h * w)
    lo, hi = cfg.coverage_range
    cov_score = coverage / lo if coverage < lo else 1.0 - 0.5 * _clip01((coverage - hi) / (1.0 - hi))
    dx, dy = (x0 + x1) / (2.0 * w) - 0.5, (y0 + y1) / (2.0 * h) - 0.5
    offset = max(abs(dx), abs(dy))
    return (_part(cov_score, coverage=coverage),
            _part(1.0 - offset / 0.25, offset=offset, offset_x=dx, offset_y=dy))


def _reasons(parts: dict[str, Part], cfg: QualityConfig) -> list[str]:
    out = []
    res, bg, ex = parts["resolution"].measured, parts["background"].measured, parts["exposure"].measured
    if res["ratio"] < cfg.min_resolution:
        out.append("too small")
    if parts["sharpness"].score < cfg.blurry_below:
        out.append("blurry")
    if ex["p99_luma"] < cfg.dark_p99 or ex["mean_luma"] < cfg.dark_mean:
        out.append("dark")
    if ex["clipped_highlights"] > cfg.clip_share:
        out.append("overexposed")
    if bg["border_spread"] > cfg.busy_spread:
        out.append("busy background")
    elif bg["distance_from_white"] >= cfg.grey_distance:
        out.append("coloured background" if bg["chroma"] > 20 else "grey background")
    if parts["coverage"].measured["coverage"] < 0.6 * cfg.coverage_range[0]:
        out.append("product small in frame")
    if parts["centring"].measured["offset"] > cfg.off_centre:
        out.append("off-centre")
    return out


def assess(image: Image.Image, config: QualityConfig | None = None) -> QualityReport:
    """Score one product photo. Deterministic; any Pillow mode is accepted."""
    cfg = config or QualityConfig()
    image = to_srgb(image)
    arr = working_copy(image, cfg.work_side)  # (h, w, 3) float32
    lum = luma(arr)
    backdrop = find_backdrop(arr, cfg.backdrop)
    product = backdrop.alpha < 0.5
    box = mask_box(product, 0.01)
    coverage, centring = framing_parts(box, lum.shape, cfg)
    parts = {
        "resolution": resolution_part(image.size, cfg),
        "sharpness": sharpness_part(lum, box, cfg),
        "exposure": exposure_part(lum, product, cfg),
        "background": background_part(arr, cfg),
        "coverage": coverage,
        "centring": centring,
    }
    total = sum(cfg.weights.get(k, 0.0) for k in parts) or 1.0
    score = sum(cfg.weights.get(k, 0.0) * p.score for k, p in parts.items()) / total
    return QualityReport(round(score, 1), parts, _reasons(parts, cfg))
