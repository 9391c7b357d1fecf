"""The demo shop's catalogue: products and their photos. Knows nothing of prodimg."""

from __future__ import annotations

from django.db import models
from django.urls import reverse

from .attributes import COLOUR_LABELS, KIND_LABELS, PATTERN_LABELS
from .validators import validate_product_image


class Product(models.Model):
    """Something the shop sells, with the attributes a shopper filters by."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    category = models.CharField(max_length=32, choices=list(KIND_LABELS.items()), db_index=True)
    colour = models.CharField(max_length=32, choices=list(COLOUR_LABELS.items()), db_index=True)
    pattern = models.CharField(max_length=16, choices=list(PATTERN_LABELS.items()), default="solid")
    price = models.DecimalField(max_digits=8, decimal_places=2)
    description = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        """The product's storefront page."""
        return reverse("catalog:product_detail", args=[self.pk])

    def main_image(self) -> ProductImage | None:
        """The photo shown first (lowest position), or None; uses prefetched images when present."""
        images = list(self.images.all())  # ordered by position; served from prefetch_related if used
        return images[0] if images else None


class ProductImage(models.Model):
    """One photo of a product; the lowest ``position`` is the main one."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(
        upload_to="products/%Y/%m/", validators=[validate_product_image], width_field="width", height_field="height"
    )
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    alt_text = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.product} #{self.position}"
