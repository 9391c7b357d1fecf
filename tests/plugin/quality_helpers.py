"""Photos and files for the quality, enhancement and backfill tests (plain functions, no fixtures).

Imported by tests/plugin/test_quality.py, test_enhance.py and test_backfill.py.
"""
from __future__ import annotations

import io

import numpy as np
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image

from tests.factories import make_image, make_product_image, png_bytes

SMALL = {"target_size": [60, 80], "rendition_sizes": [[60, 80], [30, 40]], "rendition_formats": ["webp", "jpeg"]}


def small_enhancement(settings, **enhance) -> None:
    """Enhance to 60x80 with two small renditions (fast), plus any other ENHANCE keys."""
    settings.PRODIMG = {**settings.PRODIMG, "ENHANCE": {**SMALL, **enhance}}


def grey_off_centre(size=(72, 96)) -> Image.Image:
    """A dark-ish garment, off to the left, on a grey studio backdrop."""
    w, h = size
    canvas = Image.new("RGB", size, (200, 200, 200))
    canvas.paste(make_image((w // 2, h // 2), colour=(40, 70, 150), background=(200, 200, 200)), (2, h // 4))
    return canvas


def dark_photo(size=(72, 96)) -> Image.Image:
    arr = np.asarray(make_image(size, colour=(120, 40, 40)), dtype=np.float32) * 0.3
    return Image.fromarray(arr.astype(np.uint8))


def photos(n: int, name: str = "Tee") -> list:
    """n product images of the demo host, each a small grey-background photo."""
    return [make_product_image(f"{name} {i}", image=grey_off_centre()) for i in range(n)]


def set_file(image, name: str, data: bytes | None):
    """Point a host image at a file with these bytes (None: a file that does not exist)."""
    stored = default_storage.save(name, ContentFile(data)) if data is not None else name
    type(image).objects.filter(pk=image.pk).update(image=stored)
    if data is None:  # loading the row would read the (missing) file: the demo's photos have no stored size
        return image
    return type(image).objects.get(pk=image.pk)


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **options)
    return buf.getvalue()


def odd_but_valid() -> dict[str, bytes]:
    """Files prodimg must read: CMYK, 16-bit, palette with transparency, an animated GIF."""
    rgb = grey_off_centre()
    sixteen = Image.fromarray((np.asarray(rgb.convert("L"), dtype=np.uint16) * 257))
    palette = rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.info["transparency"] = 0
    frames = [rgb.convert("P"), dark_photo().convert("P")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return {"cmyk.jpg": encoded(rgb.convert("CMYK"), "JPEG"), "sixteen.png": encoded(sixteen, "PNG"),
            "palette.png": encoded(palette, "PNG", transparency=0), "animated.gif": gif.getvalue()}


def bad_files() -> dict[str, tuple[bytes | None, str]]:
    """Files prodimg must refuse, each with a word its message must contain."""
    good = png_bytes(grey_off_centre())
    return {
        "empty.jpg": (b"", "not a readable image"),
        "truncated.png": (good[:60], "damaged or truncated"),
        "page.jpg": (b"<!doctype html><html><body>not a photo</body></html>", "not a readable image"),
        "drawing.jpg": (b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"></svg>', "not a readable image"),
        "bomb.png": (png_bytes(Image.new("RGB", (300, 300), "white")), "the limit is"),
        "missing.jpg": (None, "vanished"),
    }
