"""Background removal: the product (and whoever wears it) cut out by its soft mask, on a new background.

Edge pixels of a studio photo are a mix of product and backdrop; pasting them as they are onto a dark or
coloured background leaves a light fringe. So the foreground colour is first decontaminated: with the mask's
alpha and the old backdrop's colour near each edge pixel known, F = (I - (1 - alpha) * B) / alpha (the compositing
equation solved for F, `ml.foreground`), and only then composited.
"""
from __future__ import annotations

import re

import numpy as np
from PIL import Image, ImageFilter

from .foreground import estimate_foreground
from .masker import ProductMask

BACKGROUNDS = ("transparent", "white", "shadow", "#rrggbb")
_HEX = re.compile(r"^#?([0-9a-fA-F]{6})$")


def parse_background(value: str) -> str | tuple[int, int, int]:
    """"transparent", "shadow", or an (r, g, b) colour ("white" or "#rrggbb"); ValueError naming the choices."""
    text = str(value).strip().lower()
    if text in ("transparent", "shadow"):
        return text
    if text == "white":
        return (255, 255, 255)
    match = _HEX.match(text)
    if match:
        hexa = match.group(1)
        return tuple(int(hexa[i: i + 2], 16) for i in (0, 2, 4))
    raise ValueError(f"unknown background {value!r}: choose transparent, white, shadow or a colour like #f4f4f4")


def decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colour (h, w, 3) of a float photo (h, w, 3) in [0, 1] whose soft edge mixes in its backdrop:
    `ml.foreground.estimate_foreground`, with the backdrop's colour taken near each edge pixel."""
    return estimate_foreground(rgb, alpha)[0]


def contact_shadow(alpha: np.ndarray, strength: float = 0.35) -> np.ndarray:
    """(h, w) shadow opacity under a product: its silhouette squashed onto the floor line and blurred."""
    h, w = alpha.shape
    rows = np.flatnonzero(alpha.max(axis=1) > 0.5)
    if len(rows) == 0:
        return np.zeros_like(alpha)
    bottom, height = rows[-1], rows[-1] - rows[0] + 1
    flat = Image.fromarray((alpha * 255).astype(np.uint8)).resize((w, max(2, height // 8)), Image.Resampling.BOX)
    canvas = Image.new("L", (w, h))
    canvas.paste(flat, (0, int(min(h - flat.height, bottom - flat.height // 2))))
    blurred = canvas.filter(ImageFilter.GaussianBlur(radius=max(2, w // 40)))
    return np.asarray(blurred, np.float32) / 255 * strength


def cutout(image: Image.Image, mask: ProductMask, background: str = "transparent") -> Image.Image:
    """The photo's foreground on `background` (see `parse_background`): RGBA for "transparent", else RGB."""
    choice = parse_background(background)
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255
    alpha = mask.foreground
    fore = decontaminate(rgb, alpha)
    if choice == "transparent":
        arr = np.concatenate([fore, alpha[..., None]], axis=-1)
        return Image.fromarray((arr * 255 + 0.5).astype(np.uint8), "RGBA")
    if choice == "shadow":
        back = np.ones_like(rgb) * (1 - contact_shadow(alpha)[..., None])
    else:
        back = np.broadcast_to(np.array(choice, np.float32) / 255, rgb.shape)
    a = alpha[..., None]
    return Image.fromarray((np.clip(a * fore + (1 - a) * back, 0, 1) * 255 + 0.5).astype(np.uint8))
