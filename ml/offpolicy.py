"""Off-policy evaluation: what click-through would another image policy have had, from logged impressions?

Each logged event is a dict:
    {"features": (k, d) candidate features at serving time, "chosen": int, "propensity": float (the logging
     policy's probability of `chosen`), "reward": float (1 = click), "default": int (the original; optional)}
A policy is a callable `event -> (k,) probabilities` over that event's candidates.

Estimators (Dudik, Langford & Li 2011): IPS, self-normalised IPS, the direct method (a ridge reward model)
and doubly robust, each with a percentile-bootstrap confidence interval over events. `compare` runs them all
for several policies, e.g. "always the original", uniform, and the learned recommender.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Policy = Callable[[dict], np.ndarray]


# ----------------------------------------------------------------------------- policies to compare

def always_default(event: dict) -> np.ndarray:
    """The baseline: always show the original photo (`event["default"]`, index 0 if absent)."""
    k = len(event["features"])
    return np.eye(k)[event.get("default", 0)]


def uniform(event: dict) -> np.ndarray:
    """Show each candidate with equal probability."""
    k = len(event["features"])
    return np.full(k, 1.0 / k)


def greedy(weights: np.ndarray) -> Policy:
    """Always the candidate with the highest linear score under `weights` (d,), e.g. a posterior mean."""
    def policy(event: dict) -> np.ndarray:
        x = np.asarray(event["features"], dtype=np.float64)
        return np.eye(len(x))[int(np.argmax(x @ weights))]
    return policy


# ----------------------------------------------------------------------------- reward model

class RidgeRewardModel:
    """Linear click model r(x) = x.w fitted by ridge regression; the direct method's and DR's baseline."""

    def __init__(self, l2: float = 1.0):
        self.l2 = l2  # shrinks rarely-seen feature weights towards 0, like the bandit's prior
        self.weights: np.ndarray | None = None

    def fit(self, x: np.ndarray, r: np.ndarray) -> "RidgeRewardModel":
        """x (n, d), r (n,)."""
        a = x.T @ x + self.l2 * np.eye(x.shape[1])
        self.weights = np.linalg.solve(a, x.T @ r)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.clip(x @ self.weights, 0.0, 1.0)  # a click probability


def _cross_fitted_models(logged: list[dict], folds: int, l2: float, rng: np.random.Generator):
    """One reward model per fold, each fitted on the other folds, so no event is scored by a model that saw it."""
    x = np.stack([np.asarray(e["features"], dtype=np.float64)[e["chosen"]] for e in logged])  # (n, d)
    r = np.array([e["reward"] for e in logged], dtype=np.float64)
    fold = rng.permutation(len(logged)) % folds
    models = [RidgeRewardModel(l2).fit(x[fold != f], r[fold != f]) for f in range(folds)]
    return fold, models


# ----------------------------------------------------------------------------- estimators

def per_event_terms(logged: list[dict], policy: Policy, fold: np.ndarray, models: list) -> dict[str, np.ndarray]:
    """Per-event pieces every estimator is built from: weight w, reward r, direct-method value, DR value."""
    n = len(logged)
    w, r, dm, dr = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for i, event in enumerate(logged):
        x = np.asarray(event["features"], dtype=np.float64)  # (k, d)
        target = np.asarray(policy(event), dtype=np.float64)  # (k,)
        r_hat = models[fold[i]].predict(x)  # (k,)
        a = event["chosen"]
        w[i] = target[a] / event["propensity"]
        r[i] = event["reward"]
        dm[i] = target @ r_hat
        dr[i] = dm[i] + w[i] * (r[i] - r_hat[a])
    return {"w": w, "r": r, "dm": dm, "dr": dr}


def estimates(terms: dict[str, np.ndarray], idx: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """IPS, SNIPS, DM and DR values; with `idx` (b, n) of bootstrap resamples, one value per resample (b,)."""
    t = terms if idx is None else {k: v[idx] for k, v in terms.items()}
    wr = t["w"] * t["r"]
    return {
        "ips": wr.mean(axis=-1),
        "snips": wr.sum(axis=-1) / np.maximum(t["w"].sum(axis=-1), 1e-12),
        "dm": t["dm"].mean(axis=-1),
        "dr": t["dr"].mean(axis=-1),
    }


def effective_sample_size(w: np.ndarray) -> float:
    """(sum w)^2 / sum w^2: how many on-policy events the weighted log is worth."""
    return float(w.sum() ** 2 / max((w**2).sum(), 1e-12))


# ----------------------------------------------------------------------------- the report

def _interval(point: float, boot: np.ndarray, alpha: float) -> dict:
    low, high = np.quantile(boot, [alpha / 2, 1 - alpha / 2])
    return {"value": float(point), "low": float(low), "high": float(high)}


def compare(logged: list[dict], policies: dict[str, Policy], n_boot: int = 500, alpha: float = 0.05,
            seed: int = 0, folds: int = 2, l2: float = 1.0) -> dict:
    """Estimate each policy's click-through from `logged` events, with (1 - alpha) bootstrap intervals.

    Returns {"n", "logged": {value, low, high}, "policies": {name: {"ips"|"snips"|"dm"|"dr": {value, low, high},
    "ess", "max_weight"}}}. Bootstrap resamples events with the reward models held fixed (so DM's interval
    ignores the reward model's own uncertainty).
    """
    if not logged:
        raise ValueError("no logged events to evaluate on")
    rng = np.random.default_rng(seed)
    fold, models = _cross_fitted_models(logged, folds, l2, rng)
    idx = rng.integers(0, len(logged), size=(n_boot, len(logged)))  # the same resamples for every policy
    rewards = np.array([e["reward"] for e in logged], dtype=np.float64)
    report = {"n": len(logged), "logged": _interval(rewards.mean(), rewards[idx].mean(axis=1), alpha),
              "policies": {}}
    for name, policy in policies.items():
        terms = per_event_terms(logged, policy, fold, models)
        point, boot = estimates(terms), estimates(terms, idx)
        row = {key: _interval(point[key], boot[key], alpha) for key in point}
        row["ess"] = effective_sample_size(terms["w"])
        row["max_weight"] = float(terms["w"].max())
        report["policies"][name] = row
    return report


def format_report(report: dict) -> str:
    """A plain-text table of `compare`'s report: one line per policy and estimator."""
    lines = [f"logged n={report['n']}  on-policy CTR {_fmt(report['logged'])}"]
    for name, row in report["policies"].items():
        cells = "  ".join(f"{k} {_fmt(row[k])}" for k in ("ips", "snips", "dm", "dr"))
        lines.append(f"{name:>16}: {cells}  ess {row['ess']:.0f}")
    return "\n".join(lines)


def _fmt(cell: dict) -> str:
    return f"{cell['value']:.4f} [{cell['low']:.4f}, {cell['high']:.4f}]"
