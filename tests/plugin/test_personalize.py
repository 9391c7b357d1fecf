"""Per-shopper image choice: candidates, cold start, learning, logging, the storefront and the evaluation."""
from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ml.rare_clicks import RareClickThompson
from prodimg_plugin.generation import review
from prodimg_plugin.models import ImageEvent, ImageFeatures, ModelVersion, RecommenderState
from prodimg_plugin.upkeep import purge
from prodimg_plugin.storefront import candidates, events, features, learning, personalize, shoppers
from prodimg_plugin.storefront.recommenders import Ranked

from tests.factories import make_user
from tests.plugin.personalize_helpers import (  # noqa: F401 (autouse fixture)
    NAVY,
    QUIET,
    make_generated,
    product_with_variants,
    quiet,
    reset_personalization,
)

pytestmark = pytest.mark.django_db


class LastImageRecommender:
    """A shop's own recommender: always the last candidate (the newest approved generated image)."""

    name = "last-image"

    def rank(self, shopper, product, candidates):
        return [Ranked(candidates[-1], 1.0)] + [Ranked(c, 0.0) for c in candidates[:-1]]

    def update(self, feedback):
        pass


class BrokenRecommender:
    name = "broken"

    def rank(self, shopper, product, candidates):
        raise RuntimeError("scoring service down")

    def update(self, feedback):
        raise RuntimeError("scoring service down")


def use(settings, **values):
    settings.PRODIMG = {**settings.PRODIMG, **values}


def simulate(shopper_user, products, rounds: int, clicks_on: str = NAVY[0]) -> list[float]:
    """A shopper who views every product each round and clicks only `clicks_on` images; each round is a later visit
    (the choices cached for the last one are gone) and learning follows it once the attribution window has passed.
    Returns the share of `clicks_on` images shown per round."""
    shares = []
    for _ in range(rounds):
        shoppers.forget(shopper_user.pk)
        shopper = shoppers.context_for(shopper_user.pk)
        shown = 0
        for position, product in enumerate(products):
            decision = personalize.decide(shopper, product)
            events.log_impression(shopper, decision, position, "/", buffered=False)
            if decision.candidate.attributes.get("colour") == clicks_on:
                shown += 1
                events.submit(shopper_user.pk, "", [{"type": "click", "product": str(product.pk),
                                                     "decision_id": decision.decision_id}])
        window = learning.attribution_seconds(personalize.get_recommender())
        personalize.learn(now=timezone.now() + timedelta(seconds=window + 60))
        shares.append(shown / len(products))
    return shares


def rare_click_model() -> RareClickThompson:
    """The rare-click recommender's learned posterior as stored for other processes."""
    state = RecommenderState.objects.get(name="rare-clicks").state
    return RareClickThompson.from_bytes(base64.b64decode(state["model"]))


# ----------------------------------------------------------------------------- candidates

def test_only_approved_images_are_candidates(settings):
    product, original, approved = product_with_variants("Red Tee", "red", ["green"])
    pending = make_generated(original, "pink", (236, 152, 178), "pending")
    rejected = make_generated(original, "teal", (22, 122, 126), "rejected")
    keys = [c.key for c in candidates.candidates_for(product)]
    assert keys == [f"s{original.pk}", f"g{approved[0].pk}"]
    assert f"g{pending.pk}" not in keys and f"g{rejected.pk}" not in keys

    use(settings, RECOMMENDER="tests.plugin.test_personalize.LastImageRecommender")
    shopper = shoppers.context_for(make_user("ann").pk)
    assert personalize.decide(shopper, product).candidate.generated_id == approved[0].pk
    review.reject(approved[0])  # rejected after approval: gone at once, cached choice included
    assert [c.key for c in candidates.candidates_for(product)] == [f"s{original.pk}"]
    assert personalize.decide(shopper, product).candidate.is_original


