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


BIG = 9223372036854775808  # one beyond BigAutoField's range: 400, never a database overflow (a 500)


@pytest.mark.parametrize("payload, field, said", [
    ({"images": []}, "images", "Ensure this field has at least 1 elements."),
    ({"images": ["x"]}, "images", "Not a valid product image id: “x” value must be an integer."),
    ({"images": [BIG]}, "images",
     "Not a valid product image id: Ensure this value is less than or equal to 9223372036854775807."),
    ({"images": [str(BIG)]}, "images", "Ensure this value is less than or equal to 9223372036854775807."),
    ({"images": [True]}, "images", "Not a valid product image id: expected an integer, not bool."),
    ({"images": [1.5]}, "images", "Not a valid product image id: expected an integer, not float."),
    ({"images": [999999]}, "images", "Unknown product image id(s): 999999."),
    ({"count": 2, "images": None}, "images", "This field may not be null."),
    ({"count": 500}, "count", "must be a whole number between 1 and 12"),
    ({"mode": "nonsense"}, "mode", "is not a valid choice."),
    ({"strength": 5}, "strength", "Ensure this value is less than or equal to 2.0."),
    ({"colours": ["ultraviolet"]}, "colours", "unknown colour 'ultraviolet'; the model knows: "),
    ({"colours": ["red", "Infra Red", "ultraviolet"]}, "colours", "unknown colours 'Infra Red', 'ultraviolet'"),
])
def test_bad_variant_requests_answer_400_saying_what_is_wrong(api, product_image, gan_version, payload, field, said,
                                                             monkeypatch):
    from prodimg_plugin.generation import jobs

    queued = []
    monkeypatch.setattr(jobs, "enqueue", queued.append)
    response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], **payload}, format="json")
    assert response.status_code == 400 and field in response.json(), response.json()
    assert said in str(response.json()[field]), response.json()
    assert not ImageJob.objects.exists() and queued == []


def test_an_unknown_colour_names_the_gans_colours_and_a_known_one_is_spelt_its_way(api, product_image, gan_version,
                                                                                   monkeypatch):
    from prodimg_plugin.generation import jobs

    monkeypatch.setattr(jobs, "enqueue", lambda pk: None)
    refused = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "colours": ["ultraviolet"]},
                       format="json").json()
    assert refused == {"colours": ["unknown colour 'ultraviolet'; the model knows: black, green, navy-blue, pink, red, "
                                   "yellow"]}
    accepted = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "colours": ["Navy Blue", "pink"]},
                        format="json")
    assert accepted.status_code == 202 and accepted.json()["jobs"][0]["params"]["colours"] == ["navy-blue", "pink"]


def test_colours_without_a_gan_answer_503_and_queue_nothing(api, product_image, settings):
    settings.PRODIMG = {**settings.PRODIMG, "BUNDLED_WEIGHTS_DIR": None}
    response = api.post("/api/prodimg/variants/", {"images": [product_image.pk], "colours": ["red"]}, format="json")
    assert response.status_code == 503 and "prodimg_train gan" in response.json()["detail"]
    assert not ImageJob.objects.exists()


def test_the_worker_checks_a_jobs_params_with_the_requests_own_check(product_image, gan_version):
    """A job queued around the API (or before the GAN changed) fails with the same message the API gives."""
    from prodimg_plugin.generation import jobs

    job = jobs.create_jobs("variants", [product_image], {"count": 2, "mode": "colourways", "colours": ["ultraviolet"]})[0]
    job = jobs.run_job(job.pk)
    assert job.status == "failed" and job.attempts == 1
    assert job.error == "colours: unknown colour 'ultraviolet'; the model knows: black, green, navy-blue, pink, red, yellow"


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
    rows = api.get("/api/prodimg/generated/", {"status": "pending", "kind": "variant"}).json()["results"]
    assert {r["id"] for r in rows} == {g.pk for g in generated}
    assert api.get("/api/prodimg/generated/", {"source": generated[0].source_id}).json()["count"] == 2
    assert api.get("/api/prodimg/generated/", {"job": generated[0].job_id, "needs_look": "false"}).json()["count"] \
        == sum(not g.needs_look for g in generated)
    assert api.get("/api/prodimg/generated/", {"status": "approved"}).json()["results"] == []
    assert api.get("/api/prodimg/generated/", {"status": ""}).json()["count"] == 2  # an empty filter is no filter


