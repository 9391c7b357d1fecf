"""Storefront template tags.

    {% load prodimg %}
    {% personalized_image product %}                      {# a card-sized image #}
    {% personalized_image product "large" css_class="product-image" %}

Renders `prodimg_plugin/personalized_image.html` (override it in your templates folder) with the approved
image chosen for the shopper, and logs the impression server-side (written after the response, one INSERT
per page). Inside a `{% for %}` loop the loop index is logged as the position. Needs
`django.template.context_processors.request` for personalisation; without a request the main photo is shown
and nothing is logged. A list view can call `personalize.prefetch(request, products)` first, so that a page of
cards is read in a few queries instead of a few per card. The template is rendered without localisation:
ids, sizes and positions are machine values (no thousands separators in the beacon's data attributes).
"""
from __future__ import annotations

from django import template
from django.template import Context
from django.template.backends.django import Template as DjangoTemplate
from django.template.loader import get_template

from ..services import personalize

register = template.Library()

TEMPLATE = "prodimg_plugin/personalized_image.html"


@register.simple_tag(takes_context=True)
def personalized_image(context, product, size: str = "card", css_class: str = "") -> str:
    """An <img> of the image chosen for this shopper (empty when the product has no image)."""
    request, position = context.get("request"), _position(context)
    if request is not None:
        decision = personalize.show(request, product, position, _page_path(request))
    else:
        decision = personalize.decide(None, product)
    if decision is None:
        return ""
    values = {"decision": decision, "image": decision.candidate, "product": product, "size": size or "card",
              "css_class": css_class, "position": position}
    found = _template(request)
    if isinstance(found, DjangoTemplate):
        return found.template.render(Context(values, autoescape=found.template.engine.autoescape, use_l10n=False))
    return found.render(values)  # another engine's template


def _template(request):
    """The image template, looked up once per request (a page renders it once per card)."""
    if request is None:
        return get_template(TEMPLATE)
    if not hasattr(request, "_prodimg_template"):
        request._prodimg_template = get_template(TEMPLATE)
    return request._prodimg_template


def _page_path(request) -> str:
    if not hasattr(request, "_prodimg_path"):
        request._prodimg_path = request.get_full_path()
    return request._prodimg_path


def _position(context) -> int | None:
    loop = context.get("forloop")
    return loop["counter0"] if loop else None

