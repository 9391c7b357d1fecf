"""The plugin on a second host whose models are keyed by UUIDs, or by strings, with field names of their own.

The plugin's foreign keys to the host's pictures are made when its migrations run (like AUTH_USER_MODEL), so each
host runs in a process of its own, with its own settings and test database, on the database and Redis this suite
uses (DATABASE_URL, REDIS_URL). A host whose keys the plugin cannot store is stopped by `manage.py check`.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def host_env(key: str) -> dict:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.uuidhost.settings", "PRODIMG_TEST_HOST_KEY": key,
            "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


@pytest.mark.parametrize("key", ["uuid", "string"])
def test_the_api_the_storefront_and_the_beacon_work_on_a_host_keyed_by(key):
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--ds=tests.uuidhost.settings",
         "-o", "addopts=", "-W", "ignore::DeprecationWarning", str(HERE / "host_api.py")],
        cwd=ROOT, env=host_env(key), capture_output=True, text=True, timeout=280)
    tail = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, tail
    assert " passed" in run.stdout and " failed" not in run.stdout and " error" not in run.stdout, tail


def test_manage_py_check_refuses_a_host_whose_keys_the_plugin_cannot_store():
    run = subprocess.run([sys.executable, "-m", "django", "check"], cwd=ROOT, env=host_env("date"),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "prodimg.E007" in run.stderr and "prodimg.E008" in run.stderr
    assert "primary key uuidhost.Picture.id is DateTimeField" in run.stderr
    assert "Give uuidhost.Picture an AutoField, BigAutoField, UUIDField or CharField(max_length<=140)" in run.stderr
