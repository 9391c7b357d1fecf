"""Background removal: the enhance job's `background` param, the admin action and `POST /api/prodimg/enhance/`."""
import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as dj_settings
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from prodimg_plugin import weights
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.backgrounds import background_param
from prodimg_plugin.models import ImageJob

from tests.factories import make_image, make_product_image, make_user
from tests.plugin.conftest_cvae import no_bundled_weights  # noqa: F401  (fixture)
from tests.plugin.quality_helpers import small_enhancement

pytestmark = pytest.mark.django_db

IMAGE_CHANGELIST = reverse("admin:catalog_productimage_changelist")
BLUE = (40, 70, 150)


@pytest.fixture
def mask_version(db):
    """The demo's shipped mask model, registered as the active one."""
    path = Path(dj_settings.PRODIMG["BUNDLED_WEIGHTS_DIR"]) / "mask.safetensors"
    weights.clear_cache()
    yield weights.register_weights("mask", path.read_bytes(), name="demo mask")
    weights.clear_cache()


@pytest.fixture
def garment(db):
    return make_product_image("Blue Tee", colour="blue", image=make_image((90, 120), colour=BLUE))


@pytest.fixture
def retoucher(db):
    return make_user("retoucher", staff=True, perms=(
        "catalog.view_productimage", "catalog.change_productimage", "prodimg_plugin.enhance_images",
        "prodimg_plugin.view_imagejob"))


def enhance_job(image, background):
    return jobs.run_job(jobs.create_jobs(ImageJob.Kind.ENHANCE, [image], {"background": background})[0].pk)


def pixels(field_or_name, storage=None) -> np.ndarray:
    with (storage.open(field_or_name) if storage else field_or_name.open("rb")) as fh, Image.open(fh) as im:
        return np.asarray(im.convert("RGBA"))


