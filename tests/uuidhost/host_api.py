"""The API, the storefront and the click beacon on a host keyed by UUIDs (or strings: PRODIMG_TEST_HOST_KEY).

Run by tests/uuidhost/test_uuid_host.py in a process of its own (`pytest --ds=tests.uuidhost.settings` on this
file): the plugin's foreign keys to the host's pictures are made for this host's key type when its migrations run.
"""
from __future__ import annotations

import html
import os
import re
import time

import pytest
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.management import call_command
from rest_framework.test import APIClient

from prodimg_plugin.models import GeneratedImage, ImageEvent, ImageJob, RecommenderState
from prodimg_plugin.storefront import personalize
from prodimg_plugin.storefront.context import parse_key, source_key

from tests.factories import make_image, make_user, png_bytes
from tests.plugin.conftest import gan_version, gan_weights  # noqa: F401  (fixtures)
from tests.plugin.conftest_cvae import cvae_version, cvae_weights  # noqa: F401  (fixtures)
from tests.uuidhost.keys import KEY
from tests.uuidhost.models import Item, Picture

pytestmark = pytest.mark.django_db
EVENTS = "/api/prodimg/events/"
# an id of the right type that names nothing, and one the key field refuses (with the reason it gives)
UNKNOWN = {"uuid": "00000000-0000-4000-8000-000000000000", "string": "SKU-9999/none.a"}[KEY]
MALFORMED, REASON = {"uuid": ("not-a-uuid", "is not a valid UUID."),
                     "string": ("S" * 41, "Ensure this value has at most 40 characters (it has 41).")}[KEY]
QUIET = {"RECOMMENDER_SEED": 0, "LEARN_INTERVAL_SECONDS": None, "STATE_REFRESH_SECONDS": 0, "RATE_LIMIT_IMAGES": 0}


def make_picture(title: str, colour: str = "red", rgb=(190, 40, 40)) -> Picture:
    item = Item.objects.create(title=title, colour=colour)
    picture = Picture(item=item)
    picture.picture.save(f"{title}.png", ContentFile(png_bytes(make_image(size=(72, 96), colour=rgb))), save=True)
    return picture


@pytest.fixture(autouse=True)
def quiet(settings):
    settings.PRODIMG = {**settings.PRODIMG, **QUIET}
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    personalize.reset()
    yield
    personalize.reset()


@pytest.fixture
def pictures(db):
    return [make_picture("Red Tee"), make_picture("Green Tee", "green", (40, 112, 62))]


@pytest.fixture
def staff(db):
    client = APIClient()
    client.force_authenticate(make_user("editor", superuser=True))
    return client


def test_manage_py_check_is_content_with_this_host(capsys):
    assert [e.id for e in run_checks() if e.id.startswith("prodimg")] == []
    call_command("check")
    assert "no issues" in capsys.readouterr().out


def test_the_plugins_foreign_keys_follow_the_hosts_key_type():
    host_type = Picture._meta.pk.get_internal_type()
    assert host_type == {"uuid": "UUIDField", "string": "CharField"}[KEY]
    assert GeneratedImage._meta.get_field("source").target_field.get_internal_type() == host_type


def test_variants_take_the_hosts_ids_and_generated_lists_filter_by_them(
    staff, pictures, gan_version, settings, django_capture_on_commit_callbacks  # noqa: F811
):
    red, green = pictures
    settings.PRODIMG = {**settings.PRODIMG, "RUN_JOBS_INLINE": True}
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post("/api/prodimg/variants/", {"images": [str(red.pk)], "count": 2}, format="json")
    assert response.status_code == 202, response.content
    [job] = response.json()["jobs"]
    detail = staff.get(f"/api/prodimg/jobs/{job['id']}/").json()
    assert detail["source"] == str(red.pk) and detail["status"] == "succeeded", detail
    listed = staff.get("/api/prodimg/generated/", {"source": str(red.pk)}).json()
    assert listed["count"] == 2 and {row["source"] for row in listed["results"]} == {str(red.pk)}
    assert staff.get("/api/prodimg/generated/", {"source": str(green.pk)}).json()["count"] == 0
    bad = staff.get("/api/prodimg/generated/", {"source": MALFORMED})
    assert bad.status_code == 400 and REASON in bad.json()["source"][0]


