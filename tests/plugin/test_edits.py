"""Attribute edits with the CVAE: the admin action and its form, the job, the API, the training command."""
import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse
from PIL import Image
from rest_framework.test import APIClient

from ml.metrics import psnr
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.params import InvalidEditTarget, edit_params
from prodimg_plugin.models import GeneratedImage, ImageJob, ModelVersion

from tests.factories import make_image, make_product_image
from tests.plugin.conftest_cvae import (  # noqa: F401  (fixtures)
    COLOURS,
    cvae_version,
    cvae_weights,
    no_bundled_weights,
    staff_who_edits,
)

pytestmark = pytest.mark.django_db

IMAGE_CHANGELIST = reverse("admin:catalog_productimage_changelist")
PRODUCT_CHANGELIST = reverse("admin:catalog_product_changelist")


def edit_form(ids, **choices):
    return {"action": "edit_attributes", "_selected_action": [str(i) for i in ids], "prodimg_confirm": "1",
            "category": "keep", "colour": "keep", "pattern": "keep", **choices}


def run_edit(image, target: dict, **params) -> ImageJob:
    job = jobs.create_jobs(ImageJob.Kind.EDITS, [image], {**edit_params(target), **params})[0]
    return jobs.run_job(job.pk)


def pixels(file) -> np.ndarray:
    with Image.open(file) as im:
        return np.asarray(im.convert("RGB"))


# ---- the job -----------------------------------------------------------------------------------------------

def test_edit_job_makes_a_pending_edit_at_the_originals_resolution(cvae_version, product_image):
    job = run_edit(product_image, {"colour": "navy-blue"})
    assert job.status == "succeeded", job.error
    [edit] = job.results.all()
    assert edit.kind == "edit" and edit.status == "pending" and edit.model_version == cvae_version
    assert edit.params["target"] == {"colour": "navy-blue"} and edit.params["source_attributes"]["colour"] == "red"
    with Image.open(edit.image.path) as im:
        assert im.size == (90, 120)  # the source's size, not the model's 16x12
    assert np.abs(pixels(edit.image.path).astype(float) - pixels(product_image.image.path)).mean() > 0.5


def test_a_null_edit_gives_practically_the_original(cvae_version, product_image):
    job = run_edit(product_image, {"colour": "red", "category": "tee"})  # what the product already is
    [edit] = job.results.all()
    assert psnr(pixels(edit.image.path), pixels(product_image.image.path)) > 40


def test_grayscale_originals_are_converted(cvae_version):  # tiny ones are refused: tests/plugin/test_bad_sources.py
    gray = make_image(size=(66, 90), colour=(120, 120, 120)).convert("L")
    image = make_product_image("Grey Tee", colour="red", image=gray)
    job = run_edit(image, {"colour": "green"})
    assert job.status == "succeeded", job.error
    with Image.open(job.results.get().image.path) as im:
        assert im.size == (66, 90) and im.mode == "RGB"


def test_a_target_unknown_when_the_job_runs_fails_the_job_readably(cvae_version, product_image):
    job = jobs.create_jobs(ImageJob.Kind.EDITS, [product_image], {"target": {"colour": "tartan"}})[0]
    job = jobs.run_job(job.pk)
    assert job.status == "failed" and "tartan" in job.error and "navy-blue" in job.error
    assert not GeneratedImage.objects.exists()


def test_edit_params_speak_the_models_spelling_and_name_the_allowed_values(cvae_version):
    assert edit_params({"colour": "Navy Blue"}) == {"target": {"colour": "navy-blue"}}
    with pytest.raises(InvalidEditTarget) as bad:
        edit_params({"colour": "tartan", "sleeve": "long"})
    assert "navy-blue" in bad.value.errors["colour"] and "category" in bad.value.errors["sleeve"]


# ---- the admin ---------------------------------------------------------------------------------------------

