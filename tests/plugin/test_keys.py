"""The host's primary keys: integers (32 and 64 bits), UUIDs and strings are parsed, bounded and shown in the schema by
their own field; `manage.py check` refuses the keys the plugin cannot store, saying what to do.

The end-to-end runs on UUID- and string-keyed hosts are tests/uuidhost/test_uuid_host.py.
"""
from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.test.utils import isolate_apps

from prodimg_plugin import checks, host
from prodimg_plugin.api.fields import key_schema

KEYS = {
    "auto": lambda: models.AutoField(primary_key=True),
    "big": lambda: models.BigAutoField(primary_key=True),
    "uuid": lambda: models.UUIDField(primary_key=True, default=uuid.uuid4),
    "sku": lambda: models.CharField(primary_key=True, max_length=20),
    "long_sku": lambda: models.CharField(primary_key=True, max_length=100),
    "unlimited_sku": lambda: models.CharField(primary_key=True),
    "date": lambda: models.DateField(primary_key=True),
    "decimal": lambda: models.DecimalField(primary_key=True, max_digits=8, decimal_places=2),
}


@pytest.fixture
def model_keyed_by():
    """A model class (in an isolated registry) whose primary key is KEYS[name]."""
    with isolate_apps("prodimg_plugin"):
        made = {}

        def make(name: str | None, parent=None):
            meta = type("Meta", (), {"app_label": "prodimg_plugin"})
            if parent is not None:  # multi-table inheritance: the key is a one-to-one link to the parent's
                return type(f"Child{len(made)}", (parent,), {"__module__": __name__, "Meta": meta})
            made[name] = type(f"Keyed{len(made)}", (models.Model,), {"__module__": __name__, "Meta": meta,
                                                                     "id": KEYS[name]()})
            return made[name]

        yield make


@pytest.mark.parametrize("key, given, expected", [
    ("big", "12", 12), ("big", 12, 12), ("big", " 7 ", 7), ("auto", 2**31 - 1, 2**31 - 1),
    ("uuid", "6F1C1D2E-7A3B-4C5D-8E9F-0A1B2C3D4E5F", uuid.UUID("6f1c1d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f")),
    ("uuid", "6f1c1d2e7a3b4c5d8e9f0a1b2c3d4e5f", uuid.UUID("6f1c1d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f")),
    ("sku", "AB-12/x.y", "AB-12/x.y"),
])
def test_ids_are_parsed_by_the_key_field(model_keyed_by, key, given, expected):
    assert host.clean_key(model_keyed_by(key), given) == expected


@pytest.mark.parametrize("key, given, said", [
    ("big", 9223372036854775808, "Ensure this value is less than or equal to 9223372036854775807."),
    ("big", "-9223372036854775809", "Ensure this value is greater than or equal to -9223372036854775808."),
    ("big", "12a", "“12a” value must be an integer."),
    ("big", True, "expected an integer, not bool."),
    ("big", 2.0, "expected an integer, not float."),
    ("big", None, "expected an integer, not NoneType."),
    ("uuid", "not-a-uuid", "“not-a-uuid” is not a valid UUID."),
    ("uuid", 5, "expected a string, not int."),
    ("sku", "x" * 21, "Ensure this value has at most 20 characters (it has 21)."),
    ("sku", "", "an id may not be empty."),
    ("sku", ["a"], "expected a string, not list."),
])
def test_bad_ids_raise_saying_why(model_keyed_by, key, given, said):
    with pytest.raises(ValidationError) as bad:
        host.clean_key(model_keyed_by(key), given)
    assert bad.value.messages == [said]


def test_a_32_bit_key_is_bounded_by_the_databases_range_for_it(model_keyed_by):
    low, high = connection.ops.integer_field_range("AutoField")
    model = model_keyed_by("auto")
    assert host.clean_key(model, high) == high
    with pytest.raises(ValidationError, match=f"less than or equal to {high}"):
        host.clean_key(model, high + 1)


def test_a_child_models_key_is_its_parents(model_keyed_by):
    child = model_keyed_by(None, parent=model_keyed_by("uuid"))
    assert host.key_kind(child) == host.UUID
    assert host.clean_key(child, "6f1c1d2e7a3b4c5d8e9f0a1b2c3d4e5f") == uuid.UUID("6f1c1d2e-7a3b-4c5d-8e9f-0a1b2c3d4e5f")


@pytest.mark.parametrize("key, schema", [
    ("auto", {"type": "integer", "format": "int32"}), ("big", {"type": "integer", "format": "int64"}),
    ("uuid", {"type": "string", "format": "uuid"}), ("sku", {"type": "string", "maxLength": 20}),
])
def test_the_schema_shows_the_keys_type(model_keyed_by, key, schema):
    assert key_schema(model_keyed_by(key)) == schema


def errors_for(monkeypatch, image_model, product_model) -> dict[str, str]:
    monkeypatch.setattr(checks, "get_image_model", lambda: image_model)
    monkeypatch.setattr(checks, "get_product_model", lambda: product_model)
    return {e.id: f"{e.msg} | {e.hint}" for e in checks.check_key_types()}


@pytest.mark.parametrize("image_key, product_key", [("big", "auto"), ("uuid", "uuid"), ("sku", "sku")])
def test_keys_the_plugin_can_store_pass_the_check(model_keyed_by, monkeypatch, image_key, product_key):
    assert errors_for(monkeypatch, model_keyed_by(image_key), model_keyed_by(product_key)) == {}


def test_a_date_or_decimal_key_fails_the_check_saying_what_to_do(model_keyed_by, monkeypatch):
    errors = errors_for(monkeypatch, model_keyed_by("date"), model_keyed_by("decimal"))
    assert set(errors) == {"prodimg.E007", "prodimg.E008"}
    assert "The image model's primary key prodimg_plugin.Keyed0.id is DateField: prodimg stores and takes only " \
           "integer, UUID and string ids." in errors["prodimg.E007"]
    assert "Give prodimg_plugin.Keyed0 an AutoField, BigAutoField, UUIDField or CharField(max_length<=140) primary " \
           'key (keep the current value in a unique field), or point PRODIMG["IMAGE_MODEL"] at a model that has one.' \
           in errors["prodimg.E007"]
    assert "is DecimalField" in errors["prodimg.E008"] and "CharField(max_length<=64)" in errors["prodimg.E008"]
    assert 'name in PRODIMG["PRODUCT_FIELD"] a foreign key to a model that has one.' in errors["prodimg.E008"]


def test_string_keys_longer_than_the_plugins_columns_fail_the_check(model_keyed_by, monkeypatch):
    errors = errors_for(monkeypatch, model_keyed_by("unlimited_sku"), model_keyed_by("long_sku"))
    assert "is a string of up to unlimited characters: prodimg stores image ids of at most 140 characters" \
           in errors["prodimg.E007"]
    assert "is a string of up to 100 characters: prodimg stores product ids of at most 64 characters" \
           in errors["prodimg.E008"]
    assert "Set max_length=64 or less on prodimg_plugin.Keyed1.id" in errors["prodimg.E008"]


def test_the_demo_passes_the_key_check(db):
    assert checks.check_key_types() == []
