"""The "AI images" panel and the jobs list: private to users who may see unpublished images, and current without
reloading by hand (the panel fetches itself again while a job runs; a lost worker is said as such)."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from prodimg_plugin import signals
from prodimg_plugin.generation import review
from prodimg_plugin.generation.jobs import job_state
from prodimg_plugin.models import GeneratedImage, ImageJob

from tests.factories import make_user
from tests.plugin.personalize_helpers import make_generated

pytestmark = pytest.mark.django_db


def image_page(client, image):
    return client.get(reverse("admin:catalog_productimage_change", args=[image.pk])).content.decode()


def test_staff_without_prodimg_permissions_see_no_unpublished_images(client, product_image, staff_without_perms):
    make_generated(product_image, "green", (40, 112, 62), status="pending")
    client.force_login(staff_without_perms)
    page = image_page(client, product_image)
    assert "AI images" not in page and "data-prodimg-panel" not in page and "prodimg_review" not in page
    panel = client.get(reverse("admin:prodimg_plugin_generatedimage_panel"), {"images": str(product_image.pk)})
    assert panel.status_code == 403


def test_viewers_see_the_panel_and_only_reviewers_get_the_buttons(client, product_image, staff_with_perms):
    make_generated(product_image, "green", (40, 112, 62), status="pending")
    viewer = make_user("viewer", staff=True, perms=("prodimg_plugin.view_generatedimage", "catalog.view_productimage",
                                                     "catalog.change_productimage"))
    client.force_login(viewer)
    page = image_page(client, product_image)
    assert "data-prodimg-panel" in page and "Pending review" in page and "prodimg_review" not in page
    client.force_login(staff_with_perms)
    page = image_page(client, product_image)
    assert 'name="prodimg_review" value="approve"' in page and "admin-refresh.js" in page


def test_the_panel_fragment_is_what_the_page_shows_and_ignores_ids_that_are_no_pk(client, product_image,
                                                                                   staff_with_perms):
    make_generated(product_image, "green", (40, 112, 62), status="pending")
    client.force_login(staff_with_perms)
    url = reverse("admin:prodimg_plugin_generatedimage_panel")
    fragment = client.get(url, {"images": f"{product_image.pk},not-a-pk,", "next": "https://evil.example/"})
    html = fragment.content.decode()
    assert fragment.status_code == 200 and 'value="approve"' in html and "evil.example" not in html
    assert client.get(url, {"images": "x" * 50}).status_code == 200


def test_a_running_job_keeps_the_panel_refreshing_and_a_finished_one_stops_it(client, product_image,
                                                                                 staff_with_perms):
    job = ImageJob.objects.create(kind="variants", source=product_image, status="running", attempts=1,
                                  progress=0.4, heartbeat_at=timezone.now())
    client.force_login(staff_with_perms)
    url = reverse("admin:prodimg_plugin_generatedimage_panel")
    html = client.get(url, {"images": str(product_image.pk)}).content.decode()
    assert 'data-prodimg-pending="1"' in html and "Running 40 %" in html
    ImageJob.objects.filter(pk=job.pk).update(status="succeeded", progress=1.0)
    html = client.get(url, {"images": str(product_image.pk)}).content.decode()
    assert 'data-prodimg-pending="1"' not in html and "Succeeded" in html


def test_a_job_whose_worker_stopped_heartbeating_says_when_it_will_be_retried(product_image):
    now = timezone.now()
    job = ImageJob(kind="variants", source=product_image, status="running", attempts=1, max_attempts=3,
                   heartbeat_at=now - timedelta(minutes=10))
    text = job_state(job, now)
    retry_at = timezone.localtime(now + timedelta(minutes=1)).strftime("%H:%M")
    assert text.startswith("Worker lost") and f"will be retried at {retry_at}" in text and "attempt 2 of 3" in text
    job.attempts = 3
    assert "will be marked failed" in job_state(job, now)
    job.heartbeat_at = now
    assert job_state(job, now) == "Running 0 %"
    waiting = ImageJob(kind="variants", status="queued", attempts=1, max_attempts=3,
                       not_before=now + timedelta(minutes=5))
    assert job_state(waiting, now).startswith("Retrying at ")


def test_the_jobs_list_says_a_lost_worker_and_reloads_while_jobs_run(client, product_image):
    ImageJob.objects.create(kind="variants", source=product_image, status="running", attempts=1,
                            heartbeat_at=timezone.now() - timedelta(hours=1))
    client.force_login(make_user("boss", superuser=True))
    page = client.get(reverse("admin:prodimg_plugin_imagejob_changelist")).content.decode()
    assert "Worker lost" in page and 'data-prodimg-pending="1"' in page and "admin-refresh.js" in page


def test_approve_and_reject_are_idempotent(product_image):
    generated = make_generated(product_image, "green", (40, 112, 62), status="pending")
    sent = []
    signals.image_approved.connect(receiver := lambda sender, generated, **kw: sent.append(generated.pk))
    try:
        review.approve(generated)
        first = GeneratedImage.objects.get(pk=generated.pk).reviewed_at
        review.approve(GeneratedImage.objects.get(pk=generated.pk))
        assert sent == [generated.pk] and GeneratedImage.objects.get(pk=generated.pk).reviewed_at == first
    finally:
        signals.image_approved.disconnect(receiver)
    review.reject(generated)
    review.reject(generated)
    assert GeneratedImage.objects.get(pk=generated.pk).status == "rejected"


def test_unpublished_files_are_private_and_served_only_to_viewers(client, settings, product_image,
                                                                  staff_without_perms, staff_with_perms):
    from pathlib import Path

    generated = make_generated(product_image, "green", (40, 112, 62), status="pending")
    name = generated.image.name
    assert not (Path(settings.MEDIA_ROOT) / name).exists()  # nothing under the public MEDIA_ROOT
    url = generated.image.url
    assert url == reverse("admin:prodimg_plugin_generatedimage_file", args=[name])
    assert client.get(url).status_code == 302  # to the admin login
    client.force_login(staff_without_perms)
    assert client.get(url).status_code == 403
    client.force_login(staff_with_perms)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content)[:4] == b"\x89PNG"
    assert client.get(reverse("admin:prodimg_plugin_generatedimage_file",
                              args=["prodimg/generated/../../etc/passwd"])).status_code == 404


def test_approval_publishes_the_files_and_rejection_withdraws_them(settings, product_image):
    from pathlib import Path

    from prodimg_plugin.storefront import candidates

    generated = make_generated(product_image, "green", (40, 112, 62), status="pending")
    public = Path(settings.MEDIA_ROOT) / generated.image.name
    review.approve(generated)
    assert public.is_file()
    shown = [c for c in candidates.build(product_image.product) if c.generated_id == generated.pk]
    assert shown and shown[0].url == settings.MEDIA_URL + generated.image.name
    assert GeneratedImage.objects.get(pk=generated.pk).image.url == shown[0].url
    review.reject(GeneratedImage.objects.get(pk=generated.pk))
    assert not public.exists() and GeneratedImage.objects.get(pk=generated.pk).image.storage.exists(
        generated.image.name)  # the private file stays until a purge