def test_cold_start_tries_every_approved_image_and_logs_propensities(settings):
    """With nothing learnt, the seller's photo and each approved image get a fair share (the seller approved them
    all; the holdout keeps the main image for comparison): each shopper's draw is logged with its probabilities."""
    use(settings, HOLDOUT_SHARE=0.0)
    product, original, variants = product_with_variants("Red Tee", "red", ["green", "navy-blue"])
    url = reverse("catalog:product_detail", args=[product.pk])
    for _ in range(30):  # thirty first visits: anonymous shoppers, each with a new session
        assert Client().get(url).status_code == 200
    shown = ImageEvent.objects.filter(type="impression")
    assert {e.generated_id for e in shown} == {None, *(v.pk for v in variants)}
    for event in shown:
        p = {c["key"]: c["p"] for c in event.candidates}
        assert list(p)[0] == f"s{original.pk}" and sum(p.values()) == pytest.approx(1.0, abs=1e-4)
        assert min(p.values()) > 0.05 and max(p.values()) < 0.7  # no image favoured before anything is learnt
        chosen = f"g{event.generated_id}" if event.generated_id else f"s{event.source_id}"
        assert p[chosen] == pytest.approx(event.propensity, abs=1e-5)


# ----------------------------------------------------------------------------- learning

def test_each_shopper_is_shown_the_colour_their_own_clicks_favour(settings):
    """Two signed-in shoppers with opposite tastes on the same products, same device, same page: only their own
    click history tells them apart, and each comes to see their colour on products they never clicked."""
    use(settings, EXPLORATION_FLOOR=0.1, HOLDOUT_SHARE=0.0)
    colours = ["red", "green", "yellow", "black", "pink", "orange"]
    products = [product_with_variants(f"{c.title()} Tee", c, [NAVY[0], "purple"])[0] for c in colours]
    navy_fan, purple_fan = make_user("navy-fan"), make_user("purple-fan")
    navy, purple = [], []
    for _ in range(12):
        navy += simulate(navy_fan, products, rounds=1, clicks_on=NAVY[0])
        purple += simulate(purple_fan, products, rounds=1, clicks_on="purple")
    assert np.mean(navy[-4:]) >= 0.7, navy  # a uniform choice would show navy a third of the time
    assert np.mean(purple[-4:]) >= 0.7, purple
    impressions = ImageEvent.objects.filter(type="impression", user=navy_fan)
    for event in impressions.order_by("-id")[:12]:  # propensities logged, summing to 1, the chosen one's included
        p = {c["key"]: c["p"] for c in event.candidates}
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-4)
        chosen = f"g{event.generated_id}" if event.generated_id else f"s{event.source_id}"
        assert p[chosen] == pytest.approx(event.propensity, abs=1e-5)
    model = rare_click_model()
    assert model.n_events == RecommenderState.objects.get(name="rare-clicks").events_seen > 0
    taste = model.mean[model.slot(f"colour={NAVY[0]}|liked:colour={NAVY[0]}")]
    assert taste > model.mean[model.slot(f"colour=purple|liked:colour={NAVY[0]}")]


def test_a_shopper_context_carries_the_attributes_of_what_they_clicked(settings):
    """`liked` comes from the events table as it stood (the impression's logged attributes), live and in learning."""
    use(settings, HOLDOUT_SHARE=0.0)
    product, _, _ = product_with_variants("Red Tee", "red", [NAVY[0]])
    fan = make_user("fan")
    simulate(fan, [product], rounds=5)
    clicks = ImageEvent.objects.filter(type="click", user=fan)
    assert clicks.exists()  # half the draws show navy before anything is learnt (seeded: the same every run)
    colours = lambda shopper: [(a.get("colour"), a.get("kind")) for a in shopper.liked]  # noqa: E731
    navy = (NAVY[0], "variant")
    assert colours(shoppers.context_for(fan.pk)) == [navy] * clicks.count()
    impressions = list(ImageEvent.objects.filter(type="impression", user=fan).order_by("id"))
    then = shoppers.contexts_at(impressions)
    for event in impressions:  # as each decision saw it: the clicks before it, none after
        assert colours(then[event.id]) == [navy] * clicks.filter(created_at__lt=event.created_at).count()


def test_learned_state_survives_a_fresh_process(settings):
    use(settings, EXPLORATION_FLOOR=0.3)
    products = [product_with_variants(f"{c} Tee", c, [NAVY[0]])[0] for c in ("red", "green")]
    simulate(make_user("navy-fan"), products, rounds=2)
    learnt = personalize.get_recommender().model.n_events
    reset_personalization()  # a new web process: state comes from the cache / RecommenderState
    recommender = personalize.get_recommender()
    personalize.runtime().store.refresh(recommender, force=True)
    assert recommender.model.n_events == learnt > 0
    assert recommender.model.to_bytes() == rare_click_model().to_bytes()


