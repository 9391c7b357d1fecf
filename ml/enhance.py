"""Automatic product-photo enhancement: the steps a retoucher does to every catalogue shot, made deterministic.

Pipeline (each step can be switched off in `EnhanceConfig`; the background step by `white_backdrop`):
  exif -> trim -> exposure -> white_balance -> background -> contrast -> centre -> upscale, then `renditions`.

The exposure step brings an under-exposed photo's white point (its backdrop, or its brightest highlights)
back to white with one gain and a soft shoulder, and leaves a well-exposed photo as it is. The background
step turns a near-uniform light backdrop (white, or a grey studio sweep with a vignette) into pure white
without touching the product: `ml.backdrop` models the backdrop as a smooth colour surface and finds the
region of it connected to the border without crossing the product's outline; those pixels are divided by the
surface (flat-field), so a soft shadow stays a soft shadow, only on white. The share of a pixel that is
backdrop (alpha) falls smoothly with its colour distance from the surface, which feathers the product's edge
instead of cutting it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field, fields
from typing import Callable

import numpy as np
from PIL import Image, features

from .backdrop import (LUMA, Backdrop, BackdropConfig, border_pixels, channel_max, find_backdrop, is_light, luma,
                       mask_box, noise_level, resize_array, working_copy)
from .images import WHITE, icc_to_srgb, pad_to_aspect, to_8bit, upright

Upscaler = Callable[[Image.Image], Image.Image]
RENAMED_KEYS = {"background": "white_backdrop"}  # old config key -> field, for settings written before the rename


@dataclass
class EnhanceConfig:
    exif: bool = True  # turn photos upright, convert to sRGB and drop metadata (camera serials, GPS)
    trim: bool = True  # cut uniform frames and letterbox bars that differ from what lies inside them
    exposure: bool = True  # brighten an under-exposed photo until its white point is white again, bounded
    white_balance: bool = True  # remove a colour cast measured on the backdrop, within wb_max_gain
    white_backdrop: bool = True  # the background step: light backdrop -> pure white, shadows kept
    contrast: bool = True  # percentile stretch, bounded so dark products stay dark
    centre: bool = True  # crop to the product, centre it with a margin on a 3:4 canvas
    upscale: bool = True  # enlarge small photos with the upscaler (bicubic without one)
    target_size: tuple[int, int] = (600, 800)  # (w, h): 3:4 like the storefront's product cards
    margin: float = 0.06  # white left around the product, as a share of the canvas side
    work_side: int = 512  # masks are computed at most this large: fast on camera-size photos
    max_side: int = 1600  # larger photos are reduced first: 2x the target still allows a crop to the product
    backdrop: BackdropConfig = field(default_factory=BackdropConfig)  # what counts as a light backdrop
    # global tone
    exposure_white: tuple[float, float] = (185.0, 210.0)  # white point (backdrop or brightest 0.5 %) below
    # 185 is fully restored, above 210 left alone: real grey-sweep photos of dark products measure 220-231,
    # and the quality score calls a photo dark below 200
    exposure_target: float = 252.0  # where the white point lands: a white backdrop is white again
    exposure_knee: float = 235.0  # above this the tone curve rolls off smoothly: highlights never clip
    exposure_max_gain: float = 2.5  # a nearly black photo is brightened at most 2.5x (noise)
    wb_max_gain: float = 0.08  # bounded: a deliberate colour is never "corrected" by more than 8 %
    contrast_percentiles: tuple[float, float] = (0.5, 99.5)
    contrast_max_gain: float = 1.2  # at most +20 % contrast
    contrast_max_black: float = 10.0  # black point never moves by more than 10 levels: product colours stay true
    # delivery
    rendition_sizes: tuple[tuple[int, int], ...] = ((600, 800), (300, 400), (150, 200))
    rendition_formats: tuple[str, ...] = ("webp", "jpeg")  # add "avif" where Pillow has it: it costs as much
    # as all the rest of the enhancement together (35 ms for a 600x800 rendition on one core)
    rendition_quality: dict[str, int] = field(default_factory=lambda: {  # similar visual quality in each
        "jpeg": 85, "webp": 80, "avif": 60})

    @classmethod
    def from_overrides(cls, overrides: dict) -> "EnhanceConfig":
        """An EnhanceConfig from a dict of field values (settings, job params). An old key still works ("background"
        for `white_backdrop`; the new name wins when both are given); an unknown key raises ValueError naming the
        valid ones."""
        values = {k: v for k, v in overrides.items() if k not in RENAMED_KEYS}
        values.update({new: overrides[old] for old, new in RENAMED_KEYS.items() if old in overrides and new not in values})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown keys {unknown}; valid: {', '.join(sorted(names | set(RENAMED_KEYS)))}")
        return cls(**values)


@dataclass
class EnhanceResult:
    image: Image.Image  # RGB, config.target_size
    steps_applied: list[str]  # only steps that changed something, in order
    renditions: dict[str, bytes] = field(default_factory=dict)  # "600x800.webp" -> encoded file
    details: dict = field(default_factory=dict)  # measured backdrop colour, gains, crop box, ...


# ---------------------------------------------------------------- modes, EXIF and colour profiles
def _flatten(image: Image.Image) -> Image.Image:
    """Transparency onto white; every other mode to RGB (CMYK naively when it has no profile)."""
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, WHITE)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    try:
        return image.convert("RGB")
    except ValueError:  # modes Pillow cannot convert directly (LAB): keep the first band as grey
        return image.getchannel(0).convert("RGB")


def to_srgb(image: Image.Image, apply_exif: bool = True) -> Image.Image:
    """Any Pillow image -> a fresh 8-bit sRGB RGB image without metadata. Never raises on odd modes."""
    icc = image.info.get("icc_profile") if apply_exif else None
    if apply_exif:
        image = upright(image)  # broken EXIF: the pixels as stored
    image = to_8bit(image)
    if icc and image.mode in ("RGB", "CMYK", "L"):
        image = icc_to_srgb(image, icc)
    return Image.fromarray(np.array(_flatten(image), dtype=np.uint8))  # new object: no info, no EXIF


def _image(arr: np.ndarray) -> Image.Image:
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def _linear_map(image: Image.Image, gain, offset=0.0) -> Image.Image:
    """out = (in - offset) * gain per channel, rounded and clipped, through a lookup table (fast on big photos)."""
    levels = np.arange(256, dtype=np.float64)
    gains = np.broadcast_to(np.asarray(gain, dtype=np.float64), (3,))
    lut = np.concatenate([np.clip((levels - offset) * g + 0.5, 0, 255).astype(np.uint8) for g in gains])
    return image.point(lut.tolist())


def _limit_size(image: Image.Image, side: int) -> Image.Image:
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


# ---------------------------------------------------------------- the steps
def trim_frame(image: Image.Image, cfg: EnhanceConfig, tol: float = 8.0, frame_diff: float = 40.0):
    """Cut uniform bands at the edges that differ from what lies inside them (frames, letterbox bars).

    A band counts only if it is thin and the line just inside it differs from it almost everywhere: a margin
    of backdrop beside an off-centre product is not a frame, and is left to the centre step.
    Returns (image, {"box": ...}) or None when there is nothing to cut.
    """
    arr = np.asarray(image, dtype=np.float32)
    h, w, _ = arr.shape
    views = {"top": arr, "bottom": arr[::-1], "left": arr.transpose(1, 0, 2), "right": arr[:, ::-1].transpose(1, 0, 2)}
    k = {side: _uniform_band(view, tol) for side, view in views.items()}
    spans = {"top": (k["left"], w - k["right"]), "bottom": (k["left"], w - k["right"]),
             "left": (k["top"], h - k["bottom"]), "right": (k["top"], h - k["bottom"])}
    cut = {side: k[side] if _is_frame(views[side], k[side], spans[side], frame_diff) else 0 for side in views}
    box = (cut["left"], cut["top"], w - cut["right"], h - cut["bottom"])
    if box == (0, 0, w, h) or box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return None
    return image.crop(box), {"box": list(box)}


def _uniform_band(arr: np.ndarray, tol: float) -> int:
    """How many rows at the top of arr (h, w, 3) are one uniform colour; 0 if over 10 % of h, which is
    backdrop around a product rather than a frame."""
    h, w, _ = arr.shape
    rows = arr[: int(0.1 * h) + 1, :: max(1, w // 256)]  # (r, w', 3)
    med = np.median(rows, axis=1)  # (r, 3)
    spread = np.percentile(channel_max(np.abs(rows - med[:, None])), 95, axis=1)  # (r,)
    same = (spread < tol) & (np.abs(med - med[0]).max(axis=-1) < tol)
    return 0 if same.all() else int(np.argmin(same))


def _is_frame(arr: np.ndarray, k: int, span: tuple[int, int], frame_diff: float) -> bool:
    """The line just inside a k-row band differs from the band's colour almost everywhere along span."""
    if k == 0 or span[1] - span[0] < 4:
        return False
    colour = np.median(arr[0], axis=0)
    inner = arr[k, span[0]: span[1]]  # (n, 3)
    return float((channel_max(np.abs(inner - colour)) > frame_diff).mean()) >= 0.9


