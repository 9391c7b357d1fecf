"""Fixtures shared by the whole suite."""
import pytest


@pytest.fixture(autouse=True)
def _media_root(request, tmp_path):
    """Every test that touches Django writes its files to its own temporary MEDIA_ROOT."""
    if "settings" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    settings = request.getfixturevalue("settings")
    settings.MEDIA_ROOT = str(tmp_path / "media")
    yield


@pytest.fixture(autouse=True)
def _fresh_cache(request):
    """Django's cache (local memory here) outlives each test's rows: a test that uses the database starts with it
    empty, so nothing cached for one test's product #1 is served for the next test's product #1."""
    if "db" in request.fixturenames or "transactional_db" in request.fixturenames \
            or request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()
    yield
