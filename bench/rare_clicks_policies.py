"""The policies `bench_rare_clicks.py` compares: uniform, Beta-Bernoulli Thompson (no context), the linear-Gaussian
ImageRecommender (the previous default), the rare-click logistic Thompson sampler, and the oracle.

Each has `decide(world, t, rng) -> (slots, propensities (slots, k))` and `learn(world, batch)` where batch holds
(t, slots, clicks (slots,)) of the last decisions; learning happens every `BATCH` decisions, as the plugin does.
"""
from __future__ import annotations

import numpy as np

from ml.rare_clicks import RareClickConfig, RareClickThompson
from ml.recommender import ImageRecommender, RecommenderConfig

BATCH = 1000


class Uniform:
    name = "uniform"

    def decide(self, world, t, rng):
        k, s = world.sizes[world.product[t]], world.sc.slots
        return list(rng.permutation(k)[:s]), np.full((s, k), 1 / k)

    def learn(self, world, batch):
        pass


class Oracle(Uniform):
    name = "oracle"

    def decide(self, world, t, rng):
        order = np.argsort(-world.logits(t))[:world.sc.slots]
        p = np.zeros((world.sc.slots, len(world.images_of(t))))
        p[np.arange(len(order)), order] = 1
        return list(order), p


class BetaThompson(Uniform):
    """Beta(1, 1)-Bernoulli Thompson per image, blind to context: ten lines in any textbook."""

    name = "beta"

    def __init__(self, n_images: int):
        self.a, self.b = np.ones(n_images), np.ones(n_images)

    def decide(self, world, t, rng):
        img = world.images_of(t)
        draws = rng.beta(self.a[img], self.b[img])
        order = list(np.argsort(-draws)[:world.sc.slots])
        return order, np.full((world.sc.slots, len(img)), np.nan)  # Monte-Carlo propensities not needed here

    def learn(self, world, batch):
        for t, slots, clicks in batch:
            img = world.images_of(t)[slots]
            self.a[img] += clicks
            self.b[img] += 1 - clicks


class LinearGaussian(Uniform):
    """ml.recommender.ImageRecommender as the plugin used it: one-hot colour and style and an is-original flag
    per image, and the shopper's context summary (empty: these shoppers have no click history yet)."""

    name = "linear (current)"

    def __init__(self, world):
        m = 8 + 4 + 1
        self.model = ImageRecommender(RecommenderConfig(image_dim=m))
        self.vecs = np.zeros((len(world.colour), m))
        self.vecs[np.arange(len(world.colour)), world.colour] = 1
        self.vecs[np.arange(len(world.colour)), 8 + world.style] = 1
        self.vecs[world.first, 12] = 1
        self.context = self.model.empty_context()

    def decide(self, world, t, rng):
        img = world.images_of(t)
        r = self.model.rank(self.vecs[img], self.context, rng, default_index=0)
        p = np.zeros((world.sc.slots, len(img)))
        p[0] = r.propensities
        return r.order[:world.sc.slots], p

    def learn(self, world, batch):
        vecs, clicks = [], []
        for t, slots, c in batch:
            vecs.extend(self.vecs[world.images_of(t)[slots]])
            clicks.extend(c)
        self.model.update(np.array(vecs), np.repeat(self.context[None], len(vecs), 0), np.array(clicks))


class RareClicks(Uniform):
    """ml.rare_clicks.RareClickThompson with the shopper's context, the images' attributes and the slot."""

    name = "rare-click (new)"

    def __init__(self, world, half_life_decisions: float, **config):
        self.model = RareClickThompson(RareClickConfig(half_life=half_life_decisions, **config))
        self.encoded = {}

    def decide(self, world, t, rng):
        img = world.images_of(t)
        keys = [str(i) for i in img]
        pos = None if world.sc.slots > 1 else int(world.position[t])
        enc = self.model.encode(keys, world.attributes(img), world.context_of(t), position=pos)
        choice = self.model.choose(enc, rng, n_slots=world.sc.slots)
        self.encoded[t] = enc
        return choice.slots, choice.propensities

    def learn(self, world, batch):
        rows, rewards, shown = [], [], []
        for t, slots, clicks in batch:
            enc = self.encoded.pop(t)
            for s, (i, c) in enumerate(zip(slots, clicks)):
                row = self.model.rows_for(enc, i)
                if world.sc.slots > 1:  # a widget: the slot is the position
                    row = np.append(row, self.model.position_slot(s))
                rows.append(row)
                rewards.append(c)
                shown.append(enc.count_slots[i])
        self.model.learn(self.model.stack_rows(rows), np.array(rewards), np.array(shown))
        self.model.decay(len(batch))  # time runs in decisions here: the half-life is a number of decisions
