"""Plain factory functions for images, products and users (no fixtures: call them from any test)."""
from __future__ import annotations

import io
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from PIL import Image, ImageDraw


def make_image(size=(90, 120), colour=(190, 40, 40), background=(255, 255, 255), stripes: bool = True) -> Image.Image:
    """A product-like picture: a coloured garment shape on a light background, with fine stripes."""
    w, h = size
    im = Image.new("RGB", size, background)
    d = ImageDraw.Draw(im)
    d.rectangle([w * 0.25, h * 0.2, w * 0.75, h * 0.85], fill=colour)
    d.polygon([(w * 0.25, h * 0.2), (w * 0.08, h * 0.38), (w * 0.25, h * 0.45)], fill=colour)
    d.polygon([(w * 0.75, h * 0.2), (w * 0.92, h * 0.38), (w * 0.75, h * 0.45)], fill=colour)
    if stripes:
        for y in range(int(h * 0.25), int(h * 0.8), 4):
            d.line([(w * 0.25, y), (w * 0.75, y)], fill=tuple(int(c * 0.75) for c in colour))
    return im


def png_bytes(image: Image.Image, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt)
    return buf.getvalue()


def make_product_image(name: str = "Red Tee", category: str = "tee", colour: str = "red", pattern: str = "solid",
                       image: Image.Image | None = None, rgb=(190, 40, 40)):
    """A catalog Product with one ProductImage (the demo host's models)."""
    from shop_demo.catalog.models import Product, ProductImage

    n = Product.objects.count()
    product = Product.objects.create(name=name, slug=f"{name.lower().replace(' ', '-')}-{n}", category=category,
                                     colour=colour, pattern=pattern, price=Decimal("19.99"))
    pi = ProductImage(product=product, alt_text=name, position=0)
    pi.image.save(f"p{product.pk}.png", ContentFile(png_bytes(image or make_image(colour=rgb))), save=True)
    return pi


def make_user(username: str, staff: bool = False, superuser: bool = False, perms: tuple[str, ...] = ()):
    """A user; perms are "app_label.codename" strings."""
    User = get_user_model()
    user = User.objects.create_user(username, f"{username}@example.com", "pw", is_staff=staff or superuser,
                                    is_superuser=superuser)
    for perm in perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # fresh: no stale permission cache

