"""A personalised list page: a few queries whatever its length, its impressions written after the response in one
INSERT (never lost silently), each with the propensities it was drawn with, and clicks that match them."""
from __future__ import annotations

import logging
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.client import ClientHandler
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from prodimg_plugin.models import ImageEvent
from prodimg_plugin.storefront import candidates, events, personalize
from prodimg_plugin.storefront.recommenders import Ranked

from tests.plugin.personalize_helpers import make_generated, product_with_variants, quiet  # noqa: F401 (autouse fixture)

pytestmark = pytest.mark.django_db
COLOURS = ["red", "green", "yellow", "black", "pink", "orange"]
DECISION = re.compile(r'data-prodimg-decision="(\w+)" data-prodimg-product="(\d+)"')


class HalfAndHalfRecommender:
    """Draws between the original and the last candidate, 50/50 (so propensities are not all 1)."""

    name = "half-and-half"

    def rank(self, shopper, product, candidates):
        if len(candidates) < 2:
            return [Ranked(candidates[0], 1.0)]
        first, last = candidates[0], candidates[-1]
        return [Ranked(last, 0.5), Ranked(first, 0.5)] + [Ranked(c, 0.0) for c in candidates[1:-1]]

    def update(self, feedback):
        pass


class ColdStateRecommender(HalfAndHalfRecommender):
    """Not ready (its choices are never cached) and stateful: every card is a fresh choice."""

    name = "cold-state"
    ready = False

    def state_dict(self):
        return {}

    def load_state(self, state):
        pass


def use(settings, **values):
    settings.PRODIMG = {**settings.PRODIMG, **values}


def shop(count: int, start: int = 0) -> list:
    """`count` products, each with its original photo and one approved variant."""
    return [product_with_variants(f"{c.title()} Tee", c, ["green" if c != "green" else "red"])[0]
            for c in COLOURS[start:start + count]]


def page_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("catalog:product_list")).status_code == 200
    return [q["sql"] for q in queries.captured_queries]


class ResponseReady(ClientHandler):
    """The test client's handler, noting the impressions stored when the response is ready (before close())."""

    stored_when_ready = None

    def get_response(self, request):
        response = super().get_response(request)
        self.stored_when_ready = ImageEvent.objects.count()
        return response


