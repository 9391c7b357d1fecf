"""The services a worker leans on fail mid-run: Redis restarts, the database connection drops.

`ImageJob` is the truth and the broker only a doorbell, so a restarted Redis (which loses every queued message)
costs time, never a job; a job whose database connection dies is retried and ends succeeded once.
Runs on the embedded default (SQLite) and, in CI's second pass, on PostgreSQL + Redis.
"""
import pytest
from django.db import connection

from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.models import ImageJob

from tests.factories import make_product_image
from tests.plugin.processes import RedisServer, kill, start_qcluster, use_redis_broker, wait_for
from tests.plugin.test_faults import LEASE, SLOW, assert_once_each, finish, needs_file_database


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(log=tmp_path / "redis.log")
    if not server.available:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server.start()
    yield server
    server.stop()


def queued_doorbells() -> int:
    from django_q.brokers import get_broker

    return get_broker().queue_size()


def successes_reported(ids) -> dict[int, int]:
    """How many django-q2 tasks reported each job as succeeded (the monitor stores every result)."""
    from django_q.models import Task

    counts = dict.fromkeys(ids, 0)
    for result in Task.objects.values_list("result", flat=True):
        for pk in ids:
            counts[pk] += str(result) == f"job {pk}: succeeded"
    return counts


@pytest.mark.django_db(transaction=True)
def test_jobs_survive_a_redis_restart(settings, monkeypatch, gan_version, three_images, redis_server):
    needs_file_database()
    settings.PRODIMG = {**settings.PRODIMG, "JOB_LEASE_SECONDS": LEASE, "JOB_QUEUE_STALE_SECONDS": LEASE}
    use_redis_broker(monkeypatch, redis_server.url())
    images = three_images + [make_product_image(f"Extra {i}") for i in range(2)]
    worker = start_qcluster(settings.MEDIA_ROOT, SLOW, redis_url=redis_server.url())
    try:
        created = jobs.create_jobs(ImageJob.Kind.VARIANTS, images, {**variant_params(count=2), "slow_steps": 4})
        ids = [j.pk for j in created]
        assert wait_for(lambda: ImageJob.objects.filter(pk__in=ids, status="running").exists(), 60)
        waiting = queued_doorbells()
        redis_server.restart()  # mid-run: one job running, the others' doorbells in Redis
        assert waiting > 0 and queued_doorbells() == 0  # the restart lost them
        finished = finish(ids, reap_every=6, rounds=10)
        wait_for(lambda: min(successes_reported(ids).values()) >= 1, 15)  # the monitor stores results after
    finally:
        kill(worker)
    assert finished, list(ImageJob.objects.values("pk", "status", "attempts", "error"))
    assert_once_each(settings, ids, 2)
    assert set(successes_reported(ids).values()) == {1}  # each job succeeded exactly once
    assert all(j.attempts == 1 for j in ImageJob.objects.filter(pk__in=ids))  # lost doorbells cost no attempt


@pytest.mark.django_db(transaction=True)
def test_a_job_whose_connection_dies_is_retried_and_succeeds_once(settings, gan_version, product_image):
    settings.PRODIMG = {**settings.PRODIMG, "JOB_RETRY_BACKOFF_SECONDS": 0,
                        "JOB_HANDLERS": {"variants": "tests.plugin.slow_handlers.connection_dies_once"}}
    job = jobs.create_jobs(ImageJob.Kind.VARIANTS, [product_image], variant_params(count=2))[0]

    first = jobs.run_job(job.pk)  # the handler's connection dies; recording the retry must not
    assert (first.status, first.attempts) == ("queued", 1)
    assert first.error.startswith("Attempt 1 failed, retrying") and "Error" in first.error
    second = jobs.run_job(job.pk)
    assert (second.status, second.attempts, second.error) == ("succeeded", 2, "")
    assert_once_each(settings, [job.pk], 2)


def terminate_heartbeating_backends() -> int:
    """pg_terminate_backend every other session whose last statement was a job's heartbeat: the worker's."""
    with connection.cursor() as cursor:
        cursor.execute("""SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                          WHERE datname = current_database() AND pid <> pg_backend_pid()
                          AND query LIKE 'UPDATE "prodimg_plugin_imagejob" SET "progress"%%'""")
        return len(cursor.fetchall())


