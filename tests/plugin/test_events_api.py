"""The shoppers' API: /api/prodimg/events/ and /api/prodimg/personalized/<product_id>/."""
from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from prodimg_plugin import signals
from prodimg_plugin.models import ImageEvent

from tests.factories import make_user
from tests.plugin.personalize_helpers import make_generated, product_with_variants

pytestmark = pytest.mark.django_db
EVENTS = "/api/prodimg/events/"


@pytest.fixture
def shop(db):
    """A product with an approved and a pending variant."""
    product, original, (variant,) = product_with_variants("Red Tee", "red", ["green"])
    pending = make_generated(original, "pink", (236, 152, 178), status="pending")
    return product, original, variant, pending


def chosen(client, product) -> dict:
    """Ask for the product's image (logs the impression); returns the answer."""
    response = client.get(f"/api/prodimg/personalized/{product.pk}/")
    assert response.status_code == 200, response.content
    return response.json()


def signed_in(user, csrf: bool = True) -> APIClient:
    client = APIClient(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def csrf_token(client) -> str:
    client.get("/")  # the storefront page sets the CSRF cookie
    return client.cookies["csrftoken"].value


def test_personalized_returns_the_image_propensity_and_decision(shop):
    product, original, variant, pending = shop
    client = signed_in(make_user("ann"))
    answer = chosen(client, product)
    image = answer["image"]
    assert image["source"] == original.pk and image["generated"] in (None, variant.pk)  # never the pending one
    shown = variant.image.url if image["generated"] else original.image.url
    assert image["url"].endswith(shown)
    # the default recommender draws (the holdout always shows the original, with propensity 1): whichever it was,
    # the answer carries the probability it was shown with, as the logged impression does
    assert 0 < answer["propensity"] <= 1 and len(answer["decision_id"]) == 32
    event = ImageEvent.objects.get()
    assert (event.type, event.decision_id, event.user.username) == ("impression", answer["decision_id"], "ann")
    assert event.propensity == pytest.approx(answer["propensity"]) and event.generated_id == image["generated"]
    assert client.get("/api/prodimg/personalized/999999/").status_code == 404
    assert client.get("/api/prodimg/personalized/not-a-number/").status_code == 404
    assert client.get("/api/prodimg/personalized/9223372036854775808/").status_code == 404  # beyond the key's range


def test_a_click_batch_is_stored_with_the_decisions_propensity_and_signals(shop):
    product, original, variant, _ = shop
    client = signed_in(make_user("ann"))
    answer = chosen(client, product)
    heard = []
    signals.image_clicked.connect(receiver := lambda sender, event, **kw: heard.append(event), weak=False)
    try:
        response = client.post(EVENTS, {"events": [
            {"type": "click", "product": str(product.pk), "decision_id": answer["decision_id"], "position": 2,
             "page": "/"},
            {"type": "add_to_cart", "product": str(product.pk), "source": original.pk},
        ]}, format="json", HTTP_X_CSRFTOKEN=csrf_token(client))
    finally:
        signals.image_clicked.disconnect(receiver)
    assert response.status_code == 201, response.content
    click = ImageEvent.objects.get(type="click")
    shown = answer["image"]  # the click is stored with what the decision showed and its probability
    assert (click.propensity, click.source_id, click.generated_id, click.position) == (
        pytest.approx(answer["propensity"]), shown["source"], shown["generated"], 2)
    assert [e.type for e in heard] == ["click", "add_to_cart"]


def test_csrf_is_enforced_on_session_authenticated_posts(shop):
    product, original, _, _ = shop
    body = {"events": [{"type": "click", "product": str(product.pk), "source": original.pk}]}
    client = signed_in(make_user("ann"))
    response = client.post(EVENTS, body, format="json")
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    anonymous = APIClient(enforce_csrf_checks=True)
    token = csrf_token(anonymous)  # an anonymous shopper with a session cookie, as the beacon posts
    assert anonymous.post(EVENTS, body, format="json").status_code == 403
    assert anonymous.post(EVENTS, body, format="json", HTTP_X_CSRFTOKEN=token).status_code == 201
    assert not ImageEvent.objects.filter(type="click", user__isnull=False).exists()


def test_token_authenticated_posts_need_no_csrf(shop):
    product, original, _, _ = shop
    user = make_user("headless")
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    response = client.post(EVENTS, {"events": [{"type": "purchase", "product": str(product.pk),
                                                "source": original.pk}]}, format="json")
    assert response.status_code == 201 and ImageEvent.objects.get().user == user


def test_the_beacons_form_encoded_batch_is_accepted(shop):
    product, original, _, _ = shop
    client = APIClient(enforce_csrf_checks=True)
    token = csrf_token(client)
    events = json.dumps([{"type": "click", "product": str(product.pk), "source": original.pk}])
    response = client.post(EVENTS, {"csrfmiddlewaretoken": token, "events": events})
    assert response.status_code == 201, response.content
    assert ImageEvent.objects.get(type="click").session_key == client.session.session_key


def test_a_shopper_reads_only_their_own_events(shop):
    product, _, _, _ = shop
    ann, bob = signed_in(make_user("ann"), csrf=False), signed_in(make_user("bob"), csrf=False)
    mine = chosen(ann, product)["decision_id"]
    chosen(bob, product)
    assert [e["decision_id"] for e in ann.get(EVENTS).json()["results"]] == [mine]
    stranger = APIClient()
    assert stranger.get(EVENTS).status_code == 403  # no user, no session: no shopper


def test_bad_batches_answer_400_and_store_nothing(shop, settings):
    product, original, variant, pending = shop
    ann, bob = signed_in(make_user("ann"), csrf=False), signed_in(make_user("bob"), csrf=False)
    bobs = chosen(bob, product)["decision_id"]
    good = {"type": "click", "product": str(product.pk), "source": original.pk}
    settings.PRODIMG = {**settings.PRODIMG, "EVENTS_MAX_BATCH": 3}
    bad_batches = {
        "unknown product": [good, {**good, "product": "999999"}],
        "image of another product": [good, {**good, "source": 999999}],
        "unapproved image": [good, {"type": "click", "product": str(product.pk), "generated": pending.pk}],
        "someone else's decision": [good, {"type": "click", "product": str(product.pk), "decision_id": bobs}],
        "no image": [{"type": "click", "product": str(product.pk)}],
        "bad type": [{**good, "type": "stare"}],
        "oversized": [good] * 4,
        "empty": [],
    }
    count = ImageEvent.objects.count()
    for name, batch in bad_batches.items():
        response = ann.post(EVENTS, {"events": batch}, format="json")
        assert response.status_code == 400, name
        assert "events" in response.json(), name
    assert ann.post(EVENTS, {"nothing": 1}, format="json").status_code == 400
    assert ann.post(EVENTS, "{not json", content_type="application/json").status_code == 400
    assert ImageEvent.objects.count() == count
    response = ann.post(EVENTS, {"events": [good, {**good, "generated": variant.pk, "source": None}]}, format="json")
    assert response.status_code == 201, response.content


@pytest.mark.parametrize("change, field, said", [
    ({"source": 9223372036854775808}, "source",
     "Not a valid product image id: Ensure this value is less than or equal to 9223372036854775807."),
    ({"source": "s12"}, "source", "Not a valid product image id: “s12” value must be an integer."),
    ({"generated": 9223372036854775808}, "generated",
     "Not a valid generated image id: Ensure this value is less than or equal to 9223372036854775807."),
    ({"product": "9223372036854775808"}, "product",
     "Not a valid product id: Ensure this value is less than or equal to 9223372036854775807."),
    ({"product": "red-tee"}, "product", "Not a valid product id: “red-tee” value must be an integer."),
    ({"product": 1.5}, "product", "Not a valid product id: expected an integer, not float."),
])
def test_ids_of_the_wrong_type_or_beyond_the_keys_range_answer_400(shop, change, field, said):
    product, original, _, _ = shop
    ann = signed_in(make_user("ann"), csrf=False)
    response = ann.post(EVENTS, {"events": [{"type": "click", "product": str(product.pk), "source": original.pk,
                                             **change}]}, format="json")
    assert response.status_code == 400 and response.json() == {"events": {"0": {field: [said]}}}
    assert not ImageEvent.objects.exists()


def test_a_product_id_is_stored_as_the_product_key_spells_it(shop):
    product, original, _, _ = shop
    ann = signed_in(make_user("ann"), csrf=False)
    response = ann.post(EVENTS, {"events": [{"type": "click", "product": f" 0{product.pk}", "source": original.pk}]},
                        format="json")
    assert response.status_code == 201 and ImageEvent.objects.get().product_id == str(product.pk)


def test_your_events_come_a_page_at_a_time(shop, settings):
    product, _, _, _ = shop
    settings.PRODIMG = {**settings.PRODIMG, "API_PAGE_SIZE": 2}
    ann = signed_in(make_user("ann"), csrf=False)
    decisions = [chosen(ann, product)["decision_id"] for _ in range(3)]
    first = ann.get(EVENTS).json()
    assert first["count"] == 3 and len(first["results"]) == 2 and first["next"]
    second = ann.get(first["next"]).json()
    assert [e["decision_id"] for e in first["results"] + second["results"]] == decisions[::-1]
    assert len(ann.get(EVENTS, {"page_size": 3}).json()["results"]) == 3
