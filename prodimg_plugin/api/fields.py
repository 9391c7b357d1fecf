"""Ids in the API: of the host's product images and products, and of the plugin's own rows.

A `KeyField` follows its model's primary key field, whatever its type: an integer id is parsed and bounded to the
field's range on this database (9223372036854775808 answers 400, never a database overflow), a UUID is parsed,
a string is held to the field's max_length. The OpenAPI schema shows the same type (`KeyFieldSchema`; `KeyPathSchema`
for an id in a URL). The field checks the value only: whether such a row exists is the view's question (asked once
for a whole list).
"""
from __future__ import annotations

from typing import Callable

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from prodimg_plugin.host import INTEGER, UUID, clean_key, get_image_model, get_product_model, key_field, key_kind
from prodimg_plugin.models import GeneratedImage, ImageJob


class KeyField(serializers.Field):
    """An id of `model()` (a callable, so that the host's model is looked up when a request comes, not at import)."""

    default_error_messages = {"invalid": "Not a valid {noun} id: {reason}"}

    def __init__(self, model: Callable[[], type[models.Model]], noun: str, **kwargs):
        self.model, self.noun = model, noun
        kwargs.setdefault("help_text", f"Id of the {noun}.")
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return clean_key(self.model(), data)
        except DjangoValidationError as exc:
            self.fail("invalid", noun=self.noun, reason=" ".join(exc.messages))

    def to_representation(self, value):
        return int(value) if key_kind(self.model()) == INTEGER else str(value)


def image_key(**kwargs) -> KeyField:
    return KeyField(get_image_model, "product image", **kwargs)


def product_key(**kwargs) -> KeyField:
    return KeyField(get_product_model, "product", **kwargs)


def generated_key(**kwargs) -> KeyField:
    return KeyField(lambda: GeneratedImage, "generated image", **kwargs)


def job_key(**kwargs) -> KeyField:
    return KeyField(lambda: ImageJob, "job", **kwargs)


def key_schema(model) -> dict:
    """The OpenAPI schema of `model`'s ids."""
    kind, field = key_kind(model), key_field(model)
    if kind == INTEGER:
        wide = field.get_internal_type() in ("BigAutoField", "BigIntegerField", "PositiveBigIntegerField")
        return {"type": "integer", "format": "int64" if wide else "int32"}
    if kind == UUID:
        return {"type": "string", "format": "uuid"}
    schema = {"type": "string"}
    if field is not None and field.max_length:
        schema["maxLength"] = field.max_length
    return schema


class KeyFieldSchema(OpenApiSerializerFieldExtension):
    """drf-spectacular: a KeyField is shown with its model's id type (integer, uuid string, string)."""

    target_class = KeyField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        return key_schema(self.target.model())


class KeyPathSchema(AutoSchema):
    """The schema of a view whose URL parameters are ids of models: `schema = KeyPathSchema.of(product_id=...)`.
    The view's @extend_schema goes on the class (a method's would build on DRF's default schema instead of this)."""

    keys: dict[str, Callable[[], type[models.Model]]] = {}

    @classmethod
    def of(cls, **keys: Callable[[], type[models.Model]]) -> KeyPathSchema:
        return type(cls.__name__, (cls,), {"keys": keys})()

    def get_override_parameters(self):
        keys = [OpenApiParameter(name, key_schema(model()), OpenApiParameter.PATH) for name, model in self.keys.items()]
        return [*super().get_override_parameters(), *keys]