@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_postgres_backend_is_terminated_retries_the_job(settings, gan_version, product_image):
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend; SQLite is covered by the in-process test above")
    retry = {**SLOW, "JOB_RETRY_BACKOFF_SECONDS": 1}
    settings.PRODIMG = {**settings.PRODIMG, **retry}
    job = jobs.create_jobs(ImageJob.Kind.VARIANTS, [product_image], variant_params(count=2))[0]
    worker = start_qcluster(settings.MEDIA_ROOT, retry)
    try:
        assert wait_for(lambda: ImageJob.objects.filter(pk=job.pk, status="running", progress__gt=0.1).exists(), 60)
        assert terminate_heartbeating_backends() >= 1
        # the worker itself records the failure and the retry (not the reaper, after the lease)
        assert wait_for(lambda: ImageJob.objects.filter(pk=job.pk, status="queued", attempts=1,
                                                        error__startswith="Attempt 1 failed").exists(), 20)
        finished = finish([job.pk], reap_every=3, rounds=12)
    finally:
        kill(worker)
    job.refresh_from_db()
    assert finished and (job.attempts, job.error) == (2, ""), (job.status, job.attempts, job.error)
    assert_once_each(settings, [job.pk], 2)


@pytest.mark.django_db(transaction=True)
def test_the_commit_takes_the_write_lock_before_reading(gan_version, product_image):
    """On SQLite a transaction that reads first cannot be upgraded to a writer while another worker commits
    ("database is locked" at once, with no waiting; bench_load saw it with two workers): the job's guarded
    UPDATE must be the commit's first statement."""
    from django.test.utils import CaptureQueriesContext

    job = jobs.create_jobs(ImageJob.Kind.VARIANTS, [product_image], variant_params(count=2))[0]
    with CaptureQueriesContext(connection) as queries:
        assert jobs.run_job(job.pk).status == "succeeded"
    sql = [q["sql"] for q in queries.captured_queries]
    first_write = next(i for i, q in enumerate(sql) if q.startswith('UPDATE "prodimg_plugin_imagejob" SET "status"')
                       and "succeeded" in q)
    slots_read = next(i for i, q in enumerate(sql) if q.startswith('SELECT "prodimg_plugin_generatedimage"."slot"'))
    assert first_write < slots_read
    assert sql[first_write - 1] in ("BEGIN", "BEGIN IMMEDIATE")  # the first statement of its transaction


def test_the_reaper_rings_again_only_for_doorbells_the_broker_lost(settings, three_images, monkeypatch):
    """A long backlog is not a lost doorbell: re-ringing every waiting job on each run would flood the queue."""
    from datetime import timedelta

    from django.utils import timezone

    settings.PRODIMG = {**settings.PRODIMG, "JOB_QUEUE_STALE_SECONDS": 60}
    now = timezone.now()
    a, b, c, retrying = jobs.create_jobs(ImageJob.Kind.VARIANTS, three_images + three_images[:1], variant_params())
    ImageJob.objects.update(created_at=now - timedelta(minutes=30))
    ImageJob.objects.filter(pk=a.pk).update(enqueued_at=now - timedelta(minutes=20))
    ImageJob.objects.filter(pk=b.pk).update(enqueued_at=now - timedelta(minutes=15))  # c: never enqueued
    ImageJob.objects.filter(pk=retrying.pk).update(enqueued_at=now - timedelta(minutes=20), attempts=1,
                                                   not_before=now + timedelta(minutes=5))  # in its backoff
    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    for waiting, rung in [(3, []), (1, [c.pk, a.pk]), (0, [c.pk, a.pk, b.pk])]:
        monkeypatch.setattr(jobs, "doorbells_waiting", lambda waiting=waiting: waiting)
        assert jobs.reap() == rung, waiting
    assert ImageJob.objects.get(pk=retrying.pk).not_before is not None  # its backoff is kept
