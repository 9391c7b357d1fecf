"""Reading host images and writing generated ones, through Django's storage API only.

`job_source` is what every job starts from: the host's file decoded with the byte and pixel-bomb limits, turned
upright, normalised by `ml.images.normalise` (RGB, or RGBA when the photo has transparency) and refused with a
`BadSourceImage` naming the image when it is too small or too narrow (PRODIMG MIN_IMAGE_SIDE, MAX_ASPECT_RATIO).
"""
from __future__ import annotations

import io
import warnings

from django.core.files.base import ContentFile
from PIL import Image, UnidentifiedImageError

from ml.images import normalise, size_problem
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import image_file


class BadSourceImage(Exception):
    """The source image is missing, unreadable, too large, too small or too narrow. The message is shown to the
    admin (on the failed job's row) as it is."""


FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO", "AVIF")  # the files prodimg decodes


def open_image_bytes(data: bytes, label: str = "image") -> Image.Image:
    """Decode bytes into a loaded PIL image, refusing non-images, truncated files and pixel bombs.

    The pixel count is read from the header and checked against MAX_IMAGE_PIXELS before anything is decoded;
    Pillow's own decompression-bomb warning is an error here too.
    """
    limit = prodimg_settings.MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise BadSourceImage(f"{label} is {len(data):,} bytes; the limit is {limit:,} (PRODIMG's MAX_UPLOAD_BYTES)")
    cap = prodimg_settings.MAX_IMAGE_PIXELS
    too_many = f"the limit is {cap:,} pixels (PRODIMG's MAX_IMAGE_PIXELS): refused as a possible decompression bomb"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
            if im.width * im.height > cap:
                raise BadSourceImage(f"{label} is {im.width}x{im.height} pixels; {too_many}")
            if im.format not in FORMATS:
                raise BadSourceImage(f"{label} is a {im.format} file, which prodimg does not process")
            im.load()
    except BadSourceImage:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadSourceImage(f"{label} is too large to decode ({exc}); {too_many}") from exc
    except UnidentifiedImageError as exc:
        raise BadSourceImage(f"{label} is not a readable image (its bytes are none of {', '.join(FORMATS)})") from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise BadSourceImage(f"{label} is damaged or truncated ({exc})") from exc
    return im


def open_source(image) -> Image.Image:
    """The host image's file as a PIL image, as decoded; a vanished or broken file raises BadSourceImage."""
    field = image_file(image)
    if not field or not field.name:
        raise BadSourceImage(f"product image {image.pk} has no file")
    try:
        with field.storage.open(field.name, "rb") as fh:
            data = fh.read()
    except (FileNotFoundError, OSError) as exc:
        raise BadSourceImage(f"the file of product image {image.pk} ({field.name}) has vanished from storage") from exc
    return open_image_bytes(data, source_label(image))


def source_label(image) -> str:
    """How messages name a host image: "product image 7 (products/tee.jpg)"."""
    field = image_file(image)
    return f"product image {image.pk} ({field.name})" if field and field.name else f"product image {image.pk}"


def job_source(image) -> Image.Image:
    """The host image as every job sees it: upright, 8-bit sRGB, RGB or RGBA (transparency kept), and within
    MIN_IMAGE_SIDE and MAX_ASPECT_RATIO; anything else raises BadSourceImage with a message for the admin."""
    picture = open_source(image)
    try:
        picture = normalise(picture)
    except (OSError, ValueError, SyntaxError) as exc:  # pixels Pillow decoded lazily and could not read after all
        raise BadSourceImage(f"{source_label(image)} is damaged or truncated ({exc})") from exc
    problem = size_problem(picture.size, prodimg_settings.MIN_IMAGE_SIDE, prodimg_settings.MAX_ASPECT_RATIO)
    if problem:
        raise BadSourceImage(f"{source_label(image)} {problem} (PRODIMG's MIN_IMAGE_SIDE and MAX_ASPECT_RATIO).")
    return picture


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
