"""The suite writes into temporary MEDIA_ROOTs, never the shop's (tests/conftest.py; the session fails if it does)."""
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

REAL = Path(__file__).resolve().parents[1] / "media"  # shop_demo.settings' default MEDIA_ROOT


def under(path, folder) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def test_a_test_without_any_django_fixture_still_sees_a_temporary_media_root():
    assert not under(settings.MEDIA_ROOT, REAL) and not under(default_storage.location, REAL)
    assert not under(os.environ["MEDIA_ROOT"], REAL)  # what processes started by tests inherit


def test_a_test_using_the_database_only_through_a_fixture_writes_to_its_own_folder(db, tmp_path):
    name = default_storage.save("prodimg/models/gan/probe.bin", ContentFile(b"x"))
    assert under(default_storage.path(name), tmp_path) and not under(default_storage.path(name), REAL)


@pytest.mark.django_db
def test_a_model_file_field_writes_to_the_tests_folder(tmp_path):
    from tests.factories import make_product_image

    image = make_product_image()
    assert under(image.image.path, tmp_path)
