"""The variant job: produces images, idempotent, fails readably, leaves no files behind."""
import numpy as np
import pytest
from PIL import Image

from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.files import stored_files

pytestmark = pytest.mark.django_db


def media_files(settings):
    return sorted(stored_files(settings.MEDIA_ROOT, "prodimg/generated").values())


def new_job(image, **params):
    return jobs.create_jobs(ImageJob.Kind.VARIANTS, [image], {**variant_params(), **params})[0]


def test_variant_job_makes_distinct_full_resolution_variants(gan_version, product_image):
    job = jobs.run_job(new_job(product_image, count=3).pk)
    assert job.status == "succeeded" and job.progress == 1.0 and job.attempts == 1
    results = list(job.results.order_by("slot"))
    assert len(results) == 3
    source = np.asarray(Image.open(product_image.image.path).convert("RGB"), dtype=float)
    arrays = []
    for g in results:
        assert g.kind == "variant" and g.status == "pending" and g.model_version == gan_version
        with Image.open(g.image.path) as im:
            assert im.size == (90, 120)  # the source's resolution, not the model's 16x12
            arr = np.asarray(im.convert("RGB"), dtype=float)
        assert arr.std() > 5  # not blank
        assert np.abs(arr - source).mean() > 1  # not the source
        arrays.append(arr)
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.abs(arrays[i] - arrays[j]).mean() > 0.5


def test_running_a_job_twice_never_makes_a_second_set(gan_version, product_image, settings):
    job = new_job(product_image, count=2)
    jobs.run_job(job.pk)
    files = media_files(settings)
    assert jobs.run_job(job.pk) is None  # already succeeded: nothing to claim
    assert GeneratedImage.objects.filter(job=job).count() == 2
    assert media_files(settings) == files


def test_same_seed_same_images(gan_version, product_image):
    a = jobs.run_job(new_job(product_image, count=2, seed=7).pk)
    b = jobs.run_job(new_job(product_image, count=2, seed=7).pk)
    for ga, gb in zip(a.results.order_by("slot"), b.results.order_by("slot")):
        assert np.array_equal(np.asarray(Image.open(ga.image.path)), np.asarray(Image.open(gb.image.path)))


def test_vanished_source_file_fails_with_a_message(gan_version, product_image, settings):
    product_image.image.storage.delete(product_image.image.name)
    job = jobs.run_job(new_job(product_image).pk)
    assert job.status == "failed"
    assert "vanished" in job.error
    assert not job.results.exists() and media_files(settings) == []


def test_corrupt_source_fails_with_a_message(gan_version, product_image):
    with open(product_image.image.path, "r+b") as fh:
        fh.truncate(60)
    job = jobs.run_job(new_job(product_image).pk)
    assert job.status == "failed" and "damaged or truncated" in job.error


def test_no_model_fails_with_how_to_fix(product_image, settings):
    settings.PRODIMG = {**settings.PRODIMG, "BUNDLED_WEIGHTS_DIR": None}
    job = jobs.run_job(new_job(product_image).pk)
    assert job.status == "failed" and "prodimg_train gan" in job.error


def test_tampered_weights_fail_the_job_clearly(gan_version, product_image):
    from prodimg_plugin import weights

    weights.clear_cache()
    with gan_version.weights.open("r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00" * 16)
    job = jobs.run_job(new_job(product_image).pk)
    assert job.status == "failed" and "sha256" in job.error


def test_unknown_target_colour_fails_naming_the_allowed_ones(gan_version, product_image):
    job = jobs.run_job(new_job(product_image, colours=["ultraviolet"]).pk)
    assert job.status == "failed" and "ultraviolet" in job.error and "green" in job.error


def test_failure_while_storing_leaves_no_rows_or_files(gan_version, product_image, settings, monkeypatch):
    original = GeneratedImage.save
    calls = {"n": 0}

    def flaky_save(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return original(self, *a, **kw)

    monkeypatch.setattr(GeneratedImage, "save", flaky_save)
    job = jobs.run_job(new_job(product_image, count=3).pk)
    assert job.status == "queued" and "disk full" in job.error  # transient: retried later
    assert not GeneratedImage.objects.exists() and media_files(settings) == []


def test_transient_errors_retry_with_backoff_then_fail(gan_version, product_image, monkeypatch):
    from prodimg_plugin.generation import variants

    monkeypatch.setattr(variants, "make_variants", lambda *a: (_ for _ in ()).throw(ConnectionError("db gone")))
    job = new_job(product_image)
    job = jobs.run_job(job.pk)
    assert job.status == "queued" and job.not_before is not None and "Attempt 1" in job.error
    assert jobs.run_job(job.pk) is None  # backoff: not due yet
    for _ in range(2):
        ImageJob.objects.filter(pk=job.pk).update(not_before=None)
        job = jobs.run_job(job.pk)
    assert job.status == "failed" and job.attempts == 3 and "db gone" in job.error


def test_a_job_whose_worker_died_is_reaped_and_finished_once(gan_version, product_image, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    job = new_job(product_image, count=2)
    # a worker claimed it, then was killed: running, heartbeat long ago
    ImageJob.objects.filter(pk=job.pk).update(status="running", attempts=1, worker="dead:1:x",
                                              heartbeat_at=timezone.now() - timedelta(minutes=30))
    enqueued = []
    monkeypatch.setattr(jobs, "enqueue", lambda pk: enqueued.append(pk))
    assert jobs.reap() == [job.pk] and enqueued == [job.pk]
    job = jobs.run_job(job.pk)
    assert job.status == "succeeded" and job.attempts == 2 and job.results.count() == 2


def test_a_live_lease_is_not_stolen(gan_version, product_image):
    from django.utils import timezone

    job = new_job(product_image)
    ImageJob.objects.filter(pk=job.pk).update(status="running", attempts=1, worker="alive:1:x", heartbeat_at=timezone.now())
    assert jobs.run_job(job.pk) is None
    assert ImageJob.objects.get(pk=job.pk).worker == "alive:1:x"


def test_jobs_are_enqueued_only_after_commit(product_image, monkeypatch, django_capture_on_commit_callbacks):
    enqueued = []
    monkeypatch.setattr(jobs, "enqueue", lambda pk: enqueued.append(pk))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        created = jobs.create_jobs(ImageJob.Kind.VARIANTS, [product_image], variant_params())
        assert enqueued == []
    assert len(callbacks) == 1 and enqueued == [created[0].pk]


def test_enqueue_hands_the_job_to_django_q(product_image):
    from django_q.brokers import get_broker

    job = new_job(product_image)
    broker = get_broker()
    before = broker.queue_size() or 0
    jobs.enqueue(job.pk)
    job.refresh_from_db()
    assert job.enqueued_at is not None and job.task_id
    assert (broker.queue_size() or 0) == before + 1
    broker.purge_queue()
