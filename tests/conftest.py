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
