"""The one place that knows how to reach the host shop's image model (like wagtail's get_image_model)."""
from __future__ import annotations

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.db import models

from prodimg_plugin.conf import prodimg_settings


def get_image_model():
    """The host's product-image model class named by PRODIMG["IMAGE_MODEL"]."""
    label = prodimg_settings.IMAGE_MODEL
    if not label:
        raise ImproperlyConfigured('Set PRODIMG["IMAGE_MODEL"] to your product-image model, e.g. "catalog.ProductImage".')
    try:
        return apps.get_model(label, require_ready=False)
    except (ValueError, LookupError) as exc:
        raise ImproperlyConfigured(
            f'PRODIMG["IMAGE_MODEL"] = {label!r} is not an installed model ("app_label.ModelName"): {exc}'
        ) from exc


def get_product_model():
    """The model that PRODIMG["PRODUCT_FIELD"] points at."""
    return product_field().related_model


def product_field():
    model = get_image_model()
    name = prodimg_settings.PRODUCT_FIELD
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist as exc:
        raise ImproperlyConfigured(f'PRODIMG["PRODUCT_FIELD"] = {name!r} is not a field of {model.__name__}') from exc
    if not field.many_to_one:
        raise ImproperlyConfigured(f'PRODIMG["PRODUCT_FIELD"] = {name!r} must be a ForeignKey to the product')
    return field


def image_file(image):
    """The FieldFile of a host image."""
    return getattr(image, prodimg_settings.IMAGE_FIELD)


def product_id_of(image):
    return getattr(image, prodimg_settings.PRODUCT_FIELD + "_id")


def attributes_of(image) -> dict[str, str]:
    """The attributes hook's answer for one image, values as lower-case strings, empty ones dropped."""
    raw = prodimg_settings.ATTRIBUTES(image) or {}
    return {str(k): str(v).strip().lower() for k, v in raw.items() if v not in (None, "")}


def products_by_id(ids) -> dict[str, object]:
    """product id as logged (a string) -> the host's product; ids that are gone or no longer parse are left out."""
    model = get_product_model()
    keys = []
    for value in ids:
        try:
            keys.append(clean_key(model, str(value)))
        except ValidationError:
            continue
    return {str(pk): product for pk, product in model._default_manager.in_bulk(keys).items()}


def images_of_products(products):
    """Host images of the given products (a queryset or list)."""
    return get_image_model()._default_manager.filter(**{prodimg_settings.PRODUCT_FIELD + "__in": products})


def images_of(selection):
    """The host images a selection stands for: the images themselves, or every image of the selected products."""
    return selection if selection.model is get_image_model() else images_of_products(selection)


# ---- the host's primary keys ---------------------------------------------------------------------------------
# The plugin takes the host's ids through its API, its storefront keys ("s<id>") and its tables in three kinds:
# integers (AutoField, BigAutoField, IntegerField, ...), UUIDs, and strings (CharField, SlugField, ...).
# `checks.check_key_types` refuses any other primary key with what to do.

INTEGER, UUID, STRING = "integer", "uuid", "string"


def key_field(model):
    """The field that parses and checks `model`'s ids: its primary key, followed through a one-to-one parent link
    (multi-table inheritance) to the field that holds the value."""
    field = model._meta.pk
    while field is not None and field.is_relation:
        field = field.target_field
    return field


def key_kind(model) -> str | None:
    """INTEGER, UUID or STRING: the kind of `model`'s ids; None for a primary key the plugin cannot take."""
    field = key_field(model)
    if isinstance(field, models.UUIDField):
        return UUID
    if isinstance(field, models.IntegerField):  # AutoField, BigAutoField, SmallAutoField and BigIntegerField too
        return INTEGER
    if isinstance(field, models.CharField):
        return STRING
    return None


def clean_key(model, value):
    """`value` (a request's id: a string, or an int for integer keys) as `model`'s key: parsed by its primary key
    field and checked against that field's range or length. Raises django's ValidationError saying what is wrong."""
    field = key_field(model)
    kind = key_kind(model)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or (isinstance(value, int) and kind != INTEGER):
        raise ValidationError(f"expected {'an integer' if kind == INTEGER else 'a string'}, "
                              f"not {type(value).__name__}.", code="incorrect_type")
    if isinstance(value, str) and kind != STRING:
        value = value.strip()
    key = field.to_python(value)
    if key in (None, ""):
        raise ValidationError("an id may not be empty.", code="blank")
    field.run_validators(key)
    return key
