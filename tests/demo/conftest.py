"""Fixtures for the demo shop's tests: a small stored catalogue, fast password hashing."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """seed_demo and admin_client create users; PBKDF2 at full strength would dominate these tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def catalogue(db, settings, tmp_path):
    """Six seeded products with photos, in a temporary MEDIA_ROOT, oldest first."""
    from shop_demo.catalog.models import Product
    from shop_demo.catalog.seeding import plan_catalogue, seed_catalogue

    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_catalogue(plan_catalogue(seed=0, count=6))
    return list(Product.objects.order_by("id"))
