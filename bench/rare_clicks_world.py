"""A storefront at real click rates for `bench_rare_clicks.py`: shoppers, products with 2-8 images (or one wide
widget of 20-100 items with several slots), position bias, context that matters for some images only, drift.

Click probability of image i in slot s for a shopper with context u:
    P(click) = examine[s] * sigmoid(b0 + q[i] + sum_f A_f[u_f, colour(i)] * responds[colour(i)])
q: the image's own appeal; A_f: each context field's taste for colours (device, campaign, hour, page, and the
segment of signed-in shoppers), only for the colours that `responds` (the others are context-blind). b0 is set so
that the traffic's mean click-through is `ctr`. At `drift_at` q and A are drawn again.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIELDS = {"device": 3, "campaign": 4, "hour": 4, "page": 3, "segment": 4}
N_COLOURS, N_STYLES = 8, 4
EXAMINE = np.array([1.0, 0.75, 0.55, 0.4])  # position-based examination, the usual fall-off of a grid / widget


@dataclass
class Scenario:
    name: str
    products: int = 40
    images: tuple[int, int] = (2, 8)  # per product, inclusive
    slots: int = 1
    ctr: float = 0.005
    context_sd: float = 0.8  # 0: context does not matter
    appeal_sd: float = 0.4
    anonymous: float = 0.7  # share of shoppers with no segment
    impressions: int = 100_000
    seed: int = 0

    @property
    def drift_at(self) -> int:
        return self.impressions // 2


class World:
    """The true click model and a pre-drawn stream of decisions (the same traffic for every policy)."""

    def __init__(self, sc: Scenario):
        self.sc = sc
        rng = np.random.default_rng(sc.seed)
        lo, hi = sc.images
        self.sizes = rng.integers(lo, hi + 1, sc.products)
        self.first = np.concatenate([[0], np.cumsum(self.sizes)[:-1]])  # global index of each product's image 0
        n = int(self.sizes.sum())
        self.colour = rng.integers(0, N_COLOURS, n)
        self.style = rng.integers(0, N_STYLES, n)
        self.responds = np.arange(N_COLOURS) < N_COLOURS // 2  # half the colours follow taste, half do not
        t = sc.impressions
        self.product = rng.integers(0, sc.products, t)
        self.position = rng.integers(0, len(EXAMINE) if sc.slots == 1 else 1, t)
        self.context = np.stack([rng.integers(0, size, t) for size in FIELDS.values()], axis=1)  # (t, fields)
        self.context[rng.random(t) < sc.anonymous, -1] = -1  # anonymous: no segment
        self.u = rng.random((t, sc.slots))  # click coin flips
        before, after = self._tastes(rng), self._tastes(np.random.default_rng(sc.seed + 1000))
        self.table = np.where(np.arange(t)[:, None] < sc.drift_at, self._logits(*before), self._logits(*after))
        # b0 such that uniform choice has click-through `ctr` (examination included)
        for _ in range(30):
            self.table += np.log(sc.ctr / self.uniform_ctr())

    def _tastes(self, rng):
        appeal = self.sc.appeal_sd * rng.standard_normal(len(self.colour))
        return appeal, [self.sc.context_sd * rng.standard_normal((size, N_COLOURS)) for size in FIELDS.values()]

    def _logits(self, appeal, taste) -> np.ndarray:
        """(t, max k) true click logits of every decision's images (padding: -inf)."""
        kmax = int(self.sizes.max())
        img = self.first[self.product][:, None] + np.arange(kmax)[None, :]  # (t, kmax)
        valid = np.arange(kmax)[None, :] < self.sizes[self.product][:, None]
        img = np.where(valid, img, 0)
        c = self.colour[img]
        z = np.log(self.sc.ctr / (1 - self.sc.ctr)) + appeal[img]
        for j, field_taste in enumerate(taste):
            v = self.context[:, j][:, None]
            z = z + np.where(v >= 0, field_taste[np.maximum(v, 0), c], 0.0) * self.responds[c]
        return np.where(valid, z, -np.inf)

    def uniform_ctr(self) -> float:
        p = 1 / (1 + np.exp(-self.table))
        k = self.sizes[self.product]
        exam = EXAMINE[self.position] if self.sc.slots == 1 else EXAMINE[:self.sc.slots].mean()
        return float((exam * p.sum(axis=1) / k).mean())

    # -- per decision

    def images_of(self, t: int) -> np.ndarray:
        p = self.product[t]
        return self.first[p] + np.arange(self.sizes[p])

    def context_of(self, t: int) -> dict:
        out = {}
        for j, name in enumerate(FIELDS):
            v = self.context[t, j]
            if v >= 0:
                out[name] = f"{name[:2]}{v}"
        return out

    def logits(self, t: int) -> np.ndarray:
        """True click logits of decision t's images (k,), examination not included."""
        return self.table[t, :self.sizes[self.product[t]]]

    def probs(self, t: int) -> np.ndarray:
        """(slots, k): click probability of each image in each slot of decision t."""
        p = 1 / (1 + np.exp(-self.logits(t)))
        if self.sc.slots == 1:
            return EXAMINE[self.position[t]] * p[None, :]
        return EXAMINE[:self.sc.slots, None] * p[None, :]

    def attributes(self, images: np.ndarray) -> list[list[str]]:
        return [[f"colour={self.colour[i]}", f"style={self.style[i]}"] for i in images]
