"""Which attribute values (colours) a segment of shoppers prefers, from logged impressions and their outcomes.

For a segment g (e.g. "device=phone", "segment=vip", or "all") and a value v of one attribute (e.g. colour
"navy-blue"), the lift is the mean reward (an outcome: 1, or graded) of images of value v shown to g, over that of
the other images shown to g on the same products (only products that had an image of value v, so a product that
never offered v does not dilute the comparison). Each impression is weighted by 1 / the probability the policy
had of showing that image (self-normalised inverse propensity weighting): a policy that already shows navy to the
shoppers most likely to click it would otherwise inflate navy's lift, as it did in the simulator (x1.9 measured
for a true x1.4).

Its interval is the normal interval of log(lift) by the delta method, at a family-wise level: alpha is split over
every (segment, value) pair tested (Bonferroni), so testing 200 pairs does not turn noise into ten "tastes".

A taste is claimed only when the evidence is strong (`is_taste`):
  - at least `min_clicks` rewarded impressions of value v in the segment, and
  - the interval's lower end above 1, and
  - the lift itself at least `min_lift` (a preference worth making images for).

Pure NumPy; the plugin reads its events into arrays, the benchmark its simulated log.
"""
from __future__ import annotations

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

ALL = "all"  # the segment every shopper belongs to


@dataclass
class TasteConfig:
    min_clicks: int = 20  # rewarded impressions of the value in the segment: below this, no claim
    min_lift: float = 1.25  # smallest lift worth making images for
    alpha: float = 0.05  # family-wise error over all the (segment, value) pairs tested


@dataclass
class Taste:
    """The evidence that segment `segment` prefers `value`."""

    segment: str
    value: str
    lift: float  # mean reward of `value` images over that of the others shown to the segment, same products
    low: float  # the family-wise interval of the lift
    high: float
    impressions: int  # impressions of `value` images in the segment
    clicks: int  # ... of them rewarded (clicked, added to cart or bought)
    impressions_other: int  # impressions of the other images, same segment and products
    clicks_other: int
    level: float  # the interval's family-wise confidence (1 - alpha)


def segment_tastes(segments: list[list[str]], values: np.ndarray, products: np.ndarray, rewards: np.ndarray,
                   propensities: np.ndarray | None = None, config: TasteConfig | None = None) -> list[Taste]:
    """Every tested (segment, value) pair's evidence, strongest first (use `is_taste` to keep the claims).

    segments: per impression, the segments its shopper belonged to (ALL is added); values (n,): the shown image's
    attribute value ("" when unknown); products (n,): the product; rewards (n,): graded reward (0: none);
    propensities (n,): the probability the shown image had (None: all alike, a uniform log)."""
    config = config or TasteConfig()
    values, products = np.asarray(values).astype(str), np.asarray(products).astype(str)
    rewards = np.asarray(rewards, dtype=np.float64)
    weights = np.ones(len(rewards)) if propensities is None else 1 / np.asarray(propensities, dtype=np.float64)
    members = _members(segments, len(values))
    offered = {str(v): np.isin(products, np.unique(products[values == v])) for v in np.unique(values) if v}
    rows = []
    for segment, in_segment in members.items():
        for value, on_products in offered.items():
            mine, other = in_segment & on_products & (values == value), in_segment & on_products & (values != value)
            if mine.any() and other.any():
                rows.append((segment, value, rewards[mine], weights[mine], rewards[other], weights[other]))
    z = NormalDist().inv_cdf(1 - config.alpha / (2 * max(len(rows), 1)))
    out = [t for t in (_evidence(*row, z, 1 - config.alpha) for row in rows) if t is not None]
    return sorted(out, key=lambda t: -t.low)


def is_taste(t: Taste, config: TasteConfig | None = None) -> bool:
    """The rule for claiming a taste (module docstring)."""
    config = config or TasteConfig()
    return t.clicks >= config.min_clicks and t.low > 1.0 and t.lift >= config.min_lift


def segment_traffic(segments: list[list[str]], products) -> dict[tuple[str, str], int]:
    """(segment, product) -> impressions, ALL included: how much each segment saw of each product."""
    out: dict[tuple[str, str], int] = {}
    for tokens, product in zip(segments, products):
        for segment in {ALL, *tokens}:
            out[(segment, str(product))] = out.get((segment, str(product)), 0) + 1
    return out


def _members(segments: list[list[str]], n: int) -> dict[str, np.ndarray]:
    """segment -> (n,) bool: which impressions' shoppers belong to it."""
    out = {ALL: np.ones(n, dtype=bool)}
    for i, tokens in enumerate(segments):
        for token in tokens:
            if token != ALL:
                out.setdefault(token, np.zeros(n, dtype=bool))[i] = True
    return out


def _evidence(segment: str, value: str, mine: np.ndarray, w_mine: np.ndarray, other: np.ndarray, w_other: np.ndarray,
              z: float, level: float) -> Taste | None:
    """The lift of `mine` over `other` (weighted mean rewards) with its interval; None when either has no reward."""
    m1, m0 = _weighted_mean(mine, w_mine), _weighted_mean(other, w_other)
    if m1 <= 0 or m0 <= 0:
        return None
    se = np.sqrt(_variance_of_mean(mine, w_mine, m1) / m1**2 + _variance_of_mean(other, w_other, m0) / m0**2)
    lift = m1 / m0  # se is that of log(lift), by the delta method
    return Taste(segment, value, float(lift), float(lift * np.exp(-z * se)), float(lift * np.exp(z * se)),
                 len(mine), int((mine > 0).sum()), len(other), int((other > 0).sum()), level)


def _weighted_mean(r: np.ndarray, w: np.ndarray) -> float:
    return float((w * r).sum() / w.sum())


def _variance_of_mean(r: np.ndarray, w: np.ndarray, mean: float) -> float:
    """Variance of a self-normalised weighted mean (linearised): sum w^2 (r - mean)^2 / (sum w)^2."""
    return float((w**2 * (r - mean) ** 2).sum() / w.sum() ** 2)


@dataclass
class Proposal:
    """Make an image of `value` for `product`: the segment that prefers it saw the product, which lacks it."""

    product: str
    value: str
    taste: Taste
    seen: int  # impressions of the product by the segment


def propose(tastes: list[Taste], lacking: dict[str, set[str]], seen: dict[tuple[str, str], int],
            per_product: int = 3, limit: int = 20) -> list[Proposal]:
    """Proposals from claimed tastes (strongest first): for each, the products the segment saw most that lack the
    value; at most `per_product` values per product and `limit` in all, each (product, value) once.

    lacking: product -> the values it has no image (nor one being made) of; seen: (segment, product) -> impressions."""
    by_segment: dict[str, list[tuple[int, str]]] = {}
    for (segment, product), n in seen.items():
        by_segment.setdefault(segment, []).append((n, product))
    out, count, taken = [], {}, set()
    for taste in tastes:
        for n, product in sorted(by_segment.get(taste.segment, []), key=lambda x: (-x[0], x[1])):
            key = (product, taste.value)
            if taste.value in lacking.get(product, ()) and key not in taken and count.get(product, 0) < per_product:
                out.append(Proposal(product, taste.value, taste, n))
                taken.add(key)
                count[product] = count.get(product, 0) + 1
                if len(out) >= limit:
                    return out
    return out