def test_admin_form_lists_the_models_attributes_and_values_and_queues_one_job_per_image(
    client, staff_who_edits, three_images, cvae_version, monkeypatch, django_capture_on_commit_callbacks
):
    enqueued = []
    monkeypatch.setattr(jobs, "enqueue", enqueued.append)
    client.force_login(staff_who_edits)
    ids = [i.pk for i in three_images]
    page = client.post(IMAGE_CHANGELIST, {"action": "edit_attributes", "_selected_action": ids}).content.decode()
    for field in ('name="colour"', 'name="category"', 'name="pattern"', 'value="navy-blue"', 'value="dress"',
                  'value="keep"'):
        assert field in page
    assert not ImageJob.objects.exists()  # nothing queued before the form is submitted
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(IMAGE_CHANGELIST, edit_form(ids, colour="navy-blue"), follow=True)
        assert enqueued == []  # the doorbell rings only once the jobs have committed
    for callback in callbacks:
        callback()
    assert "Queued 3 edit" in response.content.decode()
    created = ImageJob.objects.order_by("pk")
    assert [j.source_id for j in created] == ids and sorted(enqueued) == [j.pk for j in created]
    assert all(j.kind == "edits" and j.params["target"] == {"colour": "navy-blue"} for j in created)


def test_admin_action_from_the_product_list_runs_the_edits(
    client, staff_who_edits, three_images, cvae_version, inline_jobs, django_capture_on_commit_callbacks
):
    client.force_login(staff_who_edits)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PRODUCT_CHANGELIST, edit_form([three_images[0].product_id], colour="black"), follow=True)
    edit = GeneratedImage.objects.get()
    assert edit.source == three_images[0] and edit.kind == "edit" and edit.status == "pending"


@pytest.mark.parametrize("choices", [{"colour": "tartan"}, {}])
def test_admin_form_errors_instead_of_queueing(client, staff_who_edits, three_images, cvae_version, choices):
    client.force_login(staff_who_edits)
    response = client.post(IMAGE_CHANGELIST, edit_form([three_images[0].pk], **choices))
    page = response.content.decode()
    assert response.status_code == 200 and 'class="errorlist' in page
    assert ("navy-blue" in page and "tartan" in page) if choices else "at least one" in page
    assert not ImageJob.objects.exists()


def test_admin_without_a_model_says_how_to_train_one(client, staff_who_edits, three_images, no_bundled_weights):
    client.force_login(staff_who_edits)
    response = client.post(IMAGE_CHANGELIST, edit_form([three_images[0].pk], colour="red"))
    assert response.status_code == 200 and "prodimg_train cvae" in response.content.decode()
    assert not ImageJob.objects.exists()


def test_staff_without_the_permission_cannot_edit_in_the_admin(client, staff_with_perms, three_images, cvae_version):
    client.force_login(staff_with_perms)  # may generate variants, not edit
    assert 'value="edit_attributes"' not in client.get(IMAGE_CHANGELIST).content.decode()
    client.post(IMAGE_CHANGELIST, edit_form([three_images[0].pk], colour="pink"), follow=True)
    assert not ImageJob.objects.exists()


# ---- the API -----------------------------------------------------------------------------------------------

@pytest.fixture
def api(staff_who_edits):
    client = APIClient()
    client.force_authenticate(staff_who_edits)
    return client


