"""The hooks registry, its auto-discovery, and the two hooks the storefront calls."""
from __future__ import annotations

import sys

import pytest

from prodimg_plugin import hooks
from prodimg_plugin.storefront import personalize, shoppers
from prodimg_plugin.storefront.recommenders import Candidate, Ranked

from tests.factories import make_user
from tests.plugin.personalize_helpers import QUIET, make_generated, product_with_variants, reset_personalization


def test_register_as_decorator_or_call_and_ordered():
    def late(*args):
        return "late"

    with hooks.register_temporarily("prodimg_test_order", late, order=10):
        @hooks.register("prodimg_test_order", order=-1)
        def early(*args):
            return "early"

        assert [fn() for fn in hooks.get_hooks("prodimg_test_order")] == ["early", "late"]
        hooks.unregister("prodimg_test_order", early)
    assert hooks.get_hooks("prodimg_test_order") == []


def test_register_temporarily_removes_the_hooks_afterwards():
    def one(*args):
        return 1

    def two(*args):
        return 2

    with hooks.register_temporarily({"prodimg_test_a": one, "prodimg_test_b": two}):
        assert hooks.get_hooks("prodimg_test_a") == [one] and hooks.get_hooks("prodimg_test_b") == [two]
    assert hooks.get_hooks("prodimg_test_a") == [] and hooks.get_hooks("prodimg_test_b") == []
    with pytest.raises(RuntimeError), hooks.register_temporarily("prodimg_test_a", one):
        raise RuntimeError("a failing test body")
    assert hooks.get_hooks("prodimg_test_a") == []


def test_each_apps_prodimg_hooks_module_is_discovered(monkeypatch):
    monkeypatch.delitem(sys.modules, "shop_demo.catalog.prodimg_hooks")
    monkeypatch.setattr(hooks, "_searched", False)
    hooks.get_hooks("anything")
    assert "shop_demo.catalog.prodimg_hooks" in sys.modules


@pytest.fixture
def shop(db, settings):
    settings.PRODIMG = {**settings.PRODIMG, **QUIET, "RECOMMENDER": "tests.plugin.test_hooks.EveryImageRecommender"}
    reset_personalization()
    product, original, (variant,) = product_with_variants("Red Tee", "red", ["green"])
    yield product, original, variant
    reset_personalization()


class EveryImageRecommender:
    """Shows the last candidate but gives every candidate the same propensity (so scorers have room to act)."""

    name = "even"

    def rank(self, shopper, product, candidates):
        p = 1 / len(candidates)
        return [Ranked(c, p) for c in reversed(candidates)]

    def update(self, feedback):
        pass


def test_a_candidate_filter_narrows_the_choice_but_cannot_add_unapproved_images(shop):
    product, original, variant = shop
    pending = make_generated(original, "pink", (236, 152, 178), status="pending")
    sneaky = Candidate(f"g{pending.pk}", original.pk, pending.pk, "variant", pending.image.url)

    def originals_only(shopper, product, candidates):
        return [c for c in candidates if c.is_original] + [sneaky]

    shopper = shoppers.context_for(make_user("ann").pk)
    with hooks.register_temporarily(hooks.FILTER_CANDIDATES, originals_only):
        decision = personalize.decide(shopper, product)
    assert decision.candidate.key == f"s{original.pk}"
    assert set(decision.propensities) == {f"s{original.pk}"}


def test_a_scorer_reweights_the_propensities_that_are_logged(shop):
    product, original, variant = shop

    def no_originals(shopper, product, candidates):
        return [0.0 if c.is_original else 2.0 for c in candidates]

    shopper = shoppers.context_for(make_user("bob").pk)
    with hooks.register_temporarily(hooks.SCORE_CANDIDATES, no_originals):
        decision = personalize.decide(shopper, product)
    assert decision.candidate.key == f"g{variant.pk}"
    assert decision.propensities == {f"s{original.pk}": 0.0, f"g{variant.pk}": 1.0}
