"""A product's candidate images: its original photos and its APPROVED generated images, nothing else.

Candidate lists are cached per product (PRODIMG["CANDIDATES_CACHE_SECONDS"]) and dropped as soon as a
generated image is approved, rejected, changed or deleted, or a host image is saved or deleted. A page of
products reads them together (`candidates_for_many`: one cache read, and two queries for all the misses).
"""
from __future__ import annotations

from collections import defaultdict

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_delete, post_save

from prodimg_plugin import signals
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import attributes_of, get_image_model, image_file, product_id_of
from prodimg_plugin.models import GeneratedImage
from prodimg_plugin.storage import public_url
from prodimg_plugin.storefront.context import Candidate, generated_key, source_key


def cache_key(product_id) -> str:
    return f"prodimg:candidates:{product_id}"


def candidates_for(product) -> list[Candidate]:
    """The product's main photo first, its other photos, then its approved generated images."""
    key = cache_key(product.pk)
    found = cache.get(key)
    if found is None:
        found = build(product)
        cache.set(key, found, prodimg_settings.CANDIDATES_CACHE_SECONDS)
    return found


def candidates_for_many(products) -> dict:
    """product pk -> candidates, for a page of products: one cache read, two queries for those not cached."""
    products = {p.pk: p for p in products}
    keys = {cache_key(pk): pk for pk in products}
    hits = cache.get_many(list(keys))
    found = {keys[key]: value for key, value in hits.items()}
    missing = [p for pk, p in products.items() if pk not in found]
    if missing:
        built = build_many(missing)
        timeout = prodimg_settings.CANDIDATES_CACHE_SECONDS
        cache.set_many({cache_key(pk): value for pk, value in built.items()}, timeout)
        found.update(built)
    return found


def build(product) -> list[Candidate]:
    """Candidates read from the database (no cache)."""
    return build_many([product])[product.pk]


def build_many(products) -> dict:
    """product pk -> candidates, read from the database (no cache) with two queries for all the products."""
    model = get_image_model()
    field = prodimg_settings.PRODUCT_FIELD
    by_product = {p.pk: p for p in products}
    images = [i for i in model._default_manager.filter(**{f"{field}__in": list(by_product)}).select_related(field)
              .order_by(*(model._meta.ordering or ["pk"])) if image_file(i)]
    by_id = {i.pk: i for i in images}
    out = defaultdict(list)
    for image in images:
        out[product_id_of(image)].append(_original(image, by_product[product_id_of(image)]))
    approved = GeneratedImage.objects.filter(source_id__in=by_id, status=GeneratedImage.Status.APPROVED)
    for generated in approved.order_by("created_at", "slot", "pk"):
        generated.source = by_id[generated.source_id]  # already loaded: no query per image
        if generated.image and not generated.low_resolution_idea:  # an idea for designers, not a product photo
            pk = product_id_of(generated.source)
            out[pk].append(_generated(generated, by_product[pk]))
    return {pk: out[pk] for pk in by_product}


def _original(image, product) -> Candidate:
    file = image_file(image)
    return Candidate(source_key(image.pk), image.pk, None, "original", file.url, _size(image, "width"),
                     _size(image, "height"), str(product), attributes_of(image))


def _generated(generated: GeneratedImage, product) -> Candidate:
    return Candidate(generated_key(generated.pk), generated.source_id, generated.pk, generated.kind,
                     public_url(generated.image.name), generated.width, generated.height, str(product),
                     generated_attributes(generated))


def _size(image, name: str) -> int | None:
    """The host image's width/height when its ImageField records them (width_field/height_field)."""
    field = image_file(image).field
    attr = getattr(field, f"{name}_field", None)
    return getattr(image, attr, None) if attr else None


def forget(product_id) -> None:
    """Drop a product's cached candidates (the next shopper gets a fresh list)."""
    if product_id is not None:
        cache.delete(cache_key(product_id))


def _forget_generated(sender, instance=None, generated=None, **kwargs) -> None:
    generated = generated or instance
    source = get_image_model()._default_manager.filter(pk=generated.source_id).first()
    if source is not None:
        forget(product_id_of(source))


def _forget_image(sender, instance, **kwargs) -> None:
    forget(product_id_of(instance))


def connect() -> None:
    """Keep cached candidate lists in step with reviews and uploads (called from the app's ready())."""
    try:
        image_model = get_image_model()
    except ImproperlyConfigured:
        image_model = None  # `manage.py check` says what to set
    for signal in (post_save, post_delete):
        signal.connect(_forget_generated, sender=GeneratedImage, dispatch_uid=f"prodimg-candidates-g-{id(signal)}")
        if image_model is not None:
            signal.connect(_forget_image, sender=image_model, dispatch_uid=f"prodimg-candidates-s-{id(signal)}")
    for signal in (signals.image_approved, signals.image_rejected):
        signal.connect(_forget_generated, sender=GeneratedImage, dispatch_uid=f"prodimg-candidates-r-{id(signal)}")


def generated_attributes(generated: GeneratedImage) -> dict[str, str]:
    """A generated image's attributes: its source's, with what the variant or edit changed."""
    attrs = attributes_of(generated.source)
    params = generated.params or {}
    if params.get("attribute") and params.get("colour"):
        attrs[str(params["attribute"])] = str(params["colour"]).strip().lower()
    for name in ("target", "attributes"):
        if isinstance(params.get(name), dict):
            attrs.update({str(k): str(v).strip().lower() for k, v in params[name].items() if v not in (None, "")})
    return attrs