@pytest.mark.parametrize("given, said", [
    (MALFORMED, ["Not a valid product image id", REASON]),
    (12, ["Not a valid product image id: expected a string, not int."]),
    (UNKNOWN, ["Unknown product image id", UNKNOWN]),
])
def test_bad_ids_answer_400_on_every_job_endpoint(staff, pictures, cvae_version, no_queue, given, said):  # noqa: F811
    for url, body in (("/api/prodimg/variants/", {"images": [given]}), ("/api/prodimg/enhance/", {"images": [given]}),
                      ("/api/prodimg/edits/", {"image": given, "target": {"colour": "navy-blue"}})):
        response = staff.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        assert all(part in str(response.json()) for part in said), (url, response.json())
    assert not ImageJob.objects.exists() and no_queue == []


def test_edits_and_enhance_queue_jobs_for_the_hosts_ids(
    staff, pictures, cvae_version, no_queue, django_capture_on_commit_callbacks  # noqa: F811
):
    red, green = pictures
    with django_capture_on_commit_callbacks(execute=True):
        edit = staff.post("/api/prodimg/edits/", {"image": str(red.pk), "target": {"colour": "Navy Blue"}},
                          format="json")
        enhance = staff.post("/api/prodimg/enhance/", {"images": [str(green.pk), str(red.pk), str(green.pk)]},
                             format="json")
    assert edit.status_code == 202 and enhance.status_code == 202, (edit.content, enhance.content)
    assert ImageJob.objects.get(kind="edits").source == red
    assert {j.source_id for j in ImageJob.objects.filter(kind="enhance")} == {red.pk, green.pk}
    assert len(no_queue) == 3  # enqueued once each, after the commit


def approved_variant(picture) -> GeneratedImage:
    generated = GeneratedImage(source=picture, kind="variant", status="approved", seed=0,
                               params={"mode": "colourway", "attribute": "colour", "colour": "green"})
    generated.image.save("green.png", ContentFile(png_bytes(make_image(size=(30, 40), colour=(40, 112, 62)))),
                         save=True)
    return generated


def test_candidate_keys_carry_the_hosts_ids(pictures):
    red = pictures[0]
    assert parse_key(source_key(red.pk)) == ("s", str(red.pk)) and parse_key("g12") == ("g", 12)
    assert Picture.objects.get(pk=parse_key(source_key(red.pk))[1]) == red  # the key field takes it as written
    for bad in ("s", "g" + str(red.pk), "x12", ""):
        with pytest.raises(ValueError):
            parse_key(bad)


def test_personalized_and_events_take_the_hosts_ids(pictures):
    red, green = pictures
    variant = approved_variant(red)
    shopper = APIClient()
    shopper.force_login(make_user("ann"))
    answer = shopper.get(f"/api/prodimg/personalized/{red.item_id}/")
    assert answer.status_code == 200, answer.content
    assert answer.json()["product"] == str(red.item_id) and answer.json()["image"]["source"] == str(red.pk)
    assert shopper.get(f"/api/prodimg/personalized/{UNKNOWN}/").status_code == 404
    assert shopper.get(f"/api/prodimg/personalized/{MALFORMED}/").status_code == 404
    good = [{"type": "click", "product": str(red.item_id), "decision_id": answer.json()["decision_id"]},
            {"type": "add_to_cart", "product": str(red.item_id), "source": str(red.pk)},
            {"type": "purchase", "product": str(red.item_id), "generated": variant.pk}]
    response = shopper.post(EVENTS, {"events": good}, format="json")
    assert response.status_code == 201, response.content
    stored_events = ImageEvent.objects.exclude(type="impression").order_by("id")
    assert [(e.source_id, e.product_id) for e in stored_events] == [(red.pk, str(red.item_id))] * 3
    stored = shopper.get(EVENTS).json()
    assert stored["count"] == 4 and {row["source"] for row in stored["results"]} == {str(red.pk)}
    for event, field, message in (
        ({"type": "click", "product": MALFORMED, "source": str(red.pk)}, "product", REASON),
        ({"type": "click", "product": str(red.item_id), "source": MALFORMED}, "source", REASON),
        ({"type": "click", "product": str(red.item_id), "source": 7}, "source", "expected a string, not int"),
        ({"type": "click", "product": str(red.item_id), "source": str(green.pk)}, "source", "not of that product"),
    ):
        bad = shopper.post(EVENTS, {"events": [event]}, format="json")
        assert bad.status_code == 400 and field in str(bad.json()) and message in str(bad.json()), (event, bad.json())
    assert ImageEvent.objects.count() == 4


