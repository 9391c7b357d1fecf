"""Helpers for the personalisation tests: products with generated images, a reset of process state."""
from __future__ import annotations

import pytest
from django.core.files.base import ContentFile

from prodimg_plugin.models import GeneratedImage
from prodimg_plugin.storage import publish

from tests.factories import make_image, make_product_image, png_bytes

NAVY = ("navy-blue", (32, 46, 88))
RGB = {"red": (190, 40, 40), "green": (40, 112, 62), "yellow": (236, 196, 48), "black": (34, 34, 37),
       "pink": (236, 152, 178), "orange": (232, 118, 38), "teal": (22, 122, 126), "purple": (106, 60, 142)}

# settings for deterministic tests: a seeded recommender, learning only when a test asks, state re-read at once
QUIET = {"RECOMMENDER_SEED": 0, "LEARN_INTERVAL_SECONDS": None, "STATE_REFRESH_SECONDS": 0}


def make_generated(source, colour: str, rgb, status: str = "approved", kind: str = "variant") -> GeneratedImage:
    """A generated colourway of a host image, in a given review status."""
    generated = GeneratedImage(source=source, kind=kind, status=status, seed=0,
                               params={"mode": "colourway", "attribute": "colour", "colour": colour})
    generated.image.save(f"{colour}.png", ContentFile(png_bytes(make_image(size=(30, 40), colour=rgb))), save=True)
    if status == "approved":
        publish([generated.image.name])  # what review.approve does: approved files are public
    return generated


def product_with_variants(name: str, colour: str, variants: list[str], status: str = "approved"):
    """(product, original image, [generated]) with one approved variant per colour name in `variants`."""
    source = make_product_image(name, colour=colour, rgb=RGB[colour],
                                image=make_image(size=(30, 40), colour=RGB[colour]))
    made = [make_generated(source, v, NAVY[1] if v == NAVY[0] else RGB[v], status) for v in variants]
    return source.product, source, made


def reset_personalization() -> None:
    """Forget process-level state (recommender instances, feature vectors) between tests."""
    from prodimg_plugin.storefront import features, personalize

    personalize.reset()
    features.clear_cache()


@pytest.fixture(autouse=True)
def quiet(settings):
    """Deterministic, synchronous personalisation state for each test (autouse where imported)."""
    settings.PRODIMG = {**settings.PRODIMG, **QUIET}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    reset_personalization()
    yield
    reset_personalization()