def test_a_list_page_needs_as_many_queries_for_six_products_as_for_two(settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize_page.HalfAndHalfRecommender")
    counts = []
    for count, start in ((2, 0), (4, 2)):  # two products on the page, then six
        shop(count, start)
        cache.clear()  # nothing cached: every card's candidates and choice are read afresh
        counts.append(len(page_queries(Client())))  # a new shopper each time
    assert counts[0] == counts[1], counts
    assert ImageEvent.objects.filter(type="impression").count() == 2 + 6


def test_the_recommenders_state_is_checked_once_per_page(settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize_page.ColdStateRecommender")
    shop(4)
    sql = page_queries(Client())
    assert sum("recommenderstate" in q for q in sql) == 1
    assert ImageEvent.objects.filter(recommender="cold-state").count() == 4


def test_impressions_are_written_after_the_response_in_one_insert_with_their_propensities(settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize_page.HalfAndHalfRecommender")
    products = shop(3)
    client = Client()
    client.handler = ResponseReady()
    with CaptureQueriesContext(connection) as queries:
        html = client.get(reverse("catalog:product_list")).content.decode()
    assert client.handler.stored_when_ready == 0  # nothing written while the shopper waits
    insert = 'INSERT INTO "prodimg_plugin_imageevent"'
    assert sum(q["sql"].startswith(insert) for q in queries.captured_queries) == 1
    shown = dict(DECISION.findall(html))
    impressions = {e.decision_id: e for e in ImageEvent.objects.filter(type="impression")}
    assert set(impressions) == set(shown) and len(shown) == len(products)
    assert sorted(e.position for e in impressions.values()) == [0, 1, 2]
    for decision_id, event in impressions.items():
        assert event.product_id == shown[decision_id] and event.session_key == client.session.session_key
        p = {c["key"]: c["p"] for c in event.candidates}
        chosen = f"g{event.generated_id}" if event.generated_id else f"s{event.source_id}"
        assert event.propensity == pytest.approx(0.5) == p[chosen] and sum(p.values()) == pytest.approx(1.0)


def test_a_click_beacon_matches_the_impression_written_after_the_page(settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize_page.HalfAndHalfRecommender")
    shop(2)
    client = APIClient(enforce_csrf_checks=True)
    html = client.get(reverse("catalog:product_list")).content.decode()
    decision_id, product_id = DECISION.findall(html)[1]
    response = client.post("/api/prodimg/events/", {"events": [
        {"type": "click", "product": product_id, "decision_id": decision_id, "position": 1, "page": "/"}]},
        format="json", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 201, response.content
    impression, click = (ImageEvent.objects.get(type=t, decision_id=decision_id) for t in ("impression", "click"))
    assert (click.source_id, click.generated_id, click.propensity) == (
        impression.source_id, impression.generated_id, impression.propensity)
    assert len(personalize.feedback_for([impression])) == 1 and personalize.feedback_for([impression])[0].clicked


def test_a_failed_write_of_a_pages_impressions_is_logged_with_what_was_lost(settings, monkeypatch, caplog):
    use(settings, RECOMMENDER="tests.plugin.test_personalize_page.HalfAndHalfRecommender")
    shop(2)
    client = Client()
    real = ImageEvent.objects.bulk_create

    def broken(objs, *args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(ImageEvent.objects, "bulk_create", broken)
    with caplog.at_level(logging.ERROR, logger="prodimg_plugin"):
        html = client.get(reverse("catalog:product_list")).content.decode()  # the shopper still gets the page
    lost = [decision_id for decision_id, _ in DECISION.findall(html)]
    assert len(lost) == 2 and not ImageEvent.objects.exists()
    assert "recording 2 buffered impressions failed" in caplog.text and "database is locked" in caplog.text
    assert all(decision_id in caplog.text for decision_id in lost)
    monkeypatch.setattr(ImageEvent.objects, "bulk_create", real)
    client.get(reverse("catalog:product_list"))  # the buffer was emptied: the next page writes only its own
    assert ImageEvent.objects.filter(type="impression").count() == 2


def test_candidates_read_for_a_page_are_those_read_one_by_one():
    products = shop(3)
    original = products[0].images.first()
    make_generated(original, "pink", (236, 152, 178), "pending")
    make_generated(original, "teal", (22, 122, 126), "rejected")
    product_with_variants("Bare Tee", "black", [])[0].images.all().delete()  # no photo: no candidates
    from shop_demo.catalog.models import Product

    everything = list(Product.objects.all())
    expected = {p.pk: candidates.build(p) for p in everything}
    assert candidates.candidates_for_many(everything) == expected
    assert candidates.candidates_for_many(everything) == expected  # now from the cache
    assert [len(v) for v in expected.values()].count(0) == 1
    assert all(not c.generated_id or c.kind == "variant" for v in expected.values() for c in v)


def test_prefetch_without_a_personalised_image_reads_nothing(rf, settings):
    products = shop(2)
    request = rf.get("/")
    with CaptureQueriesContext(connection) as queries:
        personalize.prefetch(request, products)
    assert not queries.captured_queries
    assert events.flush() == 0


def test_the_bundled_image_template_renders_as_the_template_engine_renders_it():
    """`_render_bundled` is the bundled template, written out: the same bytes for every branch of it."""
    import hashlib
    from itertools import product as combinations
    from pathlib import Path

    from django.template import Context
    from django.template.loader import get_template
    from django.utils.safestring import mark_safe

    from prodimg_plugin.storefront.recommenders import Candidate
    from prodimg_plugin.templatetags import prodimg

    found = get_template(prodimg.TEMPLATE)
    bundled = Path(prodimg.__file__).resolve().parents[1] / "templates" / prodimg.TEMPLATE
    assert found.origin.name == str(bundled)
    assert hashlib.sha256(bundled.read_bytes()).hexdigest() == prodimg.BUNDLED_SHA256
    assert prodimg._template(None)[1] is True

    class Product:
        def __str__(self):
            return 'Tee <"big"> & co'

    for alt, (width, height), generated, decision_id, position, size, css_class in combinations(
            ["", "Navy <b>tee</b> & 'co'", mark_safe("<i>safe</i>")], [(None, None), (600, 800), (1200, 0)],
            [None, 7], ["", "ab12"], [None, 0, 1234], ["card", "large", mark_safe("x&y")], ["", "a <b> & c"]):
        image = Candidate("g7" if generated else "s3", 3, generated, "variant" if generated else "original",
                          "/media/a b&c.png", width, height, alt)
        decision = personalize.Decision(decision_id, "12345", image, 0.5)
        values = {"decision": decision, "image": image, "product": Product(), "size": size,
                  "css_class": css_class, "position": position}
        expected = found.template.render(Context(values, autoescape=True, use_l10n=False))
        assert prodimg._render_bundled(**values) == expected


def test_a_hosts_own_image_template_is_rendered_instead(settings, tmp_path):
    (tmp_path / "prodimg_plugin").mkdir()
    (tmp_path / "prodimg_plugin" / "personalized_image.html").write_text(
        '<img class="mine" src="{{ image.url }}" data-prodimg-decision="{{ decision.decision_id }}">')
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]
    shop(2)
    html = Client().get(reverse("catalog:product_list")).content.decode()
    assert html.count('<img class="mine" src="') == 2 and "prodimg-image--" not in html