def attributes_of(page: str) -> list[dict[str, str]]:
    """The data-prodimg-* attributes of each personalised image on a page, as the beacon reads them."""
    found = []
    for tag in re.findall(r"<img [^>]*data-prodimg-decision[^>]*>", page):
        found.append({name: html.unescape(value) for name, value in re.findall(r'data-prodimg-([a-z]+)="([^"]*)"', tag)})
    return found


def test_the_beacons_clicks_are_stored_and_learnt_from(pictures, settings):
    """What static/prodimg/beacon.js posts for a click, read from the page's attributes, plus the source it names."""
    red, green = pictures
    approved_variant(green)
    client = APIClient(enforce_csrf_checks=True)  # an anonymous shopper, as in a browser
    page = client.get("/").content.decode()
    token = re.search(r'data-csrf-token="([^"]+)"', page).group(1)
    cards = attributes_of(page)
    assert {card["product"] for card in cards} == {str(red.item_id), str(green.item_id)}
    for card in cards:
        event = {"type": "click", "product": card["product"], "decision_id": card["decision"], "page": "/",
                 "position": int(card["position"]), "source": card["source"]}
        if card.get("generated"):
            event["generated"] = int(card["generated"])
        response = client.post(EVENTS, {"events": [event]}, format="json", HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 201, response.content
    clicks = ImageEvent.objects.filter(type="click")
    assert {str(c.source_id) for c in clicks} == {card["source"] for card in cards}
    settings.PRODIMG = {**settings.PRODIMG, "LEARN_ATTRIBUTION_SECONDS": 0, "ATTRIBUTION_HOURS": 0}  # learn now
    assert personalize.learn() == 2  # both decisions, with their clicks: the recommender learnt from them
    assert RecommenderState.objects.get().events_seen >= 2


def test_the_schema_shows_the_hosts_key_type(staff):
    schema = staff.get("/api/prodimg/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    want = {"uuid": {"type": "string", "format": "uuid"}, "string": {"type": "string", "maxLength": 40}}[KEY]
    parts = schema["components"]["schemas"]
    listing = {p["name"]: p["schema"] for p in schema["paths"]["/api/prodimg/generated/"]["get"]["parameters"]}
    personalized = {p["name"]: p for p in schema["paths"]["/api/prodimg/personalized/{product_id}/"]["get"]["parameters"]}
    for shown in (parts["VariantRequest"]["properties"]["images"]["items"], parts["EditRequest"]["properties"]["image"],
                  parts["EnhanceRequest"]["properties"]["images"]["items"], parts["Event"]["properties"]["source"],
                  parts["Event"]["properties"]["product"], personalized["product_id"]["schema"], listing["source"]):
        assert want.items() <= shown.items(), shown
    assert personalized["product_id"]["in"] == "path" and {"page", "page_size"} <= set(listing)


def test_the_plain_host_admin_gets_the_plugins_actions_and_panel(client, pictures):
    client.force_login(make_user("boss", superuser=True))
    changelist = client.get("/admin/uuidhost/picture/")
    assert changelist.status_code == 200 and b"generate_variants" in changelist.content
    red = pictures[0]
    approved_variant(red)
    page = client.get(f"/admin/uuidhost/picture/{red.pk}/change/")
    assert page.status_code == 200 and b"AI images" in page.content


# ---- the real beacon in a browser (skipped where Chromium is absent) -------------------------------------------

@pytest.fixture(scope="session")
def browser():
    chromium = os.environ.get("PRODIMG_CHROMIUM", "/usr/bin/chromium")
    if not os.path.exists(chromium):
        pytest.skip(f"Chromium not found at {chromium}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        yield browser
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_a_click_in_a_browser_reaches_the_events_api(browser, live_server):
    red = make_picture("Red Tee")
    page = browser.new_page()
    try:
        page.goto(f"{live_server.url}/")
        img = page.locator("img[data-prodimg-decision]").first
        assert img.get_attribute("data-prodimg-source") == str(red.pk)
        img.click()  # the card is a link: the beacon sends the click as the page is left
        page.wait_for_load_state()
        deadline = time.monotonic() + 15
        while not ImageEvent.objects.filter(type="click").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        page.close()
    click = ImageEvent.objects.get(type="click")
    assert (click.source_id, click.product_id) == (red.pk, str(red.item_id))
