"""Real processes for the fault tests and benches: `manage.py qcluster` workers and a private `redis-server`.

Used by tests/plugin/test_faults*.py and bench/bench_{load,faults}.py; the caller's Django connection says
which database the workers open (the test database, or a bench's scratch one).
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.db import connection

from tests.files import stored_files

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["ROOT", "RedisServer", "database_url", "generated_files", "kill", "start_qcluster", "stop",
           "use_redis_broker", "wait_for", "worker_env"]


def database_url() -> str:
    """The URL of the caller's database (the test database, or a bench's scratch one), for a worker's DATABASE_URL."""
    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def wait_for(predicate, timeout=90) -> bool:
    """Poll `predicate` every 0.5 s until it is true (True) or `timeout` seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def worker_env(media_root, prodimg: dict | None = None, redis_url: str | None = None, workers: int = 1) -> dict:
    """The environment of a worker on the caller's database; `redis_url` None keeps the caller's REDIS_URL
    (none: the ORM broker), "" forces the ORM broker."""
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root), "Q_WORKERS": str(workers),
           "PRODIMG_SETTINGS_JSON": json.dumps(prodimg or {}), "DJANGO_SETTINGS_MODULE": "shop_demo.settings",
           "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    if redis_url is not None:
        env["REDIS_URL"] = redis_url
    return env


def start_qcluster(media_root, prodimg: dict | None = None, redis_url: str | None = None, log=None,
                   workers: int = 1) -> subprocess.Popen:
    """A `manage.py qcluster` in its own process group (so `kill` takes its children too)."""
    env = worker_env(media_root, prodimg, redis_url, workers)
    with _output(log) as out:
        return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
                                stdout=out, stderr=subprocess.STDOUT)


def _output(log):
    """Where a child process writes: appended to `log`, or nowhere (the parent's copy is closed afterwards)."""
    return open(log, "ab") if log else contextlib.nullcontext(subprocess.DEVNULL)


def kill(proc: subprocess.Popen) -> None:
    """SIGKILL the process and its children: a machine that vanishes mid-job."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM to the cluster's main process (a clean shutdown: it stops its own processes; a SIGTERM to each of
    them at once leaves it waiting forever for its dead sentinel), then SIGKILL to the group for anything left."""
    try:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass
    kill(proc)


def generated_files(media_root) -> set[str]:
    """Storage names of the files under the generated-images folder of a FileSystemStorage at `media_root`."""
    return set(stored_files(media_root, "prodimg/generated"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server on a free port that keeps nothing on disk, so a restart loses every message."""

    def __init__(self, log=None):
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    @property
    def available(self) -> bool:
        return self.binary is not None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> "RedisServer":
        with _output(self.log) as out:
            self.proc = subprocess.Popen([self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                          "--appendonly", "no", "--dir", "/tmp"], stdout=out, stderr=subprocess.STDOUT)
        if not wait_for(self.ping, 15):
            raise RuntimeError(f"redis-server did not answer on port {self.port}")
        return self

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """SIGKILL: the server crashes, with no chance to save anything."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
        self.restarts += 1


def use_redis_broker(monkeypatch, url: str) -> None:
    """Point this process's django-q2 (which copies its settings at import) at the Redis broker `url`."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", url)

