"""The demo shop's side of the prodimg plugin: the one hook module its settings point at.

``PRODIMG["ATTRIBUTES"] = "shop_demo.catalog.prodimg_hooks.attributes"``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ProductImage


def attributes(image: ProductImage) -> dict[str, str]:
    """The attributes prodimg conditions on for ``image``: its product's category, colour and pattern."""
    product = image.product
    return {"category": product.category, "colour": product.colour, "pattern": product.pattern}
