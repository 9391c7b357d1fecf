import numpy as np
import pytest

from ml import lift


def logged_world(n, seed=0, k=4):
    """Uniform-ish logging over k images with per-context click rates of ~0.5 %; the target prefers the best."""
    rng = np.random.default_rng(seed)
    ctx = rng.integers(0, 3, n)
    rates = np.array([[0.004, 0.006, 0.003, 0.005], [0.008, 0.002, 0.004, 0.003], [0.003, 0.004, 0.009, 0.004]])
    logging = np.full(k, 1 / k)
    target = 0.1 / k + 0.9 * np.eye(k)[rates.argmax(axis=1)]  # (3, k)
    shown = rng.integers(0, k, n)
    rewards = (rng.random(n) < rates[ctx, shown]).astype(float)
    truth = float((target * rates).sum(axis=1).mean())
    return ctx, shown, rewards, logging[shown], target[ctx, shown], target, rates, truth


def test_estimators_land_within_ten_percent_of_the_true_value_at_100k():
    ctx, shown, r, p_log, p_tgt, target, rates, truth = logged_world(100_000)
    model = np.stack([lift.arm_means(shown[ctx == c], r[ctx == c], 4) for c in range(3)])  # (3, k)
    out = lift.policy_value(r, p_log, p_tgt, r_hat=model[ctx, shown], r_hat_target=(target * model)[ctx].sum(1),
                            n_boot=200)
    for name in ("ips", "snips", "dr"):
        assert out[name]["value"] == pytest.approx(truth, rel=0.10), name
        assert out[name]["low"] < out[name]["value"] < out[name]["high"]
    assert 0.2 * len(r) < out["ess"] < len(r)


def test_effective_sample_size_is_n_for_equal_weights_and_one_for_a_single_weight():
    assert lift.effective_sample_size(np.ones(50)) == pytest.approx(50)
    assert lift.effective_sample_size(np.r_[1.0, np.zeros(49)]) == pytest.approx(1)


def test_verdict_refuses_below_the_minimum_effective_sample_size():
    big = {"value": 1.5, "low": 1.2, "high": 1.8}
    assert lift.verdict(120.4, big, min_ess=1000) == "not enough data yet (effective sample size 120)"
    assert lift.verdict(5000, big, min_ess=1000).startswith("lift x1.50")
    assert lift.verdict(5000, {"value": 1.1, "low": 0.9, "high": 1.3}).startswith("no clear difference")


def test_ratio_interval_covers_the_true_ratio():
    rng = np.random.default_rng(0)
    a, b = (rng.random(20_000) < 0.02).astype(float), (rng.random(20_000) < 0.01).astype(float)
    out = lift.ratio(a, b, n_boot=300)
    assert out["low"] < 2.0 < out["high"] and out["low"] > 1.0
