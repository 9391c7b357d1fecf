"""``manage.py seed_demo``: a deterministic catalogue, idempotent, with an admin login."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from shop_demo.catalog.attributes import COLOURS, KINDS, PATTERNS
from shop_demo.catalog.models import Product, ProductImage
from shop_demo.catalog.seeding import photo_bytes, plan_catalogue


def _seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", "--products", "16", *args, stdout=out)
    return out.getvalue()


def test_plan_is_deterministic_and_covers_every_attribute():
    plan = plan_catalogue(seed=0, count=16)
    assert plan == plan_catalogue(seed=0, count=16)
    assert plan != plan_catalogue(seed=1, count=16)
    assert {p.kind for p in plan} == set(KINDS)
    assert {p.colour for p in plan} == set(COLOURS)
    assert {p.pattern for p in plan} == set(PATTERNS)
    assert len({p.slug for p in plan_catalogue(seed=0, count=160)}) == 160


def test_same_plan_gives_byte_identical_photos():
    first = plan_catalogue(seed=3, count=2)[0]
    again = plan_catalogue(seed=3, count=2)[0]
    assert photo_bytes(first, first.image_seeds[0]) == photo_bytes(again, again.image_seeds[0])


@pytest.mark.django_db
def test_seed_demo_creates_products_photos_and_admin(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    output = _seed()
    assert Product.objects.count() == 16
    assert set(Product.objects.values_list("category", flat=True)) == set(KINDS)
    assert all(p.images.exists() for p in Product.objects.all())
    image = ProductImage.objects.first()
    assert (image.width, image.height) == (240, 320)
    assert (tmp_path / "media" / image.image.name).is_file()
    assert "Navy Blue" in " ".join(Product.objects.values_list("name", flat=True))
    admin = get_user_model().objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("admin")
    assert "password: admin" in output


@pytest.mark.django_db
def test_seed_demo_twice_does_not_duplicate(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _seed()
    images = ProductImage.objects.count()
    output = _seed()
    assert Product.objects.count() == 16 and ProductImage.objects.count() == images
    assert "Created 0 products (16 already there)" in output


@pytest.mark.django_db
def test_flush_replaces_the_catalogue_and_its_files(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    _seed()
    old_ids = set(Product.objects.values_list("id", flat=True))
    _seed("--flush")
    assert Product.objects.count() == 16
    assert not old_ids & set(Product.objects.values_list("id", flat=True))
    assert get_user_model().objects.filter(username="admin").count() == 1
    files = [f for f in (tmp_path / "media").rglob("*") if f.is_file()]
    assert len(files) == ProductImage.objects.count()  # the old photos' files went with them
