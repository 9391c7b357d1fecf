"""Reading host images and writing generated ones, through Django's storage API only."""
from __future__ import annotations

import io
import warnings

from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import image_file


class BadSourceImage(Exception):
    """The source image is missing, unreadable or too large. The message is shown to the admin."""


def open_image_bytes(data: bytes, label: str = "image") -> Image.Image:
    """Decode bytes into a loaded PIL image, refusing non-images, truncated files and pixel bombs."""
    if len(data) > prodimg_settings.MAX_UPLOAD_BYTES:
        raise BadSourceImage(f"{label} is {len(data):,} bytes; the limit is {prodimg_settings.MAX_UPLOAD_BYTES:,}")
    cap = prodimg_settings.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > cap:
                raise BadSourceImage(f"{label} is {im.width}x{im.height} pixels; the limit is {cap:,} pixels")
            if im.format not in ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO", "AVIF"):
                raise BadSourceImage(f"{label} is a {im.format} file, which prodimg does not process")
            im.load()
    except BadSourceImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadSourceImage(f"{label} is not a readable image ({exc})") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise BadSourceImage(f"{label} is damaged or truncated ({exc})") from exc
    return im


def open_source(image) -> Image.Image:
    """The host image's file as a PIL image; a vanished or broken file raises BadSourceImage."""
    field = image_file(image)
    if not field or not field.name:
        raise BadSourceImage(f"product image {image.pk} has no file")
    try:
        with field.storage.open(field.name, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError) as exc:
        raise BadSourceImage(f"the file of product image {image.pk} ({field.name}) has vanished from storage") from exc
    return open_image_bytes(data, f"product image {image.pk} ({field.name})")


def encode(image: Image.Image, fmt: str | None = None) -> tuple[bytes, str]:
    """Encode for storage; returns (bytes, extension). Metadata is not copied.

    An image with transparency (a cut-out) is never written as JPEG, which has no alpha: PNG then.
    """
    fmt = (fmt or prodimg_settings.OUTPUT_FORMAT).upper()
    if fmt == "JPEG" and "A" in image.getbands():
        fmt = "PNG"
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=92, optimize=True)
        return buf.getvalue(), "jpg"
    if fmt == "WEBP":
        image.save(buf, "WEBP", quality=92, method=4)
        return buf.getvalue(), "webp"
    image.save(buf, "PNG", optimize=False)
    return buf.getvalue(), "png"


def as_content_file(image: Image.Image, stem: str) -> ContentFile:
    data, ext = encode(image)
    return ContentFile(data, name=f"{stem}.{ext}")
