"""Workers killed with SIGKILL mid-job: every job ends succeeded exactly once, no duplicates, no orphan files.

Runs on the embedded default (SQLite + ORM broker) and, in CI's second pass, on PostgreSQL + Redis.
The long version (many jobs, many kills, two workers) is bench/bench_faults.py.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prodimg_plugin.models import GeneratedImage, ImageJob
from prodimg_plugin.services import jobs
from prodimg_plugin.services.variants import variant_params
from tests.plugin.test_worker import ROOT, database_url, wait_for

LEASE = 3  # seconds; the slow handler heartbeats every 0.3 s


def start_worker(settings):
    extra = {"JOB_LEASE_SECONDS": LEASE, "JOB_HANDLERS": {"variants": "tests.plugin.slow_handlers.slow_variants"}}
    env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(settings.MEDIA_ROOT), "Q_WORKERS": "1",
           "PRODIMG_SETTINGS_JSON": json.dumps(extra), "DJANGO_SETTINGS_MODULE": "shop_demo.settings"}
    return subprocess.Popen([sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def files_on_disk(settings) -> set[str]:
    root = Path(settings.MEDIA_ROOT)
    folder = root / "prodimg" / "generated"
    return {str(p.relative_to(root)) for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_killed_workers_never_lose_or_duplicate_a_job(settings, gan_version, three_images):
    from django.db import connection

    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("needs a file database")
    # doorbells a killed worker had prefetched are lost: the reaper rings again after JOB_QUEUE_STALE_SECONDS
    settings.PRODIMG = {**settings.PRODIMG, "JOB_LEASE_SECONDS": LEASE, "JOB_QUEUE_STALE_SECONDS": LEASE}
    created = jobs.create_jobs(ImageJob.Kind.VARIANTS, three_images, variant_params(count=2))
    ids = [j.pk for j in created]
    kills = 0
    worker = start_worker(settings)
    try:
        for _ in range(2):  # kill the worker whenever it is in the middle of a job, then start a new one
            if not wait_for(lambda: ImageJob.objects.filter(pk__in=ids, status="running", progress__gt=0.1).exists(), 60):
                break
            kill(worker)
            kills += 1
            time.sleep(LEASE + 0.5)  # the lease lapses
            jobs.reap()  # what the scheduled reaper does every minute
            worker = start_worker(settings)
        finished = False
        for _ in range(12):  # the scheduled reaper, every few seconds instead of every minute
            finished = wait_for(lambda: ImageJob.objects.filter(pk__in=ids, status="succeeded").count() == len(ids), 8)
            if finished:
                break
            jobs.reap()
    finally:
        kill(worker)
    assert kills >= 1
    assert finished, list(ImageJob.objects.values("pk", "status", "attempts", "error"))
    for pk in ids:
        assert sorted(GeneratedImage.objects.filter(job_id=pk).values_list("slot", flat=True)) == [0, 1]
    assert sum(j.attempts for j in ImageJob.objects.filter(pk__in=ids)) >= len(ids) + 1  # some job ran again
    referenced = set(GeneratedImage.objects.values_list("image", flat=True))
    assert files_on_disk(settings) == referenced  # no orphan files, none missing
