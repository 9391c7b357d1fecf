"""System checks: misconfiguration reported by `manage.py check` with what to set."""
from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.utils.module_loading import import_string

from prodimg_plugin.conf import prodimg_settings


def _error(msg: str, hint: str, id: str):
    return checks.Error(msg, hint=hint, obj="settings.PRODIMG", id=id)


@checks.register()
def check_host_binding(app_configs=None, **kwargs):
    from prodimg_plugin.host import get_image_model, product_field

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