def product_and_backdrop(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The middle of the garment and the canvas's corners (backdrop in every layout)."""
    h, w = arr.shape[:2]
    middle = arr[int(h * 0.45): int(h * 0.6), int(w * 0.4): int(w * 0.6)].reshape(-1, 4)
    corners = np.concatenate([arr[:3, :3], arr[:3, -3:], arr[-3:, :3], arr[-3:, -3:]]).reshape(-1, 4)
    return middle, corners


# ---- the job -----------------------------------------------------------------------------------------------

def test_transparent_background_gives_an_rgba_png_with_alpha_renditions(settings, mask_version, garment):
    small_enhancement(settings)
    settings.PRODIMG = {**settings.PRODIMG, "OUTPUT_FORMAT": "JPEG"}  # JPEG has no alpha: must not be used
    job = enhance_job(garment, "transparent")
    assert job.status == "succeeded", job.error
    generated = job.results.get()
    assert generated.image.name.endswith(".png") and generated.model_version == mask_version
    with generated.image.open("rb") as fh, Image.open(fh) as im:
        assert im.mode == "RGBA" and im.size == (60, 80)
    middle, corners = product_and_backdrop(pixels(generated.image))
    assert (corners[:, 3] < 10).all()  # backdrop transparent
    assert (middle[:, 3] > 245).all() and np.abs(middle[:, :3].astype(int) - BLUE).max() < 40  # product opaque
    assert "cutout" in generated.params["steps"] and "background" not in generated.params["steps"]
    assert generated.params["details"]["cutout"]["background"] == "transparent"
    assert set(generated.renditions) == {"60x80.webp", "30x40.webp"}  # no JPEG renditions of a cut-out
    small = pixels(generated.renditions["30x40.webp"], generated.image.storage)
    assert small.shape == (40, 30, 4) and small[0, 0, 3] < 10 and small[20, 15, 3] > 245


def test_a_colour_background_replaces_the_backdrop_and_keeps_the_product(settings, mask_version, garment):
    small_enhancement(settings)
    job = enhance_job(garment, "#FF0000")
    assert job.status == "succeeded", job.error
    generated = job.results.get()
    assert generated.params["details"]["cutout"]["background"] == "#ff0000"
    middle, corners = product_and_backdrop(pixels(generated.image))
    assert np.abs(corners[:, :3].astype(int) - (255, 0, 0)).max() <= 3
    assert np.abs(middle[:, :3].astype(int) - BLUE).max() < 40
    assert set(generated.renditions) == {"60x80.webp", "60x80.jpeg", "30x40.webp", "30x40.jpeg"}  # opaque: as usual


def test_a_shadow_background_darkens_the_backdrop_only_under_the_product(settings, mask_version, garment):
    small_enhancement(settings)
    white, shadow = (pixels(enhance_job(garment, bg).results.get().image)[..., :3].astype(int).min(axis=-1)
                     for bg in ("white", "shadow"))
    shaded = np.argwhere((white >= 250) & (shadow < 245))  # backdrop on white, darker with the shadow
    assert len(shaded) > 10 and shaded[:, 0].min() > white.shape[0] // 2  # on the floor, not beside the product
    assert (shadow[:4] >= 250).all()  # the top of the canvas stays white


def test_without_a_mask_model_the_job_fails_saying_how_to_train_one(
    settings, garment, no_bundled_weights  # noqa: F811
):
    small_enhancement(settings)
    weights.clear_cache()
    job = enhance_job(garment, "white")
    assert job.status == "failed" and "prodimg_train mask" in job.error
    assert not job.results.exists()


def test_a_photo_without_a_product_fails_with_the_masks_reason(settings, mask_version):
    small_enhancement(settings)
    blank = make_product_image("Backdrop", image=Image.new("RGB", (90, 120), (250, 250, 250)))
    job = enhance_job(blank, "transparent")
    assert job.status == "failed" and "no product could be separated" in job.error
    assert not job.results.exists()


def test_an_invalid_background_in_a_jobs_params_fails_it_readably(settings, mask_version, garment):
    small_enhancement(settings)
    job = enhance_job(garment, "tartan")
    assert job.status == "failed" and "transparent, white, shadow" in job.error


@pytest.mark.parametrize("given, expected", [
    (None, "keep"), ("", "keep"), ("Keep", "keep"), (" Transparent ", "transparent"), ("WHITE", "white"),
    ("shadow", "shadow"), ("#FFaa00", "#ffaa00"), ("ffaa00", "#ffaa00"),
])
def test_background_param_normalises_the_choices(given, expected):
    assert background_param(given) == expected


@pytest.mark.parametrize("given", ["tartan", "#ff00", "#gg0000", "red", 5])
def test_background_param_refuses_anything_else_naming_the_choices(given):
    with pytest.raises(ValueError, match="keep, transparent, white, shadow"):
        background_param(given)


# ---- the admin action --------------------------------------------------------------------------------------

def action(ids, **fields) -> dict:
    return {"action": "remove_background", "_selected_action": [str(i) for i in ids], "prodimg_confirm": "1",
            **fields}


def test_admin_action_offers_the_backgrounds_and_queues_jobs(
    client, settings, retoucher, mask_version, garment, inline_jobs, django_capture_on_commit_callbacks
):
    small_enhancement(settings)
    client.force_login(retoucher)
    assert 'value="remove_background"' in client.get(IMAGE_CHANGELIST).content.decode()
    page = client.post(IMAGE_CHANGELIST, {"action": "remove_background", "_selected_action": [garment.pk]})
    text = page.content.decode()
    assert "Remove background" in text and 'value="shadow"' in text and 'name="colour"' in text
    other = make_product_image("Green Tee", image=make_image((90, 120), colour=(40, 112, 62)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(IMAGE_CHANGELIST, action([garment.pk, other.pk], background="colour",
                                                        colour="#F4F4F4"), follow=True)
    assert "Queued 2 enhance" in response.content.decode()
    assert [j.params["background"] for j in ImageJob.objects.all()] == ["#f4f4f4", "#f4f4f4"]
    assert set(ImageJob.objects.values_list("status", flat=True)) == {"succeeded"}


def test_admin_action_from_the_product_list_queues_a_job_per_image(client, mask_version, garment):
    client.force_login(make_user("merchant", superuser=True))
    client.post(reverse("admin:catalog_product_changelist"), action([garment.product_id], background="shadow"))
    assert list(ImageJob.objects.values_list("source_id", "params__background")) == [(garment.pk, "shadow")]


@pytest.mark.parametrize("fields, named", [
    ({"background": "colour", "colour": "#12345"}, "colour like #f4f4f4"),
    ({"background": "colour", "colour": ""}, "colour like #f4f4f4"),
    ({"background": "tartan"}, "tartan"),
])
def test_admin_form_errors_instead_of_queueing(client, retoucher, mask_version, garment, fields, named):
    client.force_login(retoucher)
    response = client.post(IMAGE_CHANGELIST, action([garment.pk], **fields))
    assert response.status_code == 200 and named in response.content.decode()
    assert not ImageJob.objects.exists()


def test_admin_action_without_a_mask_model_says_how_to_train_one(
    client, retoucher, garment, no_bundled_weights  # noqa: F811
):
    client.force_login(retoucher)
    response = client.post(IMAGE_CHANGELIST, action([garment.pk], background="white"))
    assert "prodimg_train mask" in response.content.decode()
    assert not ImageJob.objects.exists()


def test_admin_action_needs_the_enhance_permission(client, staff_without_perms, mask_version, garment):
    client.force_login(staff_without_perms)
    assert 'value="remove_background"' not in client.get(IMAGE_CHANGELIST).content.decode()
    client.post(IMAGE_CHANGELIST, action([garment.pk], background="white"))
    assert not ImageJob.objects.exists()


# ---- the API -----------------------------------------------------------------------------------------------

@pytest.fixture
def api(retoucher):
    client = APIClient()
    client.force_authenticate(retoucher)
    return client


def test_post_enhance_queues_one_job_per_image_with_the_background(
    api, settings, mask_version, garment, inline_jobs, django_capture_on_commit_callbacks
):
    small_enhancement(settings)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/prodimg/enhance/", {"images": [garment.pk, garment.pk], "background": "Transparent"},
                            format="json")
    assert response.status_code == 202
    [job] = response.json()["jobs"]
    assert job["kind"] == "enhance" and job["params"]["background"] == "transparent"
    detail = api.get(f"/api/prodimg/jobs/{job['id']}/").json()
    assert detail["status"] == "succeeded" and detail["results"][0]["image"].endswith(".png")


def test_post_enhance_without_a_background_keeps_todays_enhancement(api, garment):
    response = api.post("/api/prodimg/enhance/", {"images": [garment.pk]}, format="json")
    assert response.status_code == 202 and "background" not in response.json()["jobs"][0]["params"]


@pytest.mark.parametrize("body, field", [
    ({"background": "tartan"}, "background"), ({"background": "#12"}, "background"), ({"images": [999999]}, "images"),
    ({"images": []}, "images"),
])
def test_invalid_requests_answer_400_naming_the_field(api, mask_version, garment, body, field):
    response = api.post("/api/prodimg/enhance/", {"images": [garment.pk], **body}, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not ImageJob.objects.exists()
    if field == "background":
        assert "transparent, white, shadow" in json.dumps(response.json())


def test_post_enhance_without_a_mask_model_answers_503(api, garment, no_bundled_weights):  # noqa: F811
    response = api.post("/api/prodimg/enhance/", {"images": [garment.pk], "background": "white"}, format="json")
    assert response.status_code == 503 and "prodimg_train mask" in response.json()["detail"]
    assert not ImageJob.objects.exists()


def test_enhance_needs_the_enhance_permission(staff_with_perms, garment):
    client = APIClient()
    client.force_authenticate(staff_with_perms)  # may generate variants, not enhance
    response = client.post("/api/prodimg/enhance/", {"images": [garment.pk]}, format="json")
    assert response.status_code == 403 and not ImageJob.objects.exists()


def test_openapi_schema_lists_the_enhance_endpoint_and_its_background_field(api):
    schema = api.get("/api/prodimg/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "post" in schema["paths"]["/api/prodimg/enhance/"]
    fields = schema["components"]["schemas"]["EnhanceRequest"]["properties"]
    assert {"images", "background"} <= set(fields) and "#rrggbb" in fields["background"]["description"]
