"""Other storage backends: jobs, review, purge and backfill go through Django's storage API only.

Each test runs on Django 5.2's InMemoryStorage and, when django-storages, boto3 and moto are installed (the
`test` extras), on django-storages' S3Storage against moto's S3 server on 127.0.0.1. If anything in the plugin
used filesystem paths (os.path, open(), FieldFile.path), these tests would find no file, or find one under
MEDIA_ROOT.
"""
import importlib.util
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from prodimg_plugin.generation import jobs, review
from prodimg_plugin.generation.params import variant_params
from prodimg_plugin.models import GeneratedImage, ImageJob, job_folder
from prodimg_plugin.storage import private_storage
from prodimg_plugin.upkeep import purge

from tests.plugin.processes import free_port

HAVE_S3 = all(importlib.util.find_spec(m) for m in ("storages", "boto3", "moto"))


@pytest.fixture(scope="module")
def s3_endpoint():
    """moto's S3 server in a thread of this process, on a free port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def s3_backend(request, monkeypatch) -> dict:
    import boto3

    endpoint = request.getfixturevalue("s3_endpoint")
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    bucket = f"prodimg-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=bucket)
    return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": bucket, "endpoint_url": endpoint, "region_name": "us-east-1", "file_overwrite": False}}


@pytest.fixture(autouse=True, params=[
    "memory", pytest.param("s3", marks=pytest.mark.skipif(not HAVE_S3, reason="needs django-storages[s3] and moto "
                                                                                '(pip install -e ".[test]")'))])
def other_storage(request, settings, monkeypatch):
    """Every file of the test (sources, weights, results) lives in that storage; set before any fixture writes."""
    def backend():
        return s3_backend(request, monkeypatch) if request.param == "s3" else {
            "BACKEND": "django.core.files.storage.InMemoryStorage"}

    public, private = backend(), backend()  # two buckets: unpublished generated images in the private one
    settings.STORAGES = {**settings.STORAGES, "default": public, "prodimg_private": private}
    settings.PRODIMG = {**settings.PRODIMG, "PURGE_GRACE_SECONDS": 0, "PURGE_REJECTED_AFTER_DAYS": 0,
                        "PRIVATE_STORAGE": "prodimg_private"}
    assert private_storage().__class__.__name__ == private["BACKEND"].rsplit(".", 1)[1]
    yield
    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))  # nothing reached the disk


def generate(images, count=2) -> list[ImageJob]:
    created = jobs.create_jobs(ImageJob.Kind.VARIANTS, images, variant_params(count=count))
    return [jobs.run_job(j.pk) for j in created]


def stored(name: str) -> bool:
    """In either storage: the public one, or the private one of unpublished generated images."""
    return bool(name) and (default_storage.exists(name) or private_storage().exists(name))


def test_variants_review_and_purge_work_on_another_storage(gan_version, three_images):
    assert stored(gan_version.weights.name) and stored(three_images[0].image.name)
    assert {j.status for j in generate(three_images)} == {"succeeded"}
    approved, rejected, *_ = GeneratedImage.objects.order_by("pk")
    assert all(stored(g.image.name) for g in GeneratedImage.objects.all())
    assert not default_storage.exists(approved.image.name)  # private until approved
    with approved.image.open("rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    review.approve(approved)
    assert default_storage.exists(approved.image.name)  # published
    review.reject(rejected)
    orphan = default_storage.save(job_folder("variant", 999) + "left-by-a-killed-job.png", ContentFile(b"x"))

    plan = purge.purge()
    assert orphan in plan.orphaned and not stored(orphan)
    assert not stored(rejected.image.name) and not GeneratedImage.objects.filter(pk=rejected.pk).exists()
    assert stored(approved.image.name) and stored(gan_version.weights.name)
    assert GeneratedImage.objects.count() == 5
    assert purge.purge().files() == []  # nothing else was unreferenced


def test_a_retry_cleans_its_job_folder_on_another_storage(gan_version, product_image):
    job = jobs.create_jobs(ImageJob.Kind.VARIANTS, [product_image], variant_params(count=2))[0]
    stale = default_storage.save(job_folder("variant", job.pk) + "attempt-1-0.png", ContentFile(b"half written"))

    assert jobs.run_job(job.pk).status == "succeeded"
    _, files = GeneratedImage._meta.get_field("image").storage.listdir(job_folder("variant", job.pk))
    assert not stored(stale)
    assert sorted(job_folder("variant", job.pk) + f for f in files) == sorted(
        GeneratedImage.objects.filter(job=job).values_list("image", flat=True))


def test_backfill_runs_on_another_storage(gan_version, three_images):
    out = StringIO()
    call_command("prodimg_backfill", "variants", "--inline", stdout=out)
    assert GeneratedImage.objects.filter(kind="variant").values("source").distinct().count() == 3
    assert all(stored(g.image.name) for g in GeneratedImage.objects.all())
    call_command("prodimg_backfill", "variants", "--inline", stdout=out)  # a rerun finds them done
    assert ImageJob.objects.count() == 3 and GeneratedImage.objects.count() == 3 * 4
