"""Fixtures shared by the whole suite."""
import os
from pathlib import Path

import pytest

USES_DJANGO = ("settings", "db", "transactional_db")


def media_files(root: Path) -> set[str]:
    """The files under `root`, relative to it (none when it does not exist)."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.is_dir() else set()


@pytest.fixture(scope="session", autouse=True)
def _session_media_root(tmp_path_factory):
    """The suite never writes into the real MEDIA_ROOT (the shop's files: `prodimg_purge` would report what tests
    left there as orphans). Before any test or fixture runs, MEDIA_ROOT (and, for the processes tests start, the
    MEDIA_ROOT environment variable) points at a temporary folder; at the end the suite fails if the real one
    gained files all the same (code that captured the path, a process started with the real environment)."""
    from django.conf import settings
    from django.test.utils import override_settings

    real = Path(settings.MEDIA_ROOT)
    before = media_files(real)
    temporary = tmp_path_factory.mktemp("media")
    environ = os.environ.get("MEDIA_ROOT")
    os.environ["MEDIA_ROOT"] = str(temporary)
    override = override_settings(MEDIA_ROOT=str(temporary))
    override.enable()
    try:
        yield temporary
    finally:
        override.disable()
        if environ is None:
            os.environ.pop("MEDIA_ROOT", None)
        else:
            os.environ["MEDIA_ROOT"] = environ
    gained = sorted(media_files(real) - before)
    if gained:
        pytest.fail(f"the suite wrote {len(gained)} file(s) into the real MEDIA_ROOT {real}: {gained[:10]}",
                    pytrace=False)


@pytest.fixture(autouse=True)
def _media_root(request, tmp_path):
    """Every test that touches Django writes its files to its own temporary MEDIA_ROOT."""
    if not any(name in request.fixturenames for name in USES_DJANGO) \
            and not request.node.get_closest_marker("django_db"):
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


@pytest.fixture
def no_queue(monkeypatch):
    """Jobs are created but not handed to django-q2: the list of the job ids that would have been queued."""
    from prodimg_plugin.generation import jobs

    queued = []
    monkeypatch.setattr(jobs, "enqueue", queued.append)
    return queued
