"""A shop for `bench_taste.py` whose catalogue can grow: products with 2-5 images of distinct colours, shoppers
with segment tastes for colours (a colour a product may lack) and, for returning shoppers, a favourite colour.

Click probability of image i shown in position s to shopper u:
    P(click) = examine[s] * sigmoid(b0 + appeal[i] + sum_f taste_f[u_f, colour(i)] + favourite * [colour(i) == fav(u)])
b0 is set so that uniform choice clicks `ctr`. A click is followed by a purchase with probability `buy_rate`.
Shoppers: a pool whose visits follow a Zipf law (a few come back often); `anonymous` of them have no segment.
It offers what `bench.rare_clicks_policies.RareClicks` reads: images_of(t), attributes(images), context_of(t),
position, sc.slots; `context_of` adds the colours the shopper clicked lately ("liked:colour=c3"), as the plugin does.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.rare_clicks_world import EXAMINE

N_COLOURS = 8
FIELDS = {"device": 3, "campaign": 4, "segment": 4}


@dataclass
class TasteScenario:
    name: str
    products: int = 40
    images: tuple[int, int] = (2, 5)  # per product, distinct colours
    ctr: float = 0.005
    slots: int = 1
    tastes: dict = field(default_factory=lambda: {("segment", 1): (5, 1.5), ("device", 0): (2, 1.0)})
    # (field, value) -> (colour, logit): e.g. segment 1 likes colour 5 strongly
    noise_sd: float = 0.15  # small tastes of every field for every colour (real shops are never flat)
    appeal_sd: float = 0.3  # each image's own appeal
    favourite: float = 0.0  # logit bonus of each shopper's favourite colour (0: none)
    shoppers: int = 3000
    anonymous: float = 0.7
    buy_rate: float = 0.1
    impressions: int = 100_000
    seed: int = 0


class TasteWorld:
    """The true click model, the traffic (pre-drawn, the same for every policy) and a catalogue that can grow."""

    def __init__(self, sc: TasteScenario, impressions: int | None = None, seed_offset: int = 0):
        self.sc = sc
        rng = np.random.default_rng(sc.seed)
        lo, hi = sc.images
        self.colours = [list(rng.permutation(N_COLOURS)[:rng.integers(lo, hi + 1)]) for _ in range(sc.products)]
        self.appeal = {(p, c): sc.appeal_sd * rng.standard_normal()
                       for p in range(sc.products) for c in range(N_COLOURS)}
        self.taste = [sc.noise_sd * rng.standard_normal((size, N_COLOURS)) for size in FIELDS.values()]
        for (name, value), (colour, logit) in sc.tastes.items():
            self.taste[list(FIELDS).index(name)][value, colour] += logit
        self.shopper_context = np.stack([rng.integers(0, size, sc.shoppers) for size in FIELDS.values()], axis=1)
        self.shopper_context[rng.random(sc.shoppers) < sc.anonymous, -1] = -1
        self.favourite = rng.integers(0, N_COLOURS, sc.shoppers)
        traffic = np.random.default_rng(sc.seed + 7 + seed_offset)
        self.n = impressions or sc.impressions
        self.product = traffic.integers(0, sc.products, self.n)
        self.position = traffic.integers(0, len(EXAMINE), self.n)
        zipf = 1 / np.arange(1, sc.shoppers + 1) ** 0.8
        self.shopper = traffic.choice(sc.shoppers, self.n, p=zipf / zipf.sum())
        self.u = traffic.random((self.n, 2))  # click and purchase coin flips
        self.liked: dict[int, list[int]] = {}  # shopper -> colours clicked, oldest first
        self.with_history = True
        self.b0 = 0.0
        for _ in range(30):
            self.b0 += np.log(sc.ctr / self.uniform_ctr())

    # -- the catalogue

    def add(self, product: int, colour: int) -> None:
        """A new image (a generated variant) of `product` in `colour`."""
        if colour not in self.colours[product]:
            self.colours[product].append(colour)

    def lacks(self, product: int) -> list[int]:
        return [c for c in range(N_COLOURS) if c not in self.colours[product]]

    # -- per decision

    def images_of(self, t: int) -> np.ndarray:
        """Image ids of decision t's product: product * N_COLOURS + colour (stable as the catalogue grows)."""
        p = self.product[t]
        return np.array([p * N_COLOURS + c for c in self.colours[p]])

    def attributes(self, images: np.ndarray) -> list[list[str]]:
        return [[f"colour=c{i % N_COLOURS}"] for i in images]

    def context_of(self, t: int) -> list[str]:
        u = self.shopper[t]
        tokens = [f"{name}={name[:2]}{v}" for name, v in zip(FIELDS, self.shopper_context[u]) if v >= 0]
        if self.with_history:
            tokens += sorted({f"liked:colour=c{c}" for c in self.liked.get(u, [])[-3:]})
        return tokens

    def segments_of(self, t: int) -> list[str]:
        """The shopper's segments as the taste analysis reads them (the plugin: keys of ImageEvent.context)."""
        u = self.shopper[t]
        return [f"{name}={name[:2]}{v}" for name, v in zip(FIELDS, self.shopper_context[u]) if v >= 0]

    def logits(self, t: int) -> np.ndarray:
        p, u = self.product[t], self.shopper[t]
        z = []
        for c in self.colours[p]:
            taste = sum(self.taste[j][v, c] for j, v in enumerate(self.shopper_context[u]) if v >= 0)
            z.append(self.b0 + self.appeal[(p, c)] + taste + self.sc.favourite * (c == self.favourite[u]))
        return np.array(z)

    def probs(self, t: int) -> np.ndarray:
        """(1, k): click probability of each image of decision t in its position."""
        return EXAMINE[self.position[t]] / (1 + np.exp(-self.logits(t)))[None, :]

    def outcome(self, t: int, shown: int) -> float:
        """The graded reward of showing image index `shown` (click 1, purchase 10 more), and the history it leaves."""
        if self.u[t, 0] >= self.probs(t)[0, shown]:
            return 0.0
        self.liked.setdefault(self.shopper[t], []).append(self.colours[self.product[t]][shown])
        return 11.0 if self.u[t, 1] < self.sc.buy_rate else 1.0

    def uniform_ctr(self, sample: int = 5000) -> float:
        return float(np.mean([self.probs(t).mean() for t in range(min(sample, self.n))]))