@pytest.mark.parametrize("query, said", [
    ({"status": "bogus"}, {"status": ['"bogus" is not a valid choice.']}),
    ({"kind": "photo"}, {"kind": ['"photo" is not a valid choice.']}),
    ({"source": str(BIG)}, {"source": ["Not a valid product image id: Ensure this value is less than or equal to "
                                       "9223372036854775807."]}),
    ({"source": "abc"}, {"source": ["Not a valid product image id: “abc” value must be an integer."]}),
    ({"job": "-1x"}, {"job": ["Not a valid job id: “-1x” value must be an integer."]}),
    ({"needs_look": "maybe"}, {"needs_look": ["Must be a valid boolean."]}),
])
def test_bad_filters_answer_400_naming_the_filter(api, query, said):
    response = api.get("/api/prodimg/generated/", query)
    assert response.status_code == 400 and response.json() == said


def test_generated_images_come_a_page_at_a_time(api, generated, settings):
    settings.PRODIMG = {**settings.PRODIMG, "API_PAGE_SIZE": 1, "API_MAX_PAGE_SIZE": 2}
    first = api.get("/api/prodimg/generated/").json()
    assert first["count"] == 2 and len(first["results"]) == 1 and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 1 and second["next"] is None
    assert {first["results"][0]["id"], second["results"][0]["id"]} == {g.pk for g in generated}
    assert len(api.get("/api/prodimg/generated/", {"page_size": 50}).json()["results"]) == 2  # capped at 2
    assert api.get("/api/prodimg/generated/", {"page": 9}).status_code == 404


def test_ids_beyond_the_columns_range_are_not_found(api, generated):
    assert api.get(f"/api/prodimg/jobs/{BIG}/").status_code == 404
    assert api.post(f"/api/prodimg/generated/{BIG}/approve/").status_code == 404
    assert api.post(f"/api/prodimg/generated/{BIG * 10**6}/reject/").status_code == 404


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


def test_the_schema_shows_integer_ids_and_pages(api):
    schema = api.get("/api/prodimg/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    parts, paths = schema["components"]["schemas"], schema["paths"]
    assert parts["VariantRequest"]["properties"]["images"]["items"]["type"] == "integer"
    assert parts["Event"]["properties"]["source"]["type"] == "integer"
    [product_id] = [p for p in paths["/api/prodimg/personalized/{product_id}/"]["get"]["parameters"] if p["in"] == "path"]
    assert product_id["schema"] == {"type": "integer", "format": "int64"}
    listing = paths["/api/prodimg/generated/"]["get"]
    assert {"source", "job", "kind", "status", "needs_look", "page", "page_size"} <= {p["name"] for p in listing["parameters"]}
    assert listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedGeneratedImageList")
    events = paths["/api/prodimg/events/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert events["$ref"].endswith("PaginatedStoredEventList")


@pytest.mark.parametrize("who, public, answer", [
    ("anonymous", False, 403), ("shopper", False, 403), ("staff_without_perms", False, 200),
    ("anonymous", True, 200),
])
def test_the_schema_is_for_staff_unless_made_public(who, public, answer, request, settings):
    settings.PRODIMG = {**settings.PRODIMG, "API_SCHEMA_PUBLIC": public}
    client = APIClient()
    if who != "anonymous":
        client.force_authenticate(request.getfixturevalue(who))
    response = client.get("/api/prodimg/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == answer
    if answer == 403 and who != "anonymous":
        assert response.json() == {"detail": "You need staff status and the matching prodimg permission."}
