"""The demo shop's side of the prodimg plugin: the hook module its settings point at.

``PRODIMG["ATTRIBUTES"] = "shop_demo.catalog.prodimg_hooks.attributes"``
``PRODIMG["ON_ENHANCED_APPROVED"] = "shop_demo.catalog.prodimg_hooks.make_enhanced_main_image"``
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import ProductImage


def attributes(image: ProductImage) -> dict[str, str]:
    """The attributes prodimg conditions on for ``image``: its product's category, colour and pattern."""
    product = image.product
    return {"category": product.category, "colour": product.colour, "pattern": product.pattern}


def make_enhanced_main_image(generated) -> ProductImage:
    """``PRODIMG["ON_ENHANCED_APPROVED"]``: an approved enhanced photo becomes the product's main image.

    The enhanced file is copied into a new ProductImage at position 0; the product's other photos move one
    place down (the original stays, second).
    """
    import os

    from django.core.files.base import ContentFile
    from django.db.models import F

    from .models import ProductImage

    source = generated.source
    source.product.images.update(position=F("position") + 1)
    main = ProductImage(product=source.product, alt_text=source.alt_text, position=0)
    with generated.image.open("rb") as fh:
        main.image.save(os.path.basename(generated.image.name), ContentFile(fh.read()), save=True)
    return main
