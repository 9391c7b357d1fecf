"""Workers killed with SIGKILL mid-job: every job ends succeeded exactly once, no duplicates, no orphan files.

Runs on the embedded default (SQLite + ORM broker) and, in CI's second pass, on PostgreSQL + Redis.
The long version (many jobs, many kills, two workers) is bench/bench_faults.py.
"""
import time

import pytest
from django.db import connection

from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.plugin.processes import generated_files, kill, start_qcluster, wait_for

LEASE = 3  # seconds; the slow handler heartbeats every 0.3 s
SLOW = {"JOB_LEASE_SECONDS": LEASE, "JOB_HANDLERS": {"variants": "tests.plugin.slow_handlers.slow_variants"}}


def needs_file_database():
    if connection.vendor == "sqlite" and "memory" in str(connection.settings_dict["NAME"]):
        pytest.skip("needs a file database that a worker process can open")


def finish(ids, reap_every=8, rounds=12) -> bool:
    """Wait for the jobs to succeed, running the reaper every few seconds (the schedule does it every minute)."""
    for _ in range(rounds):
        if wait_for(lambda: ImageJob.objects.filter(pk__in=ids, status="succeeded").count() == len(ids), reap_every):
            return True
        jobs.reap()
    return False


def assert_once_each(settings, ids, count):
    """Every job has exactly one set of results, and the files on disk are exactly the referenced ones."""
    for pk in ids:
        assert sorted(GeneratedImage.objects.filter(job_id=pk).values_list("slot", flat=True)) == list(range(count))
    referenced = set(GeneratedImage.objects.values_list("image", flat=True))
    assert generated_files(settings.MEDIA_ROOT) == referenced  # no orphan files, none missing


@pytest.mark.django_db(transaction=True)
def test_killed_workers_never_lose_or_duplicate_a_job(settings, gan_version, three_images):
    needs_file_database()
    # doorbells a killed worker had prefetched are lost: the reaper rings again after JOB_QUEUE_STALE_SECONDS
    settings.PRODIMG = {**settings.PRODIMG, "JOB_LEASE_SECONDS": LEASE, "JOB_QUEUE_STALE_SECONDS": LEASE}
    created = jobs.create_jobs(ImageJob.Kind.VARIANTS, three_images, variant_params(count=2))
    ids = [j.pk for j in created]
    kills = 0
    worker = start_qcluster(settings.MEDIA_ROOT, SLOW)
    try:
        for _ in range(2):  # kill the worker whenever it is in the middle of a job, then start a new one
            mid_job = ImageJob.objects.filter(pk__in=ids, status="running", progress__gt=0.1)
            if not wait_for(mid_job.exists, 60):
                break
            kill(worker)
            kills += 1
            time.sleep(LEASE + 0.5)  # the lease lapses
            jobs.reap()  # what the scheduled reaper does every minute
            worker = start_qcluster(settings.MEDIA_ROOT, SLOW)
        finished = finish(ids)
    finally:
        kill(worker)
    assert kills >= 1
    assert finished, list(ImageJob.objects.values("pk", "status", "attempts", "error"))
    assert_once_each(settings, ids, 2)
    assert sum(j.attempts for j in ImageJob.objects.filter(pk__in=ids)) >= len(ids) + 1  # some job ran again