def test_post_edits_answers_202_and_the_job_detail_shows_the_result(
    api, product_image, cvae_version, inline_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/prodimg/edits/", {"image": product_image.pk, "target": {"colour": "Navy Blue"}},
                            format="json")
    assert response.status_code == 202
    job = response.json()["job"]
    assert job["kind"] == "edits" and job["params"]["target"] == {"colour": "navy-blue"}
    detail = api.get(f"/api/prodimg/jobs/{job['id']}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == 1.0
    [result] = detail["results"]
    assert result["kind"] == "edit" and result["status"] == "pending"
    assert result["image"].startswith("http://testserver/")


@pytest.mark.parametrize("target, named", [
    ({"colour": "tartan"}, "navy-blue"),
    ({"sleeve": "long"}, "colour"),
    ({}, "target"),
])
def test_unknown_attributes_or_values_answer_400_naming_the_allowed_ones(
    api, product_image, cvae_version, target, named
):
    response = api.post("/api/prodimg/edits/", {"image": product_image.pk, "target": target}, format="json")
    assert response.status_code == 400 and named in str(response.json())
    assert not ImageJob.objects.exists()


def test_edits_api_without_a_model_says_so(api, product_image, no_bundled_weights):
    response = api.post("/api/prodimg/edits/", {"image": product_image.pk, "target": {"colour": "red"}}, format="json")
    assert response.status_code == 503 and "prodimg_train cvae" in response.json()["detail"]


@pytest.mark.parametrize("who", ["anonymous", "shopper", "staff_with_perms"])
def test_only_staff_with_the_edit_permission_can_edit(who, request, product_image, cvae_version):
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(request.getfixturevalue(who))
    response = client.post("/api/prodimg/edits/", {"image": product_image.pk, "target": {"colour": "red"}},
                           format="json")
    assert response.status_code in (401, 403)
    assert not ImageJob.objects.exists()


# ---- training ----------------------------------------------------------------------------------------------

def test_prodimg_train_cvae_registers_an_editor_resumes_and_exports(three_images, tmp_path):
    from prodimg_plugin import weights

    make_product_image("Red Dress", category="dress", colour="red")
    make_product_image("Green Dress", category="dress", colour="green", rgb=(40, 112, 62))
    ckpt, bundle, out = tmp_path / "ckpt", tmp_path / "bundle", io.StringIO()
    common = ["--size", "16x16", "--batch-size", "4", "--checkpoint-dir", str(ckpt), "--seed", "3"]
    call_command("prodimg_train", "cvae", "--steps", "2", *common, stdout=out, stderr=io.StringIO())
    call_command("prodimg_train", "cvae", "--steps", "3", "--resume", "--export-to", str(bundle), *common,
                 stdout=out, stderr=io.StringIO())
    version = ModelVersion.objects.get(kind="cvae", active=True)
    assert version.metrics["steps"] == 3 and version.config["seed"] == 3
    assert (ckpt / "losses.png").exists()
    assert weights.sha256_bytes((bundle / "cvae.safetensors").read_bytes()) == version.sha256
    weights.clear_cache()
    editable = weights.get_model("cvae")[1].editable()
    assert editable["colour"] == ["green", "red"] and editable["category"] == ["dress", "tee"]


# ---- evaluation --------------------------------------------------------------------------------------------

def test_prodimg_eval_cvae_reports_edits_and_null_edits_and_stores_them_on_the_version(cvae_version, tmp_path):
    import json

    from prodimg_plugin.evaluation.cvae import format_cvae

    colours = ["red", "navy-blue", "green"] * 4
    images = [make_product_image(f"Tee {n}", colour=c, rgb=COLOURS[c]) for n, c in enumerate(colours)]
    held_out = [i for i in images if i.pk % 5 == 0]  # the rest train the evaluator
    out = io.StringIO()
    call_command("prodimg_eval", "cvae", "--out", str(tmp_path), "--evaluator-minutes", "0.01", "--colours", "3",
                 "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert sorted(report["targets"]) == ["green", "navy-blue", "red"]
    assert set(report["per_target"]) == set(report["targets"])
    assert report["images"] == len(held_out) and report["n"] == 2 * len(held_out)  # each to the two other colours
    assert 0 <= report["success"] <= 1 and 0 < report["ssim_lum"] <= 1 and report["category_kept"] is not None
    assert report["null_psnr_min"] >= 40 and report["null_ssim"] > 0.99
    with Image.open(report["grid"]) as grid:
        assert grid.size == (4 * 72, 14 + len(held_out) * 96)
    cvae_version.refresh_from_db()
    assert cvae_version.metrics["eval"]["n"] == report["n"]
    assert "navy-blue" in format_cvae(report) and "Null edit: PSNR" in format_cvae(report)


def test_prodimg_eval_cvae_without_a_model_says_how_to_train_one(db, no_bundled_weights, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="prodimg_train cvae"):
        call_command("prodimg_eval", "cvae", "--out", str(tmp_path), stdout=io.StringIO())
