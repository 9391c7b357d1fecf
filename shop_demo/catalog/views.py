"""Storefront views: a filterable, paginated product list and a product page."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.views.generic import DetailView, ListView

from prodimg_plugin.storefront import personalize

from .attributes import COLOURS
from .models import Product

FILTERS = ("category", "colour", "pattern")


class ProductListView(ListView):
    """All products, newest first, 24 a page, narrowed by ``?category=``, ``?colour=`` and ``?pattern=``."""

    model = Product
    paginate_by = 24
    template_name = "catalog/product_list.html"
    context_object_name = "products"

    def get_filters(self) -> dict[str, str]:
        """The valid filters in the query string; override to add more."""
        out = {}
        for name in FILTERS:
            value = self.request.GET.get(name, "")
            if value in dict(Product._meta.get_field(name).choices):
                out[name] = value
        return out

    def get_queryset(self) -> QuerySet[Product]:
        """Products matching the filters, with their images prefetched for the cards."""
        return Product.objects.filter(**self.get_filters()).prefetch_related("images")

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds ``active`` filters and ``facets``: per filter, a list of {value, label, count, swatch}."""
        context = super().get_context_data(**kwargs)
        active = self.get_filters()
        context["active"] = active
        context["facets"] = {name: self._facet(name, active) for name in ("category", "colour")}
        context["heading"] = " · ".join(self._label(n, v) for n, v in active.items()) or "All products"
        personalize.prefetch(self.request, context["products"])  # the cards' images: a few queries, not 2 a card
        return context

    def _facet(self, name: str, active: dict[str, str]) -> list[dict[str, Any]]:
        others = {k: v for k, v in active.items() if k != name}
        counts = dict(Product.objects.filter(**others).values_list(name).annotate(n=Count("id")).order_by())
        labels = dict(Product._meta.get_field(name).choices)
        return [
            {"value": value, "label": label, "count": counts[value], "swatch": _swatch(name, value)}
            for value, label in labels.items()
            if counts.get(value)
        ]

    @staticmethod
    def _label(name: str, value: str) -> str:
        return dict(Product._meta.get_field(name).choices)[value]


def _swatch(name: str, value: str) -> str:
    """CSS colour of a colour filter's dot ("" for other filters)."""
    rgb = COLOURS.get(value) if name == "colour" else None
    return "rgb({}, {}, {})".format(*rgb) if rgb else ""


class ProductDetailView(DetailView):
    """One product: its main photo, the other photos, and a few more from the same category."""

    model = Product
    template_name = "catalog/product_detail.html"
    context_object_name = "product"

    def get_queryset(self) -> QuerySet[Product]:
        """Products with their images prefetched."""
        return Product.objects.prefetch_related("images")

    def get_related(self, product: Product) -> QuerySet[Product]:
        """Products to suggest below this one; override to change the recommendation."""
        same = Product.objects.filter(category=product.category).exclude(pk=product.pk)
        return same.prefetch_related("images")[:4]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        """Adds ``related`` products."""
        context = super().get_context_data(**kwargs)
        context["related"] = self.get_related(self.object)
        personalize.prefetch(self.request, [self.object, *context["related"]])  # the page's images read together
        return context
