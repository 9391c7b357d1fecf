import numpy as np
import pytest

from ml import offpolicy
from ml.recommender import LinearThompson, ThompsonConfig

THETA = np.array([0.1, 0.25, 0.15, -0.1])  # bias + 3 features: click rates between 0 and 0.5


def logged_events(n=8000, k=4, logging=None, seed=0, noise=None) -> list[dict]:
    """Events from a known linear click model; `logging` (k,) fixed propensities, uniform by default.

    Rewards are clicks (0/1), or with `noise` the click rate plus Gaussian noise (a well-explained reward)."""
    rng = np.random.default_rng(seed)
    probs = np.full(k, 1.0 / k) if logging is None else np.asarray(logging)
    events = []
    for _ in range(n):
        x = np.concatenate([np.ones((k, 1)), rng.random((k, 3))], axis=1)  # (k, d)
        truth = x @ THETA  # (k,)
        a = int(rng.choice(k, p=probs))
        reward = float(rng.random() < truth[a]) if noise is None else truth[a] + noise * rng.standard_normal()
        events.append({"features": x, "chosen": a, "propensity": float(probs[a]),
                       "reward": reward, "default": 0, "truth": truth})
    return events


def true_value(events, policy) -> float:
    return float(np.mean([policy(e) @ e["truth"] for e in events]))


def covers(cell: dict, value: float) -> bool:
    return cell["low"] <= value <= cell["high"]


@pytest.fixture(scope="module")
def uniform_log():
    return logged_events()


def test_ips_on_uniform_logs_estimates_a_known_policy(uniform_log):
    best = offpolicy.greedy(THETA)  # the policy that knows the click model
    report = offpolicy.compare(uniform_log, {"best": best, "original": offpolicy.always_default})
    for name, policy in [("best", best), ("original", offpolicy.always_default)]:
        truth, ips = true_value(uniform_log, policy), report["policies"][name]["ips"]
        assert ips["value"] == pytest.approx(truth, abs=0.03) and covers(ips, truth), (name, truth, ips)
    assert report["policies"]["best"]["ips"]["low"] > report["policies"]["original"]["ips"]["high"]


def test_evaluating_the_logging_policy_gives_the_logged_mean(uniform_log):
    row = offpolicy.compare(uniform_log, {"uniform": offpolicy.uniform})["policies"]["uniform"]
    mean = np.mean([e["reward"] for e in uniform_log])
    assert row["ips"]["value"] == pytest.approx(mean) and row["snips"]["value"] == pytest.approx(mean)
    assert row["ess"] == pytest.approx(len(uniform_log)) and row["max_weight"] == pytest.approx(1.0)


@pytest.mark.parametrize("noise, ratio", [(None, 0.95), (0.05, 0.3)])
def test_doubly_robust_is_tighter_than_ips_with_a_good_reward_model(noise, ratio):
    # with clicks most variance is the coin flip, which no reward model removes; with a well-explained reward, most
    events = logged_events(n=4000, noise=noise, seed=2)
    best = offpolicy.greedy(THETA)
    row = offpolicy.compare(events, {"best": best})["policies"]["best"]
    truth = true_value(events, best)
    width = {k: row[k]["high"] - row[k]["low"] for k in ("ips", "dr")}
    assert width["dr"] < ratio * width["ips"], width
    assert covers(row["dr"], truth) and row["dm"]["value"] == pytest.approx(truth, abs=0.01)


def test_doubly_robust_falls_back_to_ips_with_a_useless_reward_model(uniform_log):
    row = offpolicy.compare(uniform_log[:2000], {"best": offpolicy.greedy(THETA)}, l2=1e12)["policies"]["best"]
    assert row["dm"]["value"] == pytest.approx(0, abs=1e-6)
    assert row["dr"]["value"] == pytest.approx(row["ips"]["value"], abs=1e-6)


def test_snips_and_ips_on_skewed_logging():
    events = logged_events(n=6000, logging=[0.7, 0.1, 0.1, 0.1], seed=1)
    row = offpolicy.compare(events, {"uniform": offpolicy.uniform})["policies"]["uniform"]
    truth = true_value(events, offpolicy.uniform)
    for key in ("ips", "snips", "dr"):
        assert row[key]["value"] == pytest.approx(truth, abs=0.02) and covers(row[key], truth), (key, row[key])
    assert row["ess"] < 0.6 * len(events)  # reweighting costs effective samples


def test_learned_bandit_policy_beats_the_original_off_policy(uniform_log):
    bandit = LinearThompson(ThompsonConfig(dim=4))
    train, held_out = uniform_log[:4000], uniform_log[4000:]
    bandit.update(np.stack([e["features"][e["chosen"]] for e in train]), [e["reward"] for e in train])
    rng = np.random.default_rng(0)
    policies = {"learned": lambda e: bandit.propensities(e["features"], rng), "original": offpolicy.always_default}
    report = offpolicy.compare(held_out, policies)
    assert report["policies"]["learned"]["dr"]["low"] > report["policies"]["original"]["dr"]["high"]
    assert "learned" in offpolicy.format_report(report)


def test_compare_refuses_an_empty_log():
    with pytest.raises(ValueError):
        offpolicy.compare([], {"uniform": offpolicy.uniform})
