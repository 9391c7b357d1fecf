"""Which primary keys this host's models have: PRODIMG_TEST_HOST_KEY = "uuid" (default), "string" or "date" (a key
type the plugin cannot take: `manage.py check` must say so)."""
from __future__ import annotations

import itertools
import os
import uuid

from django.db import models

KEY = os.environ.get("PRODIMG_TEST_HOST_KEY", "uuid")
_numbers = itertools.count(1)


def new_sku() -> str:
    """A string key with the characters a shop's SKUs have: capitals, a dash, a slash and a dot."""
    return f"SKU-{next(_numbers):04d}/{uuid.uuid4().hex[:6]}.a"


def key_field() -> models.Field:
    if KEY == "string":
        return models.CharField(primary_key=True, max_length=40, default=new_sku)
    if KEY == "date":
        return models.DateTimeField(primary_key=True, auto_now_add=True)
    return models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
