"""Upload checks for product photos.

Django's ``ImageField`` only asks Pillow whether the header looks like an image. A truncated file or an
image of enormous pixel dimensions (a "decompression bomb": a few kilobytes that decode to gigabytes) gets
past that and fails later, in a thumbnail or a worker. :func:`validate_product_image` decodes the upload
once, after checking the pixel count from the header, so both are a form error instead.
"""

from __future__ import annotations

import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image

#: Default cap on width x height; override with the ``CATALOG_MAX_IMAGE_PIXELS`` setting.
MAX_IMAGE_PIXELS = 40_000_000


def max_image_pixels() -> int:
    """The pixel cap in force (read at call time so ``override_settings`` works)."""
    return int(getattr(settings, "CATALOG_MAX_IMAGE_PIXELS", MAX_IMAGE_PIXELS))


def validate_product_image(value) -> None:
    """Reject an upload that is not a whole, decodable image of at most :func:`max_image_pixels` pixels."""
    if getattr(value, "_committed", False):
        return  # a file already in storage (editing other fields): it was checked when it was uploaded
    file = getattr(value, "file", value)
    if file is None:
        return
    position = file.tell() if hasattr(file, "tell") else 0
    try:
        file.seek(0)
        _check(file)
    finally:
        file.seek(position)


def _check(file) -> None:
    cap = max_image_pixels()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(file) as img:
                width, height = img.size
                if width * height > cap:
                    raise _too_big(width, height, cap)
                img.load()  # a truncated file fails here ("image file is truncated")
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError("This image is too large to process.", code="image_too_large") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
        raise ValidationError(
            "The image file is damaged or incomplete (%(reason)s). Please upload it again.",
            code="image_corrupt",
            params={"reason": str(exc) or type(exc).__name__},
        ) from exc


def _too_big(width: int, height: int, cap: int) -> ValidationError:
    return ValidationError(
        "This image is %(width)s x %(height)s pixels (%(mp).1f megapixels); the limit is %(cap).0f megapixels.",
        code="image_too_large",
        params={"width": width, "height": height, "mp": width * height / 1e6, "cap": cap / 1e6},
    )
