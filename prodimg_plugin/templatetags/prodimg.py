"""Storefront template tags.

    {% load prodimg %}
    {% personalized_image product %}                      {# a card-sized image #}
    {% personalized_image product "large" css_class="product-image" %}

Renders `prodimg_plugin/personalized_image.html` (override it in your templates folder) with the approved
image chosen for the shopper, and logs the impression server-side. Inside a `{% for %}` loop the loop index
is logged as the position. Needs `django.template.context_processors.request` for personalisation; without
a request the main photo is shown and nothing is logged.
"""
from __future__ import annotations

from django import template
from django.template.loader import get_template

from ..services import personalize

register = template.Library()

TEMPLATE = "prodimg_plugin/personalized_image.html"


@register.simple_tag(takes_context=True)
def personalized_image(context, product, size: str = "card", css_class: str = "") -> str:
    """An <img> of the image chosen for this shopper (empty when the product has no image)."""
    request, position = context.get("request"), _position(context)
    if request is not None:
        decision = personalize.show(request, product, position, request.get_full_path())
    else:
        decision = personalize.decide(None, product)
    if decision is None:
        return ""
    return get_template(TEMPLATE).render({"decision": decision, "image": decision.candidate, "product": product,
                                          "size": size or "card", "css_class": css_class,
                                          "position": position})


def _position(context) -> int | None:
    loop = context.get("forloop")
    return loop["counter0"] if loop else None