# ----------------------------------------------------------------------------- storefront

def test_anonymous_shoppers_are_identified_by_session_never_ip(client):
    product, _, _ = product_with_variants("Red Tee", "red", ["green"])
    response = client.get(reverse("catalog:product_list"), REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200 and 'data-prodimg-decision="' in response.content.decode()
    event = ImageEvent.objects.get(type="impression")
    assert event.user is None and event.session_key == client.session.session_key != ""
    assert "203.0.113.9" not in json.dumps(list(ImageEvent.objects.values()), default=str)
    assert event.page == "/" and event.position == 0


def test_a_swapped_recommender_is_honoured_on_list_and_detail_pages(client, settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize.LastImageRecommender")
    product, original, (variant,) = product_with_variants("Red Tee", "red", ["green"])
    for url in (reverse("catalog:product_list"), reverse("catalog:product_detail", args=[product.pk])):
        html = client.get(url).content.decode()
        assert variant.image.url in html
        assert f'data-prodimg-generated="{variant.pk}"' in html
    assert set(ImageEvent.objects.values_list("recommender", flat=True)) == {"last-image"}


def test_a_failing_recommender_shows_the_original_and_logs_the_error(client, settings, caplog):
    use(settings, RECOMMENDER="tests.plugin.test_personalize.BrokenRecommender")
    product, original, _ = product_with_variants("Red Tee", "red", ["green"])
    with caplog.at_level(logging.ERROR, logger="prodimg_plugin"):
        response = client.get(reverse("catalog:product_list"))
    assert response.status_code == 200 and original.image.url in response.content.decode()
    assert "scoring service down" in caplog.text
    assert ImageEvent.objects.get().recommender == "fallback"


def test_choices_are_stable_within_a_session(client, settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize.LastImageRecommender")
    product_with_variants("Red Tee", "red", ["green"])
    client.get("/"), client.get("/")
    decisions = ImageEvent.objects.values_list("decision_id", flat=True)
    assert len(decisions) == 2 and len(set(decisions)) == 1


def test_opted_out_shoppers_see_originals_and_are_not_logged(client, settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize.LastImageRecommender")
    product, original, _ = product_with_variants("Red Tee", "red", ["green"])
    session = client.session
    session[shoppers.OPT_OUT_SESSION_KEY] = True
    session.save()
    html = client.get("/").content.decode()
    assert original.image.url in html and "data-prodimg-decision" not in html
    assert not ImageEvent.objects.exists()


def test_deleting_a_user_deletes_their_events(client):
    product, _, _ = product_with_variants("Red Tee", "red", ["green"])
    user = make_user("leaver")
    client.force_login(user)
    client.get("/")
    assert ImageEvent.objects.filter(user=user).exists()
    user.delete()
    assert not ImageEvent.objects.exists()


# ----------------------------------------------------------------------------- features

def test_features_are_a_colour_histogram_and_attributes_until_a_cvae_is_active(monkeypatch):
    product, original, (variant,) = product_with_variants("Red Tee", "red", [NAVY[0]])
    keys = [f"s{original.pk}", f"g{variant.pk}"]
    vecs = features.vectors(keys)
    assert {len(v) for v in vecs.values()} == {3**3 + 32}
    assert ImageFeatures.objects.filter(model_version=None).count() == 2
    assert not np.allclose(vecs[keys[0]], vecs[keys[1]])  # red photo vs navy variant

    class FakeEditor:
        def embed(self, image, attrs):
            return np.arange(8, dtype=float) + (attrs["colour"] == NAVY[0])

    version = ModelVersion.objects.create(kind="cvae", weights="prodimg/models/cvae/x.safetensors", sha256="0" * 64,
                                          active=True)
    monkeypatch.setattr(features.weights, "load", lambda v: FakeEditor())
    features.clear_cache()
    vecs = features.vectors(keys)
    assert {len(v) for v in vecs.values()} == {8 + 32}
    assert ImageFeatures.objects.filter(model_version=version).count() == 2


# ----------------------------------------------------------------------------- evaluation

@pytest.mark.parametrize("recommender, name", [
    ("prodimg_plugin.storefront.recommenders.RareClickRecommender", "rare-clicks"),
    ("prodimg_plugin.storefront.recommenders.ThompsonRecommender", "thompson"),
])
def test_prodimg_eval_recommender_evaluates_the_configured_recommender(settings, recommender, name):
    use(settings, EXPLORATION_FLOOR=0.5, RECOMMENDER=recommender)
    products = [product_with_variants(f"{c} Tee", c, [NAVY[0]])[0] for c in ("red", "green", "yellow")]
    for user in ("ann", "bob"):
        simulate(make_user(user), products, rounds=6)
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--boot", "50", stdout=out)
    text = out.getvalue()
    for word in ("IPS", "SNIPS", "DR", "original", "uniform", name, f"DR estimate, {name} minus"):
        assert word in text, text
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--boot", "50", "--json", stdout=out)
    report = json.loads(out.getvalue())
    row = report["policies"]["original"]
    assert report["recommender"] == name and set(report["policies"]) == {"original", "uniform", name}
    assert report["n"] >= 15 and row["ips"]["low"] <= row["ips"]["value"] <= row["ips"]["high"]
    assert RecommenderState.objects.get(name=f"eval:{name}").state["n"] == report["n"]


def test_anonymous_events_are_purged_after_the_retention_period(client):
    product_with_variants("Red Tee", "red", ["green"])
    client.get("/")
    signed_in = make_user("kept")
    client.force_login(signed_in)
    client.get("/")
    assert purge.purge_anonymous_events(now=timezone.now() + timedelta(days=89)) == 0
    assert purge.purge_anonymous_events(now=timezone.now() + timedelta(days=91)) == 1
    assert list(ImageEvent.objects.values_list("user__username", flat=True)) == ["kept"]


def test_prodimg_eval_recommender_without_logged_events_says_what_to_do():
    with pytest.raises(CommandError, match="No logged decisions"):
        call_command("prodimg_eval", "recommender", stdout=StringIO())


def test_a_decision_shown_twice_is_learnt_from_once(client, settings):
    use(settings, RECOMMENDER="tests.plugin.test_personalize.LastImageRecommender")
    product_with_variants("Red Tee", "red", ["green"])
    client.get("/"), client.get("/")
    impressions = list(ImageEvent.objects.order_by("id"))
    assert len(impressions) == 2 and len(personalize.feedback_for(impressions)) == 1


def test_prodimg_purge_and_its_daily_schedule_enforce_the_anonymous_retention(client, settings):
    """ANONYMOUS_EVENTS_RETENTION_DAYS is enforced by `prodimg_purge` and by a django-q2 schedule, not only
    by a function: old anonymous events go, a signed-in shopper's stay, a dry run deletes nothing."""
    from django_q.models import Schedule

    from prodimg_plugin import tasks

    product_with_variants("Red Tee", "red", ["green"])
    client.get("/")
    client.force_login(make_user("kept"))
    client.get("/")
    anonymous = ImageEvent.objects.filter(user__isnull=True)
    assert anonymous.exists()
    anonymous.update(created_at=timezone.now() - timedelta(days=91))
    out = StringIO()
    call_command("prodimg_purge", "--dry-run", stdout=out)
    assert f"{anonymous.count()} anonymous shopper event(s)" in out.getvalue() and anonymous.exists()
    call_command("prodimg_purge", stdout=StringIO())
    assert not anonymous.exists() and ImageEvent.objects.filter(user__username="kept").exists()
    schedule = Schedule.objects.get(name="prodimg-purge-anonymous-events")
    assert schedule.func == "prodimg_plugin.tasks.purge_anonymous_events" and schedule.schedule_type == Schedule.DAILY
    client.logout()
    client.get("/")
    ImageEvent.objects.filter(user__isnull=True).update(created_at=timezone.now() - timedelta(days=91))
    settings.PRODIMG = {**settings.PRODIMG, "ANONYMOUS_EVENTS_RETENTION_DAYS": None}
    assert tasks.purge_anonymous_events() == "deleted 0 anonymous shopper events"
    settings.PRODIMG = {**settings.PRODIMG, "ANONYMOUS_EVENTS_RETENTION_DAYS": 90}
    assert tasks.purge_anonymous_events().startswith("deleted ") and not ImageEvent.objects.filter(user__isnull=True).exists()
