"""Which garment of a worn photo is the product: the category's place on a model (`ml.garment`), from the layout
file PRODIMG["GARMENT_LAYOUT"] (default: the bundled one, learned from a fashion catalogue's worn photos)."""
from __future__ import annotations

from functools import lru_cache

from ml.garment import Garment, GarmentLayout
from ml.vocab import category_attribute
from prodimg_plugin.conf import BUNDLED_STARTER_MODELS, prodimg_settings

BUNDLED_LAYOUT = BUNDLED_STARTER_MODELS / "garment_layout.json"


def garment_of(attrs: dict) -> Garment | None:
    """The place of the product's category on a model, or None (no layout, or a category never seen worn)."""
    layout = _layout(_path())
    return layout.garment(attrs.get(category_attribute(attrs) or "")) if layout else None


def _path() -> str:
    """The layout file to read: the setting's (a missing file is an error), else the bundled one if shipped."""
    setting = prodimg_settings.GARMENT_LAYOUT
    if setting is None:
        return str(BUNDLED_LAYOUT) if BUNDLED_LAYOUT.is_file() else ""
    return str(setting)


@lru_cache(maxsize=4)
def _layout(path: str) -> GarmentLayout | None:
    return GarmentLayout.load(path) if path else None
