"""The REST API through DRF's APIClient."""
import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from prodimg_plugin.models import GeneratedImage, ImageJob

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(staff_with_perms):
    client = APIClient()
    client.force_authenticate(staff_with_perms)
    return client


def test_post_variants_answers_202_with_jobs_and_the_job_reports_results(
    api, three_images, gan_version, inline_jobs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/prodimg/variants/", {"images": [three_images[0].pk], "count": 2}, format="json")
    assert response.status_code == 202
    job_id = response.json()["jobs"][0]["id"]
    detail = api.get(f"/api/prodimg/jobs/{job_id}/").json()
    assert detail["status"] == "succeeded" and detail["progress"] == 1.0 and detail["error"] == ""
    assert len(detail["results"]) == 2 and detail["results"][0]["image"].startswith(
        "http://testserver/admin/prodimg_plugin/generatedimage/file/")  # pending review: private


@pytest.mark.parametrize("payload, field", [
    ({"images": []}, "images"),
    ({"images": ["x"]}, "images"),
    ({"images": [999999]}, "images"),
    ({"count": 2}, "images"),
    ({"images": [1], "count": 500}, "count"),
    ({"images": [1], "mode": "nonsense"}, "mode"),
])
def test_bad_variant_requests_answer_400_saying_what_is_wrong(api, product_image, payload, field):
    response = api.post("/api/prodimg/variants/", payload, format="json")
    assert response.status_code == 400 and field in response.json()
    assert not ImageJob.objects.exists()


def test_token_authentication_works(staff_with_perms, product_image, monkeypatch):
    from prodimg_plugin.generation import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    token = Token.objects.create(user=staff_with_perms)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.post("/api/prodimg/variants/", {"images": [product_image.pk]}, format="json").status_code == 202


@pytest.mark.parametrize("who", ["anonymous", "shopper", "staff_without_perms"])
def test_only_staff_with_the_permission_can_generate(who, request, product_image):
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(request.getfixturevalue(who))
    response = client.post("/api/prodimg/variants/", {"images": [product_image.pk]}, format="json")
    assert response.status_code in (401, 403)
    assert client.get("/api/prodimg/generated/").status_code in (401, 403)
    assert not ImageJob.objects.exists()


@pytest.fixture
def generated(gan_version, product_image):
    from prodimg_plugin.generation import jobs
    from prodimg_plugin.generation.params import variant_params

    job = jobs.create_jobs("variants", [product_image], variant_params(count=2))[0]
    return list(jobs.run_job(job.pk).results.order_by("slot"))


def test_list_generated_with_filters(api, generated):
    assert api.get("/api/prodimg/generated/").json()["count"] if isinstance(api.get("/api/prodimg/generated/").json(), dict) else True
    rows = api.get("/api/prodimg/generated/", {"status": "pending", "kind": "variant"}).json()
    rows = rows["results"] if isinstance(rows, dict) else rows
    assert {r["id"] for r in rows} == {g.pk for g in generated}
    none = api.get("/api/prodimg/generated/", {"status": "approved"}).json()
    assert (none["results"] if isinstance(none, dict) else none) == []
    assert api.get("/api/prodimg/generated/", {"status": "bogus"}).status_code == 400


def test_approve_and_reject(api, generated):
    assert api.post(f"/api/prodimg/generated/{generated[0].pk}/approve/").json()["status"] == "approved"
    assert api.post(f"/api/prodimg/generated/{generated[1].pk}/reject/").json()["status"] == "rejected"
    assert api.post("/api/prodimg/generated/999999/approve/").status_code == 404
    assert list(GeneratedImage.objects.order_by("slot").values_list("status", flat=True)) == ["approved", "rejected"]


def test_openapi_schema_lists_the_endpoints(api):
    response = api.get("/api/prodimg/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    text = response.content.decode()
    for path in ("/api/prodimg/variants/", "/api/prodimg/jobs/{id}/", "/api/prodimg/generated/"):
        assert path in text
