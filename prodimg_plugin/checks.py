"""System checks: misconfiguration reported by `manage.py check` with what to set."""
from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.host import (
    INTEGER,
    STRING,
    UUID,
    get_image_model,
    get_product_model,
    key_field,
    key_kind,
    product_field,
)
from prodimg_plugin.models import ImageEvent

# The longest string key the plugin stores whole: a product's id in ImageEvent.product_id, an image's id in the
# idempotency key of a backfill job (ImageJob.key, 200 characters: "backfill:<kind>:<id>:<sha1 of the target>").
PRODUCT_KEY_MAX_LENGTH = ImageEvent._meta.get_field("product_id").max_length
IMAGE_KEY_MAX_LENGTH = 140


def _error(msg: str, hint: str, id: str):
    return checks.Error(msg, hint=hint, obj="settings.PRODIMG", id=id)


@checks.register()
def check_host_binding(app_configs=None, **kwargs):
    try:
        model = get_image_model()
    except ImproperlyConfigured as exc:
        return [_error(str(exc), 'Set PRODIMG = {"IMAGE_MODEL": "app_label.ModelName", ...}', "prodimg.E001")]
    errors = []
    field_name = prodimg_settings.IMAGE_FIELD
    try:
        field = model._meta.get_field(field_name)
        if not isinstance(field, models.FileField):
            errors.append(_error(f'PRODIMG["IMAGE_FIELD"] = {field_name!r} is not a FileField/ImageField of {model.__name__}',
                                 "Name the model's ImageField.", "prodimg.E002"))
    except Exception:
        errors.append(_error(f'PRODIMG["IMAGE_FIELD"] = {field_name!r} is not a field of {model.__name__}',
                             "Name the model's ImageField.", "prodimg.E002"))
    try:
        product_field()
    except ImproperlyConfigured as exc:
        errors.append(_error(str(exc), "Name the ForeignKey from the image to its product.", "prodimg.E003"))
    return errors


@checks.register()
def check_key_types(app_configs=None, **kwargs):
    """The host's image and product ids must be integers, UUIDs or strings the plugin's columns can hold."""
    try:
        models_and_limits = [("image", get_image_model(), IMAGE_KEY_MAX_LENGTH, "prodimg.E007"),
                             ("product", get_product_model(), PRODUCT_KEY_MAX_LENGTH, "prodimg.E008")]
    except ImproperlyConfigured:
        return []  # E001 / E003 say what to set first
    errors = []
    for role, model, max_length, id in models_and_limits:
        field, kind = key_field(model), key_kind(model)
        name = f"{model._meta.label}.{model._meta.pk.name}"
        if kind not in (INTEGER, UUID, STRING):
            what = type(field).__name__ if field is not None else "a composite primary key"
            errors.append(checks.Error(
                f"The {role} model's primary key {name} is {what}: prodimg stores and takes only integer, UUID "
                "and string ids.",
                hint=f"Give {model._meta.label} an AutoField, BigAutoField, UUIDField or CharField(max_length<="
                     f"{max_length}) primary key (keep the current value in a unique field), or "
                     + ('point PRODIMG["IMAGE_MODEL"] at a model that has one.' if role == "image" else
                        'name in PRODIMG["PRODUCT_FIELD"] a foreign key to a model that has one.'),
                obj=model, id=id))
        elif kind == STRING and (field.max_length is None or field.max_length > max_length):
            errors.append(checks.Error(
                f"The {role} model's primary key {name} is a string of up to {field.max_length or 'unlimited'} "
                f"characters: prodimg stores {role} ids of at most {max_length} characters.",
                hint=f"Set max_length={max_length} or less on {name}, or use an integer or UUID primary key.",
                obj=model, id=id))
    return errors


@checks.register()
def check_hooks(app_configs=None, **kwargs):
    errors = []
    for name in ("ATTRIBUTES", "RECOMMENDER"):
        path = prodimg_settings.raw(name)
        if not path:
            errors.append(_error(f'PRODIMG["{name}"] is not set', f'Set PRODIMG["{name}"] to a dotted path.', "prodimg.E004"))
            continue
        try:
            target = import_string(path) if isinstance(path, str) else path
        except ImportError as exc:
            errors.append(_error(f'PRODIMG["{name}"] = {path!r} cannot be imported: {exc}',
                                 "Give the dotted path of a callable or class.", "prodimg.E005"))
            continue
        if not callable(target):
            errors.append(_error(f'PRODIMG["{name}"] = {path!r} is not callable', "Point it at a function or class.", "prodimg.E006"))
    return errors


@checks.register()
def check_queue(app_configs=None, **kwargs):
    """django-q2 delivers a task again when it runs longer than `retry`: require timeout < retry."""
    conf = getattr(settings, "Q_CLUSTER", {}) or {}
    timeout, retry = conf.get("timeout"), conf.get("retry", 60)
    errors = []
    if timeout is None or timeout >= retry:
        errors.append(checks.Error(
            f"Q_CLUSTER timeout ({timeout}) must be set and lower than retry ({retry}); otherwise a slow job is "
            "delivered to a second worker while the first still runs.",
            hint='e.g. Q_CLUSTER = {"timeout": 240, "retry": 300, ...}', obj="settings.Q_CLUSTER", id="prodimg.E010"))
    if not conf.get("max_attempts"):
        errors.append(checks.Warning("Q_CLUSTER max_attempts is not set: a task that always fails is retried forever.",
                                     hint='Set "max_attempts", e.g. 3.', obj="settings.Q_CLUSTER", id="prodimg.W011"))
    return errors


@checks.register()
def check_garment_layout(app_configs=None, **kwargs):
    """PRODIMG["GARMENT_LAYOUT"], when set to a file, must be a layout `ml.garment` can read."""
    from ml.garment import GarmentLayout

    path = prodimg_settings.GARMENT_LAYOUT
    if not path:
        return []
    try:
        GarmentLayout.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [_error(f'PRODIMG["GARMENT_LAYOUT"] = {str(path)!r} cannot be read as a garment layout: {exc}',
                       "Make one with bench/learn_garment_layout.py, or set None (the bundled layout) or \"\" (none).",
                       "prodimg.E020")]
    return []
