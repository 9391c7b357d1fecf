"""Procedural product photos for the demo catalogue: deterministic by seed, pure Pillow + NumPy.

``render_product("tee", "navy-blue", "stripes", seed=3)`` returns a 240 x 320 catalogue-style photo:
the product drawn with lighting, soft creases and seams, a drop shadow, on a white or light-grey sweep.

The pose, cut and background depend only on ``(kind, seed)``, never on colour or pattern, so two renders
that share a kind and seed differ *only* in the attribute that was changed: paired data for attribute edits.
This module never imports Django.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from . import accessories, garments
from .attributes import COLOURS, KINDS, PATTERNS, normalise_colour
from .drawing import NEUTRAL, Canvas, Part, Pose

__all__ = ["COLOURS", "KINDS", "PATTERNS", "Rendering", "contact_sheet", "render_product", "render_with_mask"]

SUPERSAMPLE = 2  # draw at 2x, downsample with LANCZOS: anti-aliased edges for free
RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # PIL box: left, top, right, bottom


@dataclass(frozen=True)
class Shape:
    """How to draw one product kind and how it is photographed."""

    draw: Callable[[Canvas, random.Random, RGB], None]
    on_floor: bool = False  # stands on the sweep (contact shadow) rather than lying flat (drop shadow)
    stripe_angle: float = 0.0  # degrees; 90 = vertical stripes
    can_mirror: bool = False
    scale: float = 1.0
    centre: tuple[float, float] = (150.0, 200.0)  # middle of the drawing's bounding box, in design units


SHAPES: dict[str, Shape] = {
    "tee": Shape(garments.draw_tee),
    "shirt": Shape(garments.draw_shirt, stripe_angle=90),
    "hoodie": Shape(garments.draw_hoodie),
    "dress": Shape(garments.draw_dress),
    "skirt": Shape(garments.draw_skirt, scale=1.05),
    "trousers": Shape(garments.draw_trousers, stripe_angle=90),
    "shorts": Shape(garments.draw_shorts, scale=1.12),
    "sneaker": Shape(
        accessories.draw_sneaker, on_floor=True, stripe_angle=-20, can_mirror=True, scale=1.04, centre=(158, 236)
    ),
    "boot": Shape(accessories.draw_boot, on_floor=True, can_mirror=True, centre=(174, 206)),
    "handbag": Shape(accessories.draw_handbag, on_floor=True, stripe_angle=90, scale=1.04),
    "backpack": Shape(accessories.draw_backpack, on_floor=True, stripe_angle=90),
    "cap": Shape(accessories.draw_cap, on_floor=True, can_mirror=True, scale=1.04, centre=(170, 216)),
}
assert set(SHAPES) == set(KINDS), "every kind in attributes.KINDS needs a shape"


@dataclass(frozen=True)
class Rendering:
    """A rendered photo, the mask (L, 0-255) of the pixels dyed in the product's named colour, and the product's
    exact alpha (L, 0-255: what a perfect cut-out keeps)."""

    image: Image.Image
    colour_mask: Image.Image
    alpha: Image.Image


def render_product(kind: str, colour: str, pattern: str, seed: int, size: tuple[int, int] = (240, 320)) -> Image.Image:
    """Render an RGB catalogue photo of a ``kind`` product in ``colour`` and ``pattern``; ``size`` is (w, h)."""
    return render_with_mask(kind, colour, pattern, seed, size).image


def render_with_mask(kind: str, colour: str, pattern: str, seed: int, size: tuple[int, int] = (240, 320)) -> Rendering:
    """Like :func:`render_product`, also returning where the named colour was applied."""
    if kind not in SHAPES:
        raise ValueError(f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}")
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; expected one of {', '.join(PATTERNS)}")
    rgb = COLOURS[normalise_colour(colour)]
    shape, size = SHAPES[kind], (int(size[0]), int(size[1]))
    rng = random.Random(f"{kind}:{int(seed)}")  # str seeds hash with sha512: stable across runs and machines
    canvas = Canvas((size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE), _pose(shape, rng))
    sweep = _background(rng, size)
    shape.draw(canvas, rng, rgb)
    premultiplied, alpha, fabric = _product(canvas, shape, rgb, pattern)
    ground = sweep * (1.0 - _shadow(alpha, shape, canvas.px / SUPERSAMPLE))[..., None]
    photo = ground * (1.0 - alpha[..., None]) + premultiplied
    image = Image.fromarray(np.clip(photo + 0.5, 0, 255).astype(np.uint8))
    return Rendering(image, *(Image.fromarray(np.clip(a * 255 + 0.5, 0, 255).astype(np.uint8)) for a in (fabric, alpha)))


def contact_sheet(rows: int = 4, size: tuple[int, int] = (120, 160), seed: int = 0) -> Image.Image:
    """One column per kind, ``rows`` photos each, cycling through colours and patterns (for docs and eyeballing)."""
    colours, w, h = list(COLOURS), size[0], size[1]
    sheet = Image.new("RGB", (w * len(KINDS), h * rows), "white")
    for col, kind in enumerate(KINDS):
        for row in range(rows):
            colour = colours[(col * 5 + row * 7) % len(colours)]
            pattern = PATTERNS[(col + row) % len(PATTERNS)]
            sheet.paste(render_product(kind, colour, pattern, seed + row, size), (col * w, row * h))
    return sheet


def _pose(shape: Shape, rng: random.Random) -> Pose:
    tilt = 2.0 if shape.on_floor else 3.5
    return Pose(
        origin=shape.centre,
        scale=shape.scale * rng.uniform(0.9, 0.98),
        angle=rng.uniform(-tilt, tilt),
        dx=rng.uniform(-6, 6),
        dy=rng.uniform(-6, 6),
        mirror=shape.can_mirror and rng.random() < 0.5,
    )


def _background(rng: random.Random, size: tuple[int, int]) -> np.ndarray:
    """A white or light-grey studio sweep: a little lighter at the top, a faint vignette."""
    return _sweep(rng.choice([253.0, 250.0, 246.0, 241.0, 236.0]), size)


@functools.lru_cache(maxsize=16)
def _sweep(top: float, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None]
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :]
    grey = top - 9.0 * y**1.5 - 5.0 * x**2
    warmth = np.array([1.0, 1.0, 1.006 if top < 248 else 1.0], dtype=np.float32)
    sweep = np.clip(grey[..., None] * warmth, 0, 255)
    sweep.flags.writeable = False  # cached and shared between renders
    return sweep


def _blur(img: Image.Image, radius: float) -> np.ndarray:
    """Gaussian blur as floats 0-1; wide blurs run at reduced resolution (same look, a fraction of the time)."""
    factor = 4 if radius >= 24 else 2 if radius >= 8 else 1
    if factor > 1:
        small = img.reduce(factor).filter(ImageFilter.GaussianBlur(radius / factor))
        img = small.resize(img.size, Image.Resampling.BILINEAR)
    else:
        img = img.filter(ImageFilter.GaussianBlur(radius))
    return np.asarray(img, dtype=np.float32) / 255.0


def _as_float(img: Image.Image, box: Box) -> np.ndarray:
    return np.asarray(img.crop(box), dtype=np.float32) / 255.0


def _product(canvas: Canvas, shape: Shape, rgb: RGB, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dye and shade the drawn layers, then downsample: (premultiplied RGB, alpha, fabric) at output size.

    Colour work happens only inside the product's bounding box. Downsampling premultiplied colour and alpha
    separately and compositing afterwards equals compositing first (resizing is linear), and lets the
    background and shadow be made at output size.
    """
    alpha_img = canvas.fabric_mask.copy()
    for part in canvas.parts:
        alpha_img.paste(255, mask=part.mask)
    box = _padded_box(alpha_img)
    alpha, fabric = _as_float(alpha_img, box), _as_float(canvas.fabric_mask, box)
    visible = fabric.copy()
    for part in canvas.parts:
        visible *= 1.0 - _as_float(part.mask, box)
    shade = _shading(canvas, alpha_img, box)
    inside = visible > 0.5
    if inside.any():
        shade /= float(np.median(shade[inside]))  # keep the named colour the typical product pixel
    colour = _dye(canvas, rgb, pattern, shape.stripe_angle, box) * shade[..., None] + _sheen(shade, rgb)
    for part in canvas.parts:
        _paint_part(colour, part, shade, box)
    premultiplied = np.clip(colour, 0, 255) * alpha[..., None]
    layers = [premultiplied[..., 0], premultiplied[..., 1], premultiplied[..., 2], alpha, visible]
    w, h = canvas.size[0] // SUPERSAMPLE, canvas.size[1] // SUPERSAMPLE
    full = np.zeros((5, h, w), dtype=np.float32)
    x0, y0 = box[0] // SUPERSAMPLE, box[1] // SUPERSAMPLE
    for i, layer in enumerate(layers):
        small = _downsample(layer)
        full[i, y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
    return np.moveaxis(full[:3], 0, -1), np.clip(full[3], 0, 1), np.clip(full[4], 0, 1)


def _padded_box(alpha: Image.Image) -> Box:
    """The product's bounding box plus the LANCZOS support, on whole output pixels."""
    w, h = alpha.size
    x0, y0, x1, y1 = alpha.getbbox() or (0, 0, 1, 1)
    pad, ss = 4 * SUPERSAMPLE, SUPERSAMPLE
    x0, y0 = max(0, (x0 - pad) // ss * ss), max(0, (y0 - pad) // ss * ss)
    x1, y1 = min(w, -(-(x1 + pad) // ss) * ss), min(h, -(-(y1 + pad) // ss) * ss)  # round up
    return x0, y0, x1, y1


def _downsample(layer: np.ndarray) -> np.ndarray:
    h, w = layer.shape
    img = Image.fromarray(np.ascontiguousarray(layer, dtype=np.float32), mode="F")
    return np.asarray(img.resize((w // SUPERSAMPLE, h // SUPERSAMPLE), Image.Resampling.LANCZOS))


def _paint_part(colour: np.ndarray, part: Part, shade: np.ndarray, box: Box) -> None:
    """Lay a second material over ``colour`` (in place), within the part's own bounding box."""
    pbox = part.mask.getbbox()
    if not pbox:
        return
    x0, y0 = pbox[0] - box[0], pbox[1] - box[1]
    sl = (slice(y0, y0 + pbox[3] - pbox[1]), slice(x0, x0 + pbox[2] - pbox[0]))
    m = (np.asarray(part.mask.crop(pbox), dtype=np.float32) / 255.0)[..., None]
    s = shade[sl]
    tone = np.array(part.rgb, dtype=np.float32) * s[..., None] + _sheen(s, part.rgb)
    if part.shiny:
        tone += 60.0 * np.clip(s - 0.97, 0, None)[..., None]
    colour[sl] = colour[sl] * (1 - m) + tone * m


def _shading(canvas: Canvas, alpha: Image.Image, box: Box) -> np.ndarray:
    """Light from the upper left x rounded edges x creases x seams, as a multiplier over ``box``."""
    w, h = canvas.size
    px = canvas.px
    ys, xs = np.mgrid[box[1] : box[3], box[0] : box[2]].astype(np.float32)
    light = 1.10 - 0.20 * (0.35 * xs / w + 0.65 * ys / h)
    crop = alpha.crop((box[0] - 40, box[1] - 40, box[2] + 40, box[3] + 40))  # margin: blur sees the outside
    inner = (slice(40, -40), slice(40, -40))
    edge = np.clip(_blur(crop, 7 * px)[inner] * 2.0 - 1.0, 0, 1)  # 0 at the outline, 1 well inside
    body = np.clip(_blur(crop, 24 * px)[inner] * 1.6 - 0.6, 0, 1)
    rounding = (0.74 + 0.26 * np.sqrt(edge)) * (0.93 + 0.07 * body)
    folds = 1.0 + (_blur(canvas.folds.crop(box), 3.0 * px) - NEUTRAL / 255.0) * 1.3
    seams = 1.0 + (_blur(canvas.seams.crop(box), 0.45 * px) - NEUTRAL / 255.0) * 1.5
    return light * rounding * folds * seams


def _sheen(shade: np.ndarray, rgb: RGB) -> np.ndarray:
    """Dark cloth still catches light: add a grey highlight where the shading is above one."""
    darkness = 1.0 - (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255.0
    return (np.clip(shade - 1.0, 0, None) * 160.0 * darkness**2)[..., None]


def _contrast(rgb: RGB) -> np.ndarray:
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return np.array((238, 236, 228) if lum < 150 else (36, 46, 84), dtype=np.float32)


def _band(a: np.ndarray, period: float, duty: float, px: float) -> np.ndarray:
    """Anti-aliased coverage (0-1) of stripes ``duty`` wide every ``period`` design units along ``a``."""
    f = (a / period) % 1.0
    inside = np.minimum(f, duty - f)
    outside = np.minimum(f - duty, 1.0 - f)
    dist = np.where(f < duty, inside, -outside) * period * px  # signed distance to the edge, in pixels
    return np.clip(0.5 + dist, 0, 1)


def _dye(canvas: Canvas, rgb: RGB, pattern: str, stripe_angle: float, box: Box) -> np.ndarray:
    """The fabric colour over ``box`` (float RGB), with the pattern fixed to the product, not the frame."""
    base = np.array(rgb, dtype=np.float32)
    if pattern == "solid":
        return np.broadcast_to(base, (box[3] - box[1], box[2] - box[0], 3)).copy()
    u, v = canvas.design_grid(box)
    t = np.radians(stripe_angle)
    a, b = u * np.sin(t) + v * np.cos(t), u * np.cos(t) - v * np.sin(t)  # across / along the stripes
    px = canvas.px
    if pattern == "stripes":
        amount = _band(a, 16.0, 0.36, px)
    elif pattern == "dots":
        row = np.floor(a / 14.0)
        d = np.hypot((a / 14.0) % 1.0 - 0.5, (b / 14.0 + 0.5 * (row % 2)) % 1.0 - 0.5)
        amount = np.clip(0.5 + (0.22 - d) * 14.0 * px, 0, 1)
    else:  # checks: gingham, the crossings darkest
        band_a, band_b = _band(a, 18.0, 0.26, px), _band(b, 18.0, 0.26, px)
        amount = 0.55 * np.maximum(band_a, band_b) + 0.45 * band_a * band_b
    return base * (1 - amount[..., None]) + _contrast(rgb) * amount[..., None]


def _shadow(alpha: np.ndarray, shape: Shape, px: float) -> np.ndarray:
    """Shadow strength (0-1) on the background: a drop shadow for flat-lays, a contact shadow for objects."""
    img = Image.fromarray((alpha * 255).astype(np.uint8))
    if not shape.on_floor:
        shifted = img.transform(img.size, Image.Transform.AFFINE, (1, 0, -3 * px, 0, 1, -6 * px))
        return 0.30 * _blur(shifted, 6 * px)
    rows = np.nonzero(alpha.max(axis=1) > 0.5)[0]
    cols = np.nonzero(alpha[rows[-1] - int(12 * px) :].max(axis=0) > 0.5)[0] if rows.size else []
    if not rows.size or not len(cols):
        return np.zeros_like(alpha)
    floor = Image.new("L", img.size, 0)
    x0, x1, y = float(cols[0]), float(cols[-1]), float(rows[-1])
    ImageDraw.Draw(floor).ellipse((x0 + 2 * px, y - 5 * px, x1 - 2 * px, y + 4 * px), fill=255)
    contact = _blur(floor, 4 * px)
    ImageDraw.Draw(floor).ellipse((x0 - 8 * px, y - 14 * px, x1 + 16 * px, y + 10 * px), fill=255)
    spread = _blur(floor, 14 * px)
    return np.clip(0.45 * contact + 0.16 * spread, 0, 0.6)


if __name__ == "__main__":  # python -m shop_demo.catalog.render OUT.png [ROWS]
    import sys

    contact_sheet(rows=int(sys.argv[2]) if len(sys.argv) > 2 else 4).save(sys.argv[1], optimize=True)
