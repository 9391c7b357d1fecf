"""Quality measures of the enhancement on the real catalogue, used by bench/bench_enhance.py.

- Exposure: real photos darkened synthetically (sRGB gain, exposure in linear light, gamma + gain), run through
  the tone steps; PSNR / SSIM against the original before and after, quality score and share still "dark";
  well-exposed originals must come out nearly unchanged.
- Light products on grey: light products cut from white-backdrop photos (where the mask is known) composited
  onto a grey studio sweep with a vignette, JPEG-compressed; mask IoU, product pixels lost, backdrop made white.
- The before/after figure for the closing note: a darkened photo, grey-backdrop photos, an off-centre photo.
"""
from __future__ import annotations

import io
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ml.backdrop import border_mask, connected_from, find_backdrop, luma, working_copy
from ml.enhance import EnhanceConfig, enhance
from ml.guided import box_mean
from ml.quality import QualityConfig, assess

QUALITY = QualityConfig(target_size=(225, 300))  # judged at the source size: no credit for upscaling


def config(**kw) -> EnhanceConfig:
    """EnhanceConfig from the keys this version of ml.enhance knows (lets the bench run on older trees)."""
    known = {f.name for f in fields(EnhanceConfig)}
    if "white_backdrop" in kw and "white_backdrop" not in known:  # before the rename it was called background
        kw["background"] = kw.pop("white_backdrop")
    return EnhanceConfig(**{k: v for k, v in kw.items() if k in known})


def tone_only(size) -> EnhanceConfig:
    """Exposure, white balance and contrast only: the output lines up with the input pixel for pixel."""
    return config(trim=False, white_backdrop=False, centre=False, upscale=False, target_size=size, rendition_sizes=())


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 10 * np.log10(255.0 ** 2 / max(mse, 1e-10))


def ssim(a: np.ndarray, b: np.ndarray, r: int = 3) -> float:
    """Mean SSIM of the luminance, 7x7 box windows (Wang et al. 2004 constants)."""
    x, y = luma(a).astype(np.float64), luma(b).astype(np.float64)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mx, my = box_mean(x, r), box_mean(y, r)
    vx, vy = box_mean(x * x, r) - mx * mx, box_mean(y * y, r) - my * my
    cov = box_mean(x * y, r) - mx * my
    return float((((2 * mx * my + c1) * (2 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))).mean())


def _lin(x):
    x = x / 255.0
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _srgb(y):
    return 255.0 * np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.maximum(y, 0) ** (1 / 2.4) - 0.055)


DARKENINGS = {  # name -> float sRGB (h, w, 3) -> darker
    "sRGB gain 0.7": lambda x: 0.7 * x,
    "sRGB gain 0.5": lambda x: 0.5 * x,
    "exposure -1 EV (linear light x0.5)": lambda x: _srgb(0.5 * _lin(x)),
    "exposure -2 EV (linear light x0.25)": lambda x: _srgb(0.25 * _lin(x)),
    "gamma 1.5 then gain 0.7": lambda x: 0.7 * 255.0 * (x / 255.0) ** 1.5,
}


def darken(image: Image.Image, name: str) -> Image.Image:
    arr = DARKENINGS[name](np.asarray(image, dtype=np.float64))
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8))


def _exposure_row(originals: list[Image.Image], inputs: list[Image.Image]) -> dict:
    rows = {k: [] for k in ("psnr_in", "psnr_out", "ssim_in", "ssim_out", "score_in", "score_out", "dark_in",
                            "dark_out", "exposure_applied", "changed_gt2")}
    for orig, im in zip(originals, inputs):
        ref, x = np.asarray(orig), np.asarray(im)
        tone = enhance(im, tone_only(im.size))
        out = np.asarray(tone.image)
        full = enhance(im, config(target_size=im.size, rendition_sizes=())).image  # what the shop gets
        q_in, q_out = assess(im, QUALITY), assess(full, QUALITY)
        rows["psnr_in"].append(psnr(x, ref))
        rows["psnr_out"].append(psnr(out, ref))
        rows["ssim_in"].append(ssim(x, ref))
        rows["ssim_out"].append(ssim(out, ref))
        rows["score_in"].append(q_in.score)
        rows["score_out"].append(q_out.score)
        rows["dark_in"].append("dark" in q_in.reasons)
        rows["dark_out"].append("dark" in q_out.reasons)
        rows["exposure_applied"].append("exposure" in tone.steps_applied)
        rows["changed_gt2"].append(float((np.abs(out.astype(np.int16) - x).max(axis=-1) > 2).mean()))
    out = {k: float(np.mean(v)) for k, v in rows.items()}
    out["psnr_out_p10"] = float(np.percentile(rows["psnr_out"], 10))
    return out


def exposure_figures(originals: list[Image.Image]) -> dict:
    """Per darkening: PSNR/SSIM vs the original before and after the tone steps, quality and "dark" share.
    Row "well exposed": the originals themselves (should come out nearly unchanged)."""
    figures = {"photos": len(originals), "well exposed (identity)": _exposure_row(originals, originals)}
    for name in DARKENINGS:
        figures[name] = _exposure_row(originals, [darken(im, name) for im in originals])
        print(f"exposure {name}: {figures[name]}", flush=True)
    return figures


# ---------------------------------------------------------------- light products on a grey sweep
def white_backdrop_mask(arr: np.ndarray, level: float = 248.0) -> np.ndarray:
    """(h, w) bool: near-white pixels connected to the border, i.e. the white backdrop of a catalogue photo."""
    h, w, _ = arr.shape
    white = arr.min(axis=-1) >= level
    return connected_from(border_mask(h, w, 2) & white, white)


