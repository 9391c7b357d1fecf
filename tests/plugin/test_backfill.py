"""prodimg_backfill and prodimg_purge: resumable without duplicates, per-image errors, dry runs that change nothing."""
import io
import os
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from prodimg_plugin.generation import jobs, review
from prodimg_plugin.models import GeneratedImage, ImageFeatures, ImageJob, QualityScore

from tests.factories import make_product_image
from tests.files import stored_files
from tests.plugin.quality_helpers import bad_files, odd_but_valid, photos, set_file, small_enhancement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(settings):
    small_enhancement(settings)


def backfill(*args) -> str:
    out = io.StringIO()
    call_command("prodimg_backfill", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def purge(*args) -> str:
    out = io.StringIO()
    call_command("prodimg_purge", *args, stdout=out)
    return out.getvalue()


def files(settings) -> set[str]:
    return set(stored_files(settings.MEDIA_ROOT))


def enhanced_per_image() -> dict[int, int]:
    rows = GeneratedImage.objects.filter(kind="enhanced").values_list("source_id", flat=True)
    return {pk: list(rows).count(pk) for pk in set(rows)}


def test_limit_then_rerun_finishes_without_duplicates():
    images = photos(4)
    assert "enhance: done 2, skipped 0, failed 0" in backfill("enhance", "--limit", "2", "--batch-size", "3")
    assert ImageJob.objects.count() == 2
    out = backfill("enhance", "--batch-size", "3")
    assert "done 2, skipped 2, failed 0" in out and "skipped 2: done by an earlier backfill" in out
    assert enhanced_per_image() == {i.pk: 1 for i in images}
    assert sorted(ImageJob.objects.values_list("key", flat=True)) == sorted(f"backfill:enhance:{i.pk}" for i in images)


class Killed(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs (not even `except Exception`)."""


def test_a_run_killed_mid_job_is_resumed_without_duplicates(monkeypatch):
    from prodimg_plugin.generation import enhance

    images = photos(5)
    real, calls = enhance.make_enhanced, []

    def dies_on_the_third(job, *args):
        calls.append(job.pk)
        if len(calls) == 3:
            raise Killed()
        return real(job, *args)

    monkeypatch.setattr(enhance, "make_enhanced", dies_on_the_third)
    with pytest.raises(Killed):
        backfill("enhance", "--batch-size", "2")
    killed = ImageJob.objects.get(source=images[2])
    assert killed.status == "running" and ImageJob.objects.count() == 3 and len(enhanced_per_image()) == 2

    out = backfill("enhance", "--batch-size", "2")
    assert "done 3, skipped 2, failed 0" in out
    assert enhanced_per_image() == {i.pk: 1 for i in images}
    assert ImageJob.objects.count() == 5 and set(ImageJob.objects.values_list("status", flat=True)) == {"succeeded"}
    assert "done 0, skipped 5" in backfill("enhance")


def test_a_job_another_live_worker_is_running_is_left_to_it():
    from django.utils import timezone

    image = photos(1)[0]
    ImageJob.objects.create(kind="enhance", source=image, key=f"backfill:enhance:{image.pk}", status="running",
                            attempts=1, worker="another-host:4242:abcd", heartbeat_at=timezone.now())
    assert "done 0, skipped 1" in backfill("enhance") and not GeneratedImage.objects.exists()
    assert ImageJob.objects.get().worker == "another-host:4242:abcd"


def test_missing_only_skips_images_that_already_have_a_result():
    images = photos(3)
    jobs.run_job(jobs.create_jobs(ImageJob.Kind.ENHANCE, [images[0]])[0].pk)  # from the admin: no backfill key
    out = backfill("enhance", "--missing-only")
    assert "done 2, skipped 1" in out and "already has one (--missing-only)" in out
    assert enhanced_per_image() == {i.pk: 1 for i in images}


def test_dry_run_changes_nothing(settings):
    photos(3)
    for kind in ("enhance", "variants", "quality", "embeddings"):
        assert f"{kind}: would process 3, skipped 0, failed 0" in backfill(kind, "--dry-run")
    assert not ImageJob.objects.exists() and not QualityScore.objects.exists() and files(settings) == set()
    assert not ImageFeatures.objects.exists()


def test_queue_hands_each_job_to_the_workers_once(monkeypatch):
    from django.utils import timezone

    enqueued = []

    def ring(pk):  # what jobs.enqueue records, without a broker
        enqueued.append(pk)
        ImageJob.objects.filter(pk=pk).update(enqueued_at=timezone.now())

    monkeypatch.setattr(jobs, "enqueue", ring)
    photos(3)
    assert "enhance: queued 3" in backfill("enhance", "--queue")
    assert "queued 0, skipped 3" in backfill("enhance", "--queue")
    assert len(enqueued) == 3 and ImageJob.objects.filter(status="queued").count() == 3


def test_bad_files_fail_one_by_one_and_the_batch_continues(settings):
    settings.PRODIMG = {**settings.PRODIMG, "MAX_IMAGE_PIXELS": 20_000}
    good = photos(2)
    odd = [set_file(make_product_image(f"Odd {n}"), f"products/{n}", data) for n, data in odd_but_valid().items()]
    bad = {set_file(make_product_image(f"Bad {n}"), f"products/{n}", data).pk: why
           for n, (data, why) in bad_files().items()}
    for kind in ("enhance", "quality"):
        out = backfill(kind, "--batch-size", "4")
        assert f"done {len(good) + len(odd)}, skipped 0, failed {len(bad)}" in out
        for pk, why in bad.items():
            line = next(line for line in out.splitlines() if f"image {pk}:" in line)
            assert why in line
    assert enhanced_per_image() == {i.pk: 1 for i in good + odd}
    assert QualityScore.objects.count() == len(good) + len(odd)


def test_quality_is_scored_once_per_file():
    images = photos(3)
    assert "quality: done 3" in backfill("quality")
    assert "done 0, skipped 3" in backfill("quality")
    set_file(images[0], "products/replaced.png", (Path(images[1].image.path)).read_bytes())
    assert "done 1, skipped 2" in backfill("quality")
    assert "done 0, skipped 3" in backfill("quality", "--missing-only")


def test_since_takes_only_files_written_after_the_date():
    images = photos(2)
    old = time.mktime((2020, 1, 1, 0, 0, 0, 0, 0, -1))
    os.utime(images[0].image.path, (old, old))
    out = backfill("quality", "--since", "2024-01-01")
    assert "done 1, skipped 1" in out and "file older than --since" in out
    assert list(QualityScore.objects.values_list("source_id", flat=True)) == [images[1].pk]


def test_edits_need_a_target_and_embeddings_are_computed_once():
    photos(2)
    with pytest.raises(CommandError, match="--target"):
        backfill("edits")
    assert "embeddings: done 2" in backfill("embeddings")
    assert "done 0, skipped 2" in backfill("embeddings")
    assert ImageFeatures.objects.filter(generated__isnull=True).count() == 2


# ---- purge --------------------------------------------------------------------------------------------------

def age(settings, name: str, days: int = 2) -> None:
    then = time.time() - days * 86400
    os.utime(stored_files(settings.MEDIA_ROOT)[name], (then, then))


def test_purge_dry_run_lists_and_changes_nothing_then_purge_removes(settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    kept_image, rejected_image = photos(2)
    backfill("enhance")
    kept, rejected = (GeneratedImage.objects.get(source=i) for i in (kept_image, rejected_image))
    review.reject(rejected)
    orphan = default_storage.save("prodimg/generated/enhanced/j999/killed-attempt.png", ContentFile(b"x"))
    young = default_storage.save("prodimg/renditions/enhanced/just-written/60x80.webp", ContentFile(b"x"))
    age(settings, orphan)
    settings.PRODIMG = {**settings.PRODIMG, "ENHANCE": {**settings.PRODIMG["ENHANCE"], "rendition_formats": ["webp"]}}
    before = files(settings)

    out = purge("--dry-run")
    assert f"orphaned: {orphan}" in out and young not in out
    assert f"rejected #{rejected.pk}: {rejected.image.name}" in out
    assert f"old rendition #{kept.pk} 60x80.jpeg" in out
    assert "Would remove 1 orphaned file(s), 1 rejected image(s)" in out
    assert files(settings) == before and GeneratedImage.objects.count() == 2

    purge()
    kept.refresh_from_db()
    assert set(kept.renditions) == {"60x80.webp", "30x40.webp"}
    expected = {kept.image.name, young, *kept.renditions.values()}
    assert files(settings) == expected | {f for f in before if f.startswith("prodimg/models/")}
    assert not GeneratedImage.objects.filter(pk=rejected.pk).exists()
    assert "Would remove 0 orphaned file(s), 0 rejected image(s) and 0 old rendition(s)" in purge("--dry-run")
