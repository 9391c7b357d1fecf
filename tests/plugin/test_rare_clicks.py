"""The rare-click recommender in the storefront: shopper context, holdout, graded rewards, decay, bad events."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from ml.rare_clicks import RareClickThompson
from prodimg_plugin.models import ImageEvent, RecommenderState
from prodimg_plugin.storefront import events, learning, personalize, rejections, shoppers
from prodimg_plugin.storefront.shopper_context import default_context

from tests.factories import make_user
from tests.plugin.personalize_helpers import (  # noqa: F401 (autouse fixture)
    NAVY,
    product_with_variants,
    quiet,
)

pytestmark = pytest.mark.django_db
RARE = "prodimg_plugin.storefront.recommenders.RareClickRecommender"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148"
EVENTS = "/api/prodimg/events/"


@pytest.fixture
def rare(settings):
    settings.PRODIMG = {**settings.PRODIMG, "RECOMMENDER": RARE, "HOLDOUT_SHARE": 0.0, "ATTRIBUTION_HOURS": 2}
    personalize.reset()


def test_default_context_reads_device_page_campaign_and_hour():
    request = RequestFactory().get("/products/3/?utm_campaign=Winter-Sale!", HTTP_USER_AGENT=PHONE,
                                   HTTP_REFERER="https://mail.example.com/x")
    request.session = {}
    ctx = default_context(request)
    assert ctx["device"] == "phone" and ctx["page"] == "product" and ctx["campaign"] == "winter-sale"
    assert ctx["returning"] == "no" and ctx["hour"][:3] in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    request = RequestFactory().get("/", HTTP_REFERER="https://www.google.com/search")
    request.session = {}
    assert default_context(request)["campaign"] == "search" and default_context(request)["device"] == "desktop"


def test_an_anonymous_first_visit_is_personalised_and_its_context_logged(client, rare):
    product, original, _ = product_with_variants("Red Tee", "red", ["green", NAVY[0]])
    client.get(reverse("catalog:product_detail", args=[product.pk]) + "?utm_campaign=sale", HTTP_USER_AGENT=PHONE)
    event = ImageEvent.objects.get(type="impression")
    assert event.recommender == "rare-clicks" and event.session_key and event.user_id is None
    assert event.context["device"] == "phone" and event.context["campaign"] == "sale"
    p = [c["p"] for c in event.candidates]
    assert sum(p) == pytest.approx(1, abs=1e-4) and min(p) > 0  # a real draw from the first request, not a fixed original


def test_holdout_shoppers_always_see_the_main_image(client, settings, rare):
    settings.PRODIMG = {**settings.PRODIMG, "HOLDOUT_SHARE": 1.0}
    product, original, _ = product_with_variants("Red Tee", "red", ["green", NAVY[0]])
    for _ in range(3):
        client.get(reverse("catalog:product_detail", args=[product.pk]))
    shown = ImageEvent.objects.filter(type="impression")
    assert {(e.recommender, e.source_id, e.generated_id, e.propensity) for e in shown} == {
        ("holdout", original.pk, None, 1.0)}


def decide_and_log(user, product, position=0):
    shopper = shoppers.context_for(user.pk)
    shopper.features = {"device": "phone"}
    decision = personalize.decide(shopper, product)
    events.log_impression(shopper, decision, position, "/", buffered=False)
    return decision


def test_graded_rewards_within_the_window_are_learnt_and_stored_as_bytes(rare):
    product, _, _ = product_with_variants("Red Tee", "red", ["green", NAVY[0]])
    user = make_user("buyer")
    decision = decide_and_log(user, product)
    events.submit(user.pk, "", [{"type": t, "product": str(product.pk), "decision_id": decision.decision_id}
                                for t in ("click", "purchase")])
    other = decide_and_log(make_user("browser"), product)
    feedback = {f.shown: f for f in learning.feedback_for(list(ImageEvent.objects.filter(type="impression")))}
    assert feedback[decision.candidate.key].reward == pytest.approx(11.0)  # click 1 + purchase 10
    assert feedback[decision.candidate.key].shopper.features == {"device": "phone"}
    assert learning.learn(now=timezone.now() + timedelta(minutes=30)) == 0  # the window is still open
    assert learning.learn(now=timezone.now() + timedelta(hours=3)) == 2
    state = RecommenderState.objects.get(name="rare-clicks").state
    model = RareClickThompson.from_bytes(base64.b64decode(state["model"]))
    assert model.n_events == 2
    if other.candidate.key != decision.candidate.key:  # the bought image gained, the merely shown one lost
        assert model.mean[model.slot(f"img={decision.candidate.key}")] > 0 > model.mean[
            model.slot(f"img={other.candidate.key}")]


def test_an_outcome_before_its_impression_or_after_the_window_is_counted_not_learnt(rare):
    product, _, _ = product_with_variants("Red Tee", "red", ["green"])
    user = make_user("clock")
    early, late = decide_and_log(user, product), decide_and_log(make_user("slow"), product)
    now = timezone.now()
    ImageEvent.objects.create(type="click", user=user, product_id=str(product.pk), decision_id=early.decision_id,
                              created_at=now - timedelta(hours=1))
    ImageEvent.objects.create(type="click", product_id=str(product.pk), decision_id=late.decision_id,
                              created_at=now + timedelta(hours=5))
    feedback = learning.feedback_for(list(ImageEvent.objects.filter(type="impression")))
    assert [f.reward for f in feedback] == [0.0, 0.0]
    assert rejections.counts() == {"late": 1, "out_of_order": 1}


def test_decay_is_scheduled_and_moves_the_state_back_towards_the_prior(rare, settings):
    from django_q.models import Schedule

    assert Schedule.objects.filter(name="prodimg-decay-recommender", func="prodimg_plugin.tasks.decay_recommender")
    product, _, _ = product_with_variants("Red Tee", "red", ["green"])
    user = make_user("fan")
    decision = decide_and_log(user, product)
    events.submit(user.pk, "", [{"type": "click", "product": str(product.pk), "decision_id": decision.decision_id}])
    learning.learn(now=timezone.now() + timedelta(hours=3))
    learning.decay(timezone.now())  # starts the clock
    before = RecommenderState.objects.get(name="rare-clicks")
    slot_of = lambda m: m.slot(f"img={decision.candidate.key}")  # noqa: E731
    learnt = RareClickThompson.from_bytes(base64.b64decode(before.state["model"]))
    assert learning.decay(timezone.now() + timedelta(days=settings.PRODIMG.get("HALF_LIFE_DAYS", 14))) > 0
    after = RecommenderState.objects.get(name="rare-clicks")
    decayed = RareClickThompson.from_bytes(base64.b64decode(after.state["model"]))
    assert decayed.mean[slot_of(decayed)] == pytest.approx(learnt.mean[slot_of(learnt)] / 2, rel=1e-3)
    assert after.updated_at > before.updated_at  # a new version: web processes take it


def test_bots_and_duplicate_beacons_are_counted_and_ignored(client, rare):
    product, _, _ = product_with_variants("Red Tee", "red", ["green"])
    client.get(reverse("catalog:product_detail", args=[product.pk]), HTTP_USER_AGENT="Googlebot/2.1")
    assert not ImageEvent.objects.exists()
    user = make_user("twice")
    decision = decide_and_log(user, product)
    api = APIClient()
    api.force_authenticate(user)
    click = {"events": [{"type": "click", "product": str(product.pk), "decision_id": decision.decision_id}]}
    for _ in range(2):
        assert api.post(EVENTS, click, format="json").status_code == 201
    assert api.post(EVENTS, click, format="json", HTTP_USER_AGENT="python-requests/2.3").status_code == 201
    assert api.post(EVENTS, {"events": [{"type": "click", "product": "99999"}]}, format="json").status_code == 400
    assert ImageEvent.objects.filter(type="click").count() == 1
    assert rejections.counts() == {"bot": 2, "duplicate": 1, "invalid": 1}
