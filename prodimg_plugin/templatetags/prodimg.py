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

import hashlib

from django import template
from django.template import Context
from django.template.backends.django import Template as DjangoTemplate
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.timezone import template_localtime

from prodimg_plugin.storefront import personalize

register = template.Library()

TEMPLATE = "prodimg_plugin/personalized_image.html"
# sha256 of the bundled TEMPLATE's source: while the template found has exactly this source, `_render_bundled`
# renders it (the same output, a tenth of the time). Any other source (a host's override, an edited copy) is
# rendered by its engine. Changing the bundled template? Change `_render_bundled` and this hash together
# (tests/plugin/test_personalize_page.py compares the two renderings).
BUNDLED_SHA256 = "96235324d2798f354fbd88dcc12c1895a03667666d0b6fedf174807b602c3286"


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
    found, bundled = _template(request)
    if bundled:
        return _render_bundled(**values)
    if isinstance(found, DjangoTemplate):
        return found.template.render(Context(values, autoescape=found.template.engine.autoescape, use_l10n=False))
    return found.render(values)  # another engine's template


def _template(request):
    """(the image template, whether it is the bundled one), looked up once per request (rendered once per card)."""
    found = getattr(request, "_prodimg_template", None)
    if found is None:
        template_ = get_template(TEMPLATE)
        found = (template_, _is_bundled(template_))
        if request is not None:
            request._prodimg_template = found
    return found


def _is_bundled(found) -> bool:
    """The bundled template's exact source, in a Django engine that escapes (what `_render_bundled` renders)."""
    if not isinstance(found, DjangoTemplate) or not found.template.engine.autoescape:
        return False
    source = getattr(found.template, "source", None)
    return isinstance(source, str) and hashlib.sha256(source.encode()).hexdigest() == BUNDLED_SHA256


def _text(value) -> str:
    """`{{ value }}` as the Django engine renders it with autoescape on and use_l10n=False."""
    if not isinstance(value, str):
        value = localize(template_localtime(value), use_l10n=False)
        if not isinstance(value, str):
            value = str(value)
    return conditional_escape(value)


def _render_bundled(decision, image, product, size, css_class, position):
    """The bundled personalized_image.html, rendered without the template engine (the same output)."""
    out = ['<img class="prodimg-image prodimg-image--', _text(size)]
    if css_class:
        out += [" ", _text(css_class)]
    out += ['" src="', _text(image.url), '" alt="', _text(image.alt or product), '"']
    if image.width and image.height:
        out += [' width="', _text(image.width), '" height="', _text(image.height), '"']
    if size != "large":
        out.append(' loading="lazy"')
    if decision.decision_id:
        out += [' data-prodimg-decision="', _text(decision.decision_id), '" data-prodimg-product="',
                _text(decision.product_id), '" data-prodimg-source="', _text(image.source_id), '"']
        if image.generated_id:
            out += [' data-prodimg-generated="', _text(image.generated_id), '"']
        if position is not None:
            out += [' data-prodimg-position="', _text(position), '"']
    out += [' data-prodimg-kind="', _text(image.kind), '">\n']
    return mark_safe("".join(out))


def _page_path(request) -> str:
    if not hasattr(request, "_prodimg_path"):
        request._prodimg_path = request.get_full_path()
    return request._prodimg_path


def _position(context) -> int | None:
    loop = context.get("forloop")
    return loop["counter0"] if loop else None

