"""The storefront: a shelf of items with their personalised pictures and the click beacon, and an item page."""
from django.shortcuts import get_object_or_404, render

from prodimg_plugin.storefront import personalize

from .models import Item


def shelf(request):
    items = list(Item.objects.order_by("title"))
    personalize.prefetch(request, items)
    return render(request, "uuidhost/shelf.html", {"items": items})


def item(request, pk):
    return render(request, "uuidhost/item.html", {"item": get_object_or_404(Item, pk=pk)})