def white_point(arr: np.ndarray) -> float:
    """Luminance that should be white in a float (h, w, 3) photo: the backdrop's (a studio sweep is near white)
    or the brightest 0.5 % (highlights on the product), whichever is brighter."""
    backdrop = float(np.median(border_pixels(arr, max(1, min(arr.shape[:2]) // 50)), axis=0) @ LUMA)
    return max(backdrop, float(np.percentile(luma(arr), 99.5)))


def tone_curve(gain: float, knee: float) -> np.ndarray:
    """(256,) lookup table: levels * gain, rolling off above `knee` (tanh shoulder, same slope at the knee)
    so that nothing brightened clips to 255."""
    x = np.arange(256, dtype=np.float32) * gain
    head = 255.0 - knee
    y = np.where(x <= knee, x, knee + head * np.tanh((x - knee) / head))
    return np.clip(y + 0.5, 0, 255).astype(np.uint8)


def correct_exposure(image: Image.Image, cfg: EnhanceConfig):
    """Brighten an under-exposed photo: its white point (backdrop or highlights) is brought back to
    `exposure_target` by one gain on all channels (hues kept), through a curve that does not clip.

    The correction fades in as the white point falls from `exposure_white[1]` to `exposure_white[0]`, so a
    well-exposed photo (white point near 255) and a deliberate grey sweep are left exactly as they are.
    """
    white = white_point(working_copy(image, 256))
    lo, hi = cfg.exposure_white
    strength = float(np.clip((hi - white) / (hi - lo), 0.0, 1.0))
    head = 255.0 - cfg.exposure_knee
    wanted = cfg.exposure_knee + head * float(np.arctanh(min((cfg.exposure_target - cfg.exposure_knee) / head, 0.99)))
    gain = min(1.0 + strength * (wanted / max(white, 1.0) - 1.0), cfg.exposure_max_gain)
    if gain < 1.01:
        return None
    lut = tone_curve(gain, cfg.exposure_knee)
    return image.point(np.tile(lut, 3).tolist()), {"white_point": round(white, 1), "gain": round(gain, 4)}


def white_balance(image: Image.Image, cfg: EnhanceConfig):
    """Grey-world on the backdrop: gains that make a light, near-neutral backdrop neutral, bounded."""
    arr = working_copy(image, 256)
    ring = border_pixels(arr, max(1, min(arr.shape[:2]) // 50))
    colour = np.median(ring, axis=0)
    bc = cfg.backdrop
    uniform = float((channel_max(np.abs(ring - colour)) < bc.chroma_tol[1]).mean())
    if colour @ LUMA < bc.min_luma or np.ptp(colour) > bc.max_chroma or uniform < bc.min_border_share:
        return None
    gains = np.clip(colour.mean() / np.maximum(colour, 1.0), 1 - cfg.wb_max_gain, 1 + cfg.wb_max_gain)
    if np.abs(gains - 1).max() < 0.01:
        return None
    return _linear_map(image, gains), {"gains": [round(float(g), 4) for g in gains]}


def clean_background(image: Image.Image, cfg: EnhanceConfig):
    """Light backdrop -> pure white, by flat-fielding the backdrop region; product pixels untouched."""
    work = working_copy(image, cfg.work_side)
    bd = find_backdrop(work, cfg.backdrop)
    if not is_light(bd, cfg.backdrop):
        return None
    full = np.asarray(image, dtype=np.float32)
    noise = bd.noise if work.shape == full.shape else _full_res_noise(full, bd)
    lum = float(bd.colour @ LUMA)
    white_gain = 1.0 / (1.0 - min(3.5 * noise, 0.05 * lum) / lum)  # backdrop noise clips to white
    # masks at working size, applied at full size: bilinear upsampling of alpha feathers the edge
    alpha = resize_array(bd.alpha, image.size)[..., None]  # (H, W, 1)
    gain = resize_array(255.0 * white_gain / bd.surface, image.size)  # (H, W, 3): flat-field to white
    out = np.minimum(full * gain, 255.0)
    out -= full
    out *= alpha
    out += full
    details = {"colour": [round(float(c), 1) for c in bd.colour], "noise": round(noise, 2),
               "border_share": round(bd.border_share, 3)}
    return _image(out), details


def _full_res_noise(full: np.ndarray, bd: Backdrop) -> float:
    """Backdrop noise measured at full size (the working copy averaged it away), on a pixel grid as
    coarse as the working copy."""
    k = max(1, full.shape[1] // bd.alpha.shape[1])
    sub = full[::k, ::k]  # (h', w', 3)
    size = (sub.shape[1], sub.shape[0])
    return noise_level(sub, resize_array(bd.surface, size), resize_array(bd.alpha, size) >= 0.99)


def stretch_contrast(image: Image.Image, cfg: EnhanceConfig):
    """Percentile stretch of luminance, the same linear map on every channel (hues kept), bounded."""
    lum = luma(working_copy(image, 256))
    lo, hi = np.percentile(lum, cfg.contrast_percentiles)
    black = float(np.clip(lo, 0.0, cfg.contrast_max_black))
    gain = float(min(255.0 / max(hi - black, 1.0), cfg.contrast_max_gain))
    if gain < 1.005 and black < 0.5:
        return None
    gain = max(gain, 1.0)
    return _linear_map(image, gain, black), {"black": round(black, 2), "gain": round(gain, 4)}


def _axis_layout(lo: int, hi: int, size: int, margin: float) -> tuple[float, str]:
    """Canvas length this axis needs and where the product sits: centred, or flush to a cut edge."""
    n, at_lo, at_hi = hi - lo, lo <= 0, hi >= size
    if at_lo and at_hi:
        return n, "centre"
    if at_lo or at_hi:
        return n / (1 - margin), "start" if at_lo else "end"
    return n / (1 - 2 * margin), "centre"


def _offset(place: str, lo: int, hi: int, length: int) -> int:
    if place == "start":
        return 0
    if place == "end":
        return length - (hi - lo)
    return (length - (hi - lo)) // 2


def centre_product(image: Image.Image, cfg: EnhanceConfig, fill: tuple[int, int, int]):
    """Crop to the product and centre it on a canvas of the target aspect with `cfg.margin` around it.

    A product cut by the photo's edge (a model's torso) stays flush to that edge rather than floating.
    """
    arr = working_copy(image, cfg.work_side)
    box = mask_box(channel_max(np.abs(arr - np.asarray(fill, dtype=np.float32))) > 24.0)
    if box is None:
        return None
    s = image.width / arr.shape[1]
    x0, y0 = int(box[0] * s), int(box[1] * s)
    x1, y1 = min(image.width, int(np.ceil(box[2] * s))), min(image.height, int(np.ceil(box[3] * s)))
    aspect = cfg.target_size[0] / cfg.target_size[1]
    (lx, px), (ly, py) = _axis_layout(x0, x1, image.width, cfg.margin), _axis_layout(y0, y1, image.height, cfg.margin)
    ch = int(round(max(ly, lx / aspect)))
    cw = int(round(ch * aspect))
    ox, oy = _offset(px, x0, x1, cw), _offset(py, y0, y1, ch)
    canvas = Image.new("RGB", (cw, ch), fill)
    canvas.paste(image, (ox - x0, oy - y0))  # the surroundings come along; only beyond the photo is fill
    return canvas, {"product_box": [x0, y0, x1, y1], "canvas": [cw, ch]}


def fit_to_target(image: Image.Image, cfg: EnhanceConfig, fill, upscaler: Upscaler | None):
    """Pad to the target aspect and resize to the target size; small images go through the upscaler."""
    tw, th = cfg.target_size
    image = pad_to_aspect(image, tw / th, tuple(fill))
    how = None
    if cfg.upscale and image.width < tw:
        how = "bicubic"
        for _ in range(3 if upscaler is not None else 0):  # 2x per call; at most 8x
            image, how = upscaler(image).convert("RGB"), "model"
            if image.width >= tw:
                break
    resample = Image.Resampling.BICUBIC if image.width < tw else Image.Resampling.LANCZOS
    return image.resize((tw, th), resample) if image.size != (tw, th) else image, how


# ---------------------------------------------------------------- delivery
_ENCODERS = {  # CPU time per 600x800 catalogue rendition: bench/bench_enhance.py --encoders
    "webp": ("WEBP", {"method": 2}),  # 8 ms; method 4 takes 2.6x the time for 7 % smaller files
    "jpeg": ("JPEG", {"optimize": True, "subsampling": "4:2:0"}),  # 1.5 ms; progressive: 2.4x, 3 % smaller
    "avif": ("AVIF", {"speed": 8}),  # 35 ms (opt-in); speed 10: 12 ms, 8 % larger; speed 6: 3x slower
}


def available_formats(formats) -> list[str]:
    """The requested formats this Pillow build can write (AVIF needs a Pillow with libavif)."""
    return [f for f in formats if f in _ENCODERS and (f != "avif" or features.check("avif"))]


def renditions(image: Image.Image, sizes, formats, quality: int | dict[str, int] = 85) -> dict[str, bytes]:
    """Encode the image at each (w, h) in each format: {"600x800.webp": bytes, ...}. No metadata is written."""
    if image.mode != "RGB" or image.info:  # the pipeline's own output is already bare sRGB
        image = to_srgb(image, apply_exif=False)
    out = {}
    for w, h in sizes:
        sized = image if image.size == (w, h) else pad_to_aspect(image, w / h).resize(
            (w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)  # box-reduce first: 2x faster, same look
        for fmt in available_formats(formats):
            name, options = _ENCODERS[fmt]
            buf = io.BytesIO()
            q = quality.get(fmt, 85) if isinstance(quality, dict) else quality
            sized.save(buf, format=name, quality=q, **options)
            out[f"{w}x{h}.{fmt}"] = buf.getvalue()
    return out


def enhance(image: Image.Image, config: EnhanceConfig | None = None, upscaler: Upscaler | None = None) -> EnhanceResult:
    """Run the enabled steps on one product photo; deterministic, and never raises on odd image modes.

    upscaler: a callable PIL -> PIL that enlarges 2x (e.g. `ml.upscale.Upscaler`), used when the photo is smaller
    than the target size; bicubic is used without one.
    """
    cfg = config or EnhanceConfig()
    image = to_srgb(image, apply_exif=cfg.exif)
    steps, details = (["exif"] if cfg.exif else []), {"source_size": list(image.size)}
    image = _limit_size(image, cfg.max_side)
    for name, on, step in (("trim", cfg.trim, trim_frame), ("exposure", cfg.exposure, correct_exposure),
                           ("white_balance", cfg.white_balance, white_balance),
                           ("background", cfg.white_backdrop, clean_background),
                           ("contrast", cfg.contrast, stretch_contrast)):
        done = step(image, cfg) if on else None
        if done is not None:
            image, details[name] = done
            steps.append(name)
    arr = working_copy(image, 256)
    fill = WHITE if "background" in steps else tuple(int(c) for c in np.median(border_pixels(arr), axis=0))
    done = centre_product(image, cfg, fill) if cfg.centre else None
    if done is not None:
        image, details["centre"] = done
        steps.append("centre")
    image, how = fit_to_target(image, cfg, fill, upscaler)
    if how is not None:
        steps.append("upscale")
        details["upscale"] = how
    rend = renditions(image, cfg.rendition_sizes, cfg.rendition_formats, cfg.rendition_quality)
    return EnhanceResult(image, steps, rend, details)
