"""Django admin for the catalogue: products with their photos inline, and the photos on their own."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from .models import Product, ProductImage


def thumbnail(image: ProductImage | None, height: int = 64) -> str:
    """An <img> tag previewing ``image`` (or a dash when there is none)."""
    if image is None or not image.image:
        return "—"
    return format_html(
        '<img src="{}" alt="{}" style="height:{}px;width:auto;border-radius:4px;background:#f4f4f4">',
        image.image.url, image.alt_text, height,
    )


class ProductImageInline(admin.TabularInline):
    """A product's photos, editable on the product page."""

    model = ProductImage
    extra = 1
    fields = ("preview", "image", "alt_text", "position")
    readonly_fields = ("preview",)

    @admin.display(description="Preview")
    def preview(self, obj: ProductImage) -> str:
        """Thumbnail of the stored photo."""
        return thumbnail(obj if obj.pk else None, 80)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    """Products: thumbnail list, filters by category, colour and pattern, photos inline."""

    list_display = ("preview", "name", "category", "colour", "pattern", "price", "created")
    list_display_links = ("preview", "name")
    list_filter = ("category", "colour", "pattern")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ProductImageInline]
    list_per_page = 50

    def get_queryset(self, request):
        """Products with their images prefetched for the thumbnails."""
        return super().get_queryset(request).prefetch_related("images")

    @admin.display(description="Photo")
    def preview(self, obj: Product) -> str:
        """Thumbnail of the main photo."""
        return thumbnail(obj.main_image())


@admin.register(ProductImage)
class ProductImageAdmin(admin.ModelAdmin):
    """Product photos on their own, filterable by what the product is."""

    list_display = ("preview", "product", "position", "alt_text")
    list_display_links = ("preview", "product")
    list_filter = ("product__category", "product__colour")
    search_fields = ("product__name", "alt_text")
    list_select_related = ("product",)
    autocomplete_fields = ("product",)
    readonly_fields = ("preview", "width", "height")
    fields = ("product", "image", "preview", "width", "height", "alt_text", "position")

    @admin.display(description="Photo")
    def preview(self, obj: ProductImage) -> str:
        """Thumbnail of the photo."""
        return thumbnail(obj if obj.pk else None)
