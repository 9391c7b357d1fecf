"""ml.taste: which colours a segment prefers, the rule for claiming it, and the proposals."""
from __future__ import annotations

import numpy as np

from ml import taste


def shop_log(n: int, navy_ctr_for_phones: float, seed: int = 0):
    """Impressions of 4 products (each with a red and a navy image) to phone and desktop shoppers, half with a
    segment; phones click navy at `navy_ctr_for_phones`, everything else clicks 1 %."""
    rng = np.random.default_rng(seed)
    device = rng.choice(["phone", "desktop"], n)
    segments = [[f"device={d}"] + (["segment=vip"] if rng.random() < 0.5 else []) for d in device]
    values = rng.choice(["red", "navy"], n)
    ctr = np.where((device == "phone") & (values == "navy"), navy_ctr_for_phones, 0.01)
    return segments, values, rng.integers(0, 4, n).astype(str), (rng.random(n) < ctr).astype(float)


def test_a_real_taste_is_claimed_for_its_segment_only():
    tested = taste.segment_tastes(*shop_log(40_000, 0.03))
    claimed = [(t.segment, t.value) for t in tested if taste.is_taste(t)]
    assert ("device=phone", "navy") in claimed and ("device=desktop", "navy") not in claimed
    phone = next(t for t in tested if (t.segment, t.value) == ("device=phone", "navy"))
    assert 2 < phone.lift < 4.5 and phone.low < phone.lift < phone.high and phone.clicks >= 20


def test_no_taste_no_claim_however_many_segments_are_tested():
    segments, values, products, rewards = shop_log(40_000, 0.01)
    rng = np.random.default_rng(1)
    segments = [s + [f"campaign=c{rng.integers(30)}"] for s in segments]  # 30 more segments: many chances for noise
    tested = taste.segment_tastes(segments, values, products, rewards)
    assert len(tested) > 60 and not [t for t in tested if taste.is_taste(t)]


def test_weak_evidence_is_not_claimed():
    tested = taste.segment_tastes(*shop_log(1_500, 0.03))  # the same taste, under 20 clicks on navy by phones
    phone = next(t for t in tested if (t.segment, t.value) == ("device=phone", "navy"))
    assert phone.lift > 1.25 and phone.clicks < 20
    assert not [t for t in tested if taste.is_taste(t)]


def test_only_products_that_offered_the_value_are_compared():
    segments = [["device=phone"]] * 4
    tested = taste.segment_tastes(segments, np.array(["navy", "red", "red", "red"]), np.array(["a", "a", "b", "b"]),
                                  np.array([1.0, 1.0, 0.0, 0.0]))
    navy = next(t for t in tested if t.value == "navy" and t.segment == "device=phone")
    assert navy.impressions_other == 1 and navy.lift == 1.0  # product b never had navy: not in its comparison


def test_proposals_follow_the_segments_traffic_and_respect_the_limits():
    strong = taste.Taste("device=phone", "navy", 3.0, 1.5, 6.0, 900, 40, 900, 12, 0.95)
    also = taste.Taste("device=phone", "green", 2.0, 1.2, 4.0, 900, 30, 900, 14, 0.95)
    seen = {("device=phone", "p1"): 50, ("device=phone", "p2"): 500, ("device=phone", "p3"): 200,
            ("device=desktop", "p4"): 900}
    lacking = {"p1": {"navy", "green"}, "p2": {"navy", "green"}, "p3": {"green"}, "p4": {"navy"}}
    made = [(p.product, p.value) for p in taste.propose([strong, also], lacking, seen, per_product=1, limit=10)]
    assert made == [("p2", "navy"), ("p1", "navy"), ("p3", "green")]  # p4: phones never saw it; one per product
    assert len(taste.propose([strong, also], lacking, seen, per_product=3, limit=2)) == 2
    assert taste.segment_traffic([["device=phone"], []], ["p1", "p1"]) == {("all", "p1"): 2, ("device=phone", "p1"): 1}


def test_inverse_propensity_weights_undo_a_policy_that_targets_the_likely_clickers():
    """Hidden types the analysis cannot see: A clicks navy 4 %, B 1 %; both click red 1 %. A policy that already
    shows navy to A (p 0.9) and red to B inflates navy's plain lift (x3.7); the weighted one's interval holds the
    true x2.5 (always navy: 2.5 %, always red: 1 %)."""
    rng = np.random.default_rng(3)
    n = 200_000
    a = rng.random(n) < 0.5
    p_navy = np.where(a, 0.9, 0.1)
    navy = rng.random(n) < p_navy
    ctr = np.where(navy & a, 0.04, 0.01)
    rewards = (rng.random(n) < ctr).astype(float)
    values, products = np.where(navy, "navy", "red"), np.zeros(n).astype(str)
    segments = [["device=phone"]] * n
    plain = next(t for t in taste.segment_tastes(segments, values, products, rewards) if t.value == "navy")
    weighted = next(t for t in taste.segment_tastes(segments, values, products, rewards,
                                                    np.where(navy, p_navy, 1 - p_navy)) if t.value == "navy")
    assert plain.low > 3 and weighted.low < 2.5 < weighted.high < plain.low