def is_light_product(arr: np.ndarray, backdrop: np.ndarray) -> bool:
    """White-backdrop photo of one light product that does not touch the frame."""
    h, w, _ = arr.shape
    product = ~backdrop
    share = product.mean()
    on_border = product[border_mask(h, w, 3)].mean()
    return (0.05 < share < 0.7 and on_border < 0.02 and float(np.median(luma(arr)[product])) >= 170
            and (arr[backdrop].min(axis=-1) >= 250).mean() > 0.9)


def grey_sweep(size, level: float, rng: np.random.Generator) -> np.ndarray:
    """(h, w, 3) float: a warm-grey studio sweep, brightest above the centre, falling off 12 % to the corners."""
    w, h = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - 0.4 * h) / (0.6 * h)) ** 2
    field = level * (1.0 - 0.06 * r2)[..., None] * np.array([1.01, 1.0, 0.975], dtype=np.float32)
    return field + rng.normal(0, 1.2, field.shape)


def light_product_composites(photos: list[Image.Image], seed: int = 0) -> list[tuple[Image.Image, np.ndarray]]:
    """(composite, ground-truth product mask) for each light-product photo: product cut from its white backdrop
    (edge feathered over ~1 px, like a real anti-aliased edge) onto a grey sweep of 195-230, JPEG q90."""
    rng = np.random.default_rng(seed)
    out = []
    for image in photos:
        arr = np.asarray(image, dtype=np.float32)
        product = ~white_backdrop_mask(arr)
        soft = np.asarray(Image.fromarray((product * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.7)),
                          dtype=np.float32)[..., None] / 255.0
        sweep = grey_sweep(image.size, float(rng.uniform(195, 230)), rng)
        comp = np.clip(soft * arr + (1 - soft) * sweep + 0.5, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(comp).save(buf, format="JPEG", quality=90)
        out.append((Image.open(io.BytesIO(buf.getvalue())).convert("RGB"), soft[..., 0] >= 0.5))
    return out


def light_product_figures(composites, cfg: EnhanceConfig) -> dict:
    """Mask IoU (backdrop alpha < 0.5 vs the truth), share of product pixels changed by over 8 levels (1 px in
    from the edge: lost to the cleanup), share of backdrop (4 px clear of the product) turned pure white."""
    iou, lost, white, worst = [], [], [], []
    for comp, truth in composites:
        arr = working_copy(comp, cfg.work_side)
        predicted = find_backdrop(arr, cfg.backdrop).alpha < 0.5
        iou.append(float((predicted & truth).sum() / max((predicted | truth).sum(), 1)))
        after = np.asarray(enhance(comp, replace(cfg, target_size=comp.size)).image, dtype=np.int16)
        before = np.asarray(comp, dtype=np.int16)
        inner = ~_grow(~truth, 1)
        lost.append(float((np.abs(after[inner] - before[inner]).max(axis=-1) > 8).mean()))
        clear = ~_grow(truth, 4)
        white.append(float((after[clear] == 255).all(axis=-1).mean()))
    worst = sorted(range(len(lost)), key=lambda i: -lost[i])[:3]
    return {"photos": len(composites),
            "mask_iou_mean": float(np.mean(iou)), "mask_iou_p10": float(np.percentile(iou, 10)),
            "product_lost_gt8_mean": float(np.mean(lost)), "product_lost_gt8_p90": float(np.percentile(lost, 90)),
            "backdrop_pure_white_mean": float(np.mean(white)), "worst_lost": [round(lost[i], 3) for i in worst]}


def _grow(mask: np.ndarray, r: int) -> np.ndarray:
    return np.asarray(Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(2 * r + 1))) > 0


# ---------------------------------------------------------------- the closing note's figure
def _label(tile: Image.Image, lines: list[str], height: int = 28) -> Image.Image:
    out = Image.new("RGB", (tile.width, tile.height + height), (255, 255, 255))
    out.paste(tile, (0, height))
    draw = ImageDraw.Draw(out)
    for i, line in enumerate(lines):
        draw.text((3, 2 + 12 * i), line[:38], fill=(40, 40, 40))
    return out


def _fitted(image: Image.Image, tile) -> Image.Image:
    shown = image.copy()
    shown.thumbnail(tile, Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", tile, (255, 255, 255))
    canvas.paste(shown, ((tile[0] - shown.width) // 2, (tile[1] - shown.height) // 2))
    return canvas


def before_after_figure(cases: list[tuple[str, Image.Image, Image.Image | None]], path: Path, tile=(225, 300)) -> int:
    """One row of before/after pairs (label, photo, the undarkened original or None), each labelled with its
    quality score and reasons; quantised PNG. Returns the file's size in bytes."""
    cfg = config(target_size=tile, rendition_sizes=())
    groups = []
    for name, image, reference in cases:
        before, result = assess(image, QUALITY), enhance(image, cfg)
        after = assess(result.image, QUALITY)
        group = [] if reference is None else [_label(_fitted(reference, tile), ["original (for reference)", ""])]
        group.append(_label(_fitted(image, tile), [f"{name}: score {before.score:.0f}", ", ".join(before.reasons)]))
        reasons = ", ".join(after.reasons) or "no defects"
        group.append(_label(result.image, [f"enhanced: score {after.score:.0f}", reasons]))
        groups.append(group)
    gap = 8
    width = sum(t.width for g in groups for t in g) + gap * (len(groups) - 1)
    sheet = Image.new("RGB", (width, groups[0][0].height), (255, 255, 255))
    x = 0
    for group in groups:
        for t in group:
            sheet.paste(t, (x, 0))
            x += t.width
        x += gap
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    return path.stat().st_size
