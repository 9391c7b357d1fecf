"""The admin actions, the review buttons and the panels, through the test client."""
import pytest
from django.urls import reverse

from prodimg_plugin.models import GeneratedImage, ImageJob

pytestmark = pytest.mark.django_db

IMAGE_CHANGELIST = reverse("admin:catalog_productimage_changelist")
PRODUCT_CHANGELIST = reverse("admin:catalog_product_changelist")


def run_action(client, url, action, ids):
    return client.post(url, {"action": action, "_selected_action": [str(i) for i in ids]}, follow=True)


def test_generate_variants_on_three_images_queues_jobs_that_make_variants(
    client, staff_with_perms, three_images, gan_version, inline_jobs, django_capture_on_commit_callbacks
):
    client.force_login(staff_with_perms)
    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(client, IMAGE_CHANGELIST, "generate_variants", [i.pk for i in three_images])
    assert response.status_code == 200
    assert "Queued 3 generate variants job(s)" in response.content.decode()
    jobs = ImageJob.objects.order_by("pk")
    assert [j.source_id for j in jobs] == [i.pk for i in three_images]
    assert all(j.status == "succeeded" and j.created_by == staff_with_perms for j in jobs)
    for image in three_images:
        assert GeneratedImage.objects.filter(source=image, kind="variant", status="pending").count() == 4


def test_generate_variants_from_the_product_list_covers_the_products_images(
    client, staff_with_perms, three_images, monkeypatch, django_capture_on_commit_callbacks
):
    from prodimg_plugin.generation import jobs

    enqueued = []
    monkeypatch.setattr(jobs, "enqueue", enqueued.append)
    client.force_login(staff_with_perms)
    with django_capture_on_commit_callbacks(execute=True):
        run_action(client, PRODUCT_CHANGELIST, "generate_variants", [three_images[0].product_id, three_images[1].product_id])
    assert sorted(ImageJob.objects.values_list("source_id", flat=True)) == [three_images[0].pk, three_images[1].pk]
    assert len(enqueued) == 2


def test_staff_without_the_permission_cannot_generate(client, staff_without_perms, three_images):
    client.force_login(staff_without_perms)
    page = client.get(IMAGE_CHANGELIST).content.decode()
    assert 'value="generate_variants"' not in page
    run_action(client, IMAGE_CHANGELIST, "generate_variants", [three_images[0].pk])
    assert not ImageJob.objects.exists()


def test_shopper_cannot_reach_the_admin(client, shopper, three_images):
    client.force_login(shopper)
    response = run_action(client, IMAGE_CHANGELIST, "generate_variants", [three_images[0].pk])
    assert "login" in response.redirect_chain[-1][0] if response.redirect_chain else response.status_code == 302
    assert not ImageJob.objects.exists()


@pytest.fixture
def generated(gan_version, product_image):
    from prodimg_plugin.generation import jobs
    from prodimg_plugin.generation.params import variant_params

    job = jobs.create_jobs("variants", [product_image], variant_params(count=2))[0]
    return list(jobs.run_job(job.pk).results.order_by("slot"))


def test_product_page_shows_variants_with_review_buttons_that_work(client, staff_with_perms, generated):
    client.force_login(staff_with_perms)
    product_id = generated[0].source.product_id
    url = reverse("admin:catalog_product_change", args=[product_id])
    page = client.get(url).content.decode()
    for g in generated:
        assert g.image.url in page
    review_url = reverse("admin:prodimg_plugin_generatedimage_review", args=[generated[0].pk, "approve"])
    assert review_url in page and "Pending review" not in page or "Approve" in page
    response = client.post(f"{review_url}?next={url}")
    assert response.status_code == 302 and response["Location"] == url
    generated[0].refresh_from_db()
    assert generated[0].status == "approved" and generated[0].reviewed_by == staff_with_perms


def test_review_needs_post_and_the_review_permission(client, staff_without_perms, generated):
    url = reverse("admin:prodimg_plugin_generatedimage_review", args=[generated[0].pk, "approve"])
    client.force_login(staff_without_perms)
    assert client.get(url).status_code in (403, 405)
    assert client.post(url).status_code == 403
    generated[0].refresh_from_db()
    assert generated[0].status == "pending"


def test_review_next_must_stay_on_site(client, staff_with_perms, generated):
    client.force_login(staff_with_perms)
    url = reverse("admin:prodimg_plugin_generatedimage_review", args=[generated[0].pk, "reject"])
    response = client.post(url + "?next=https://evil.example/")
    assert response.status_code == 302 and "evil" not in response["Location"]
    generated[0].refresh_from_db()
    assert generated[0].status == "rejected"


def test_approve_and_reject_actions_on_generated_images(client, staff_with_perms, generated):
    client.force_login(staff_with_perms)
    changelist = reverse("admin:prodimg_plugin_generatedimage_changelist")
    run_action(client, changelist, "approve", [generated[0].pk])
    run_action(client, changelist, "reject", [generated[1].pk])
    assert [g.status for g in GeneratedImage.objects.order_by("slot")] == ["approved", "rejected"]


def test_job_page_shows_status_and_error(client, staff_with_perms, product_image):
    job = ImageJob.objects.create(kind="variants", source=product_image, status="failed",
                                  error="the file of product image 1 has vanished from storage")
    client.force_login(staff_with_perms)
    page = client.get(reverse("admin:prodimg_plugin_imagejob_change", args=[job.pk])).content.decode()
    assert "vanished from storage" in page
    listing = client.get(reverse("admin:prodimg_plugin_imagejob_changelist")).content.decode()
    assert "vanished from storage" in listing


def test_generated_image_page_shows_original_and_variant_side_by_side(client, staff_with_perms, generated):
    client.force_login(staff_with_perms)
    page = client.get(reverse("admin:prodimg_plugin_generatedimage_change", args=[generated[0].pk])).content.decode()
    assert generated[0].image.url in page and generated[0].source.image.url in page
    assert f'<img src="{generated[0].image.url}"' in page  # rendered as images, not as escaped markup
    assert f'<img src="{generated[0].source.image.url}"' in page and "&lt;img" not in page


def test_variant_options_form_offers_the_models_colours_and_queues_what_was_chosen(
    client, staff_with_perms, three_images, gan_version, monkeypatch, django_capture_on_commit_callbacks
):
    from prodimg_plugin.generation import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    client.force_login(staff_with_perms)
    ids = [three_images[0].pk, three_images[1].pk]
    page = run_action(client, IMAGE_CHANGELIST, "generate_variants_with_options", ids).content.decode()
    assert 'value="navy-blue"' in page and 'name="count"' in page
    assert not ImageJob.objects.exists()  # nothing queued before the form is submitted
    form = {"action": "generate_variants_with_options", "_selected_action": ids, "prodimg_confirm": "1",
            "mode": "colourways", "count": "2", "colours": ["navy-blue", "pink"], "strength": "0.5"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMAGE_CHANGELIST, form, follow=True)
    assert "Queued 2" in response.content.decode()
    params = [j.params for j in ImageJob.objects.all()]
    assert all(p["colours"] == ["navy-blue", "pink"] and p["count"] == 2 and p["mode"] == "colourways" for p in params)


def test_variant_options_form_rejects_a_count_over_the_cap(client, staff_with_perms, three_images, gan_version):
    client.force_login(staff_with_perms)
    form = {"action": "generate_variants_with_options", "_selected_action": [three_images[0].pk], "prodimg_confirm": "1",
            "mode": "design", "count": "999", "strength": "0.5"}
    response = client.post(IMAGE_CHANGELIST, form)
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert not ImageJob.objects.exists()
