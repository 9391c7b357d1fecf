"""Per-shopper image choice: candidates, cold start, learning, logging, the storefront and the evaluation."""
from __future__ import annotations

import json
import logging
from datetime import timedelta
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from prodimg_plugin.generation import review
from prodimg_plugin.models import ImageEvent, ImageFeatures, ModelVersion, RecommenderState
from prodimg_plugin.upkeep import purge
from prodimg_plugin.storefront import candidates, events, features, personalize, shoppers
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
    """A shopper who views every product each round and clicks only `clicks_on` images; learning after each
    round. Returns the share of `clicks_on` images shown per round."""
    shares = []
    for _ in range(rounds):
        shopper = shoppers.context_for(shopper_user.pk)
        shown = 0
        for position, product in enumerate(products):
            decision = personalize.decide(shopper, product)
            events.log_impression(shopper, decision, position, "/", buffered=False)
            if decision.candidate.attributes.get("colour") == clicks_on:
                shown += 1
                events.submit(shopper_user.pk, "", [{"type": "click", "product": str(product.pk),
                                                     "decision_id": decision.decision_id}])
        personalize.learn(now=timezone.now() + timedelta(hours=1))
        shares.append(shown / len(products))
    return shares


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


def test_cold_start_shows_the_original_and_logs_propensities(client):
    product, original, _ = product_with_variants("Red Tee", "red", ["green", "navy-blue"])
    client.get(reverse("catalog:product_detail", args=[product.pk]))
    event = ImageEvent.objects.get(type="impression")
    assert (event.source_id, event.generated_id, event.propensity) == (original.pk, None, 1.0)
    assert [c["key"] for c in event.candidates][0] == f"s{original.pk}"
    assert sum(c["p"] for c in event.candidates) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- learning

def test_a_shopper_who_clicks_navy_starts_seeing_navy_variants_first(settings):
    use(settings, EXPLORATION_FLOOR=0.1)
    colours = ["red", "green", "yellow", "black", "pink", "orange"]
    products = [product_with_variants(f"{c.title()} Tee", c, [NAVY[0], "purple" if c != "purple" else "teal"])[0]
                for c in colours]
    shopper = make_user("navy-fan")
    shares = simulate(shopper, products, rounds=12)
    assert shares[0] == 0  # cold start: every product shows its original photo
    assert np.mean(shares[-4:]) >= 0.7, shares  # a uniform choice would show navy a third of the time
    impressions = ImageEvent.objects.filter(type="impression", user=shopper)
    for event in impressions.order_by("-id")[:12]:  # propensities logged, summing to 1, the chosen one's included
        p = {c["key"]: c["p"] for c in event.candidates}
        assert sum(p.values()) == pytest.approx(1.0, abs=1e-4)
        chosen = f"g{event.generated_id}" if event.generated_id else f"s{event.source_id}"
        assert p[chosen] == pytest.approx(event.propensity, abs=1e-5)
    state = RecommenderState.objects.get(name="thompson")
    assert state.events_seen > 0 and state.state["model"]["bandit"]["n_obs"] == state.events_seen


def test_learned_state_survives_a_fresh_process(settings):
    use(settings, EXPLORATION_FLOOR=0.3)
    products = [product_with_variants(f"{c} Tee", c, [NAVY[0]])[0] for c in ("red", "green")]
    simulate(make_user("navy-fan"), products, rounds=2)
    learnt = personalize.get_recommender().model.bandit.n_obs
    reset_personalization()  # a new web process: state comes from the cache / RecommenderState
    recommender = personalize.get_recommender()
    personalize.runtime().store.refresh(recommender, force=True)
    assert recommender.model.bandit.n_obs == learnt > 0


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

def test_prodimg_eval_recommender_prints_ips_snips_and_dr(settings):
    use(settings, EXPLORATION_FLOOR=0.5)
    products = [product_with_variants(f"{c} Tee", c, [NAVY[0]])[0] for c in ("red", "green", "yellow")]
    for name in ("ann", "bob"):
        simulate(make_user(name), products, rounds=6)
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--boot", "50", stdout=out)
    text = out.getvalue()
    for word in ("IPS", "SNIPS", "DR", "original", "uniform", "thompson"):
        assert word in text, text
    out = StringIO()
    call_command("prodimg_eval", "recommender", "--boot", "50", "--json", stdout=out)
    report = json.loads(out.getvalue())
    row = report["policies"]["original"]
    assert report["n"] >= 15 and row["ips"]["low"] <= row["ips"]["value"] <= row["ips"]["high"]
    assert RecommenderState.objects.get(name="eval:thompson").state["n"] == report["n"]


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
