"""`make demo`'s processes stop cleanly: SIGTERM to `make`, or the terminal's Ctrl-C, stops the web server and every
`qcluster` process, with no traceback (shop_demo/run_demo.py, started by `make serve` here on the test database)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.plugin.processes import ROOT, database_url, free_port

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.skipif(shutil.which("make") is None, reason="needs make")]


def descendants(root: int) -> list[int]:
    """`root` and every process below it (by parent pid, from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def wait_for(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("how", ["SIGTERM to make", "Ctrl-C"])
def test_the_demo_stops_cleanly_with_every_process_gone(tmp_path, how):
    port, log = free_port(), tmp_path / "demo.log"
    env = {**os.environ, "DATABASE_URL": database_url(), "REDIS_URL": "", "MEDIA_ROOT": str(tmp_path / "media"),
           "Q_WORKERS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": "shop_demo.settings"}
    # SIGINT as a terminal's shell leaves it to its commands (this suite may run with it ignored, which is inherited)
    inherited = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        with open(log, "wb") as out:  # make in a session of its own, as in a terminal
            make = subprocess.Popen(["make", "-s", "serve", f"PY={sys.executable}", f"PORT={port}"], cwd=ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, inherited)
    try:
        assert wait_for(lambda: answers(port) and b"] running." in log.read_bytes(), 90), log.read_text()
        started = descendants(make.pid)
        assert len(started) >= 5  # make, the launcher, runserver, qcluster and its sentinel, worker, monitor, ...
        if how == "Ctrl-C":
            os.killpg(make.pid, signal.SIGINT)  # what the terminal does: the foreground process group
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=60)
        left = [pid for pid in started if running(pid)]
        assert left == [], f"still running after make returned: {left}"
        assert not answers(port)
        output = log.read_text()
        assert "has stopped." in output  # the cluster stopped itself, not killed
        for bad in ("Traceback", "Segmentation fault", "Error", "did not stop"):
            assert bad not in output, output
    finally:
        for pid in descendants(make.pid)[::-1]:
            if running(pid) and pid != make.pid:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
