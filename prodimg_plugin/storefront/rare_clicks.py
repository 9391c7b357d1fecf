"""The rare-click recommender: `ml.rare_clicks.RareClickThompson` behind the storefront's recommender interface.

It is the default PRODIMG["RECOMMENDER"] ("prodimg_plugin.storefront.recommenders.RareClickRecommender").

It decides from the shopper's coarse context (PRODIMG["SHOPPER_CONTEXT"]: device, page, campaign, new or
returning, hour of week, segment) and the attributes of the images they clicked lately, so an anonymous shopper
is personalised from the first request; it learns graded rewards (REWARD_WEIGHTS) within ATTRIBUTION_HOURS,
forgets with HALF_LIFE_DAYS (an hourly django-q2 schedule), and a HOLDOUT_SHARE of shoppers always see the
seller's main image, for the report.
"""
from __future__ import annotations

import base64
import logging
import threading
from datetime import datetime

import numpy as np
from django.utils import timezone

from ml.rare_clicks import RareClickConfig, RareClickThompson
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.storefront.context import Candidate, Feedback, Ranked, ShopperContext

log = logging.getLogger(__name__)

LIKED_IMAGES = 3  # the shopper's last clicked images whose attributes join their context


def image_tokens(candidate_or_attributes) -> list[str]:
    """An image's attribute tokens ("colour=navy", "kind=variant"), from a Candidate or a logged attribute dict."""
    if isinstance(candidate_or_attributes, Candidate):
        attrs = {**candidate_or_attributes.attributes, "kind": candidate_or_attributes.kind}
    else:
        attrs = candidate_or_attributes or {}
    return [f"{k}={v}" for k, v in sorted(attrs.items()) if v not in (None, "")]


def context_tokens(shopper: ShopperContext) -> list[str]:
    """The shopper's context as tokens: their coarse features, then the attribute values of the images they
    clicked lately ("liked:colour=navy-blue"), which the sampler crosses with each candidate's attributes: a
    shopper who clicked navy images is shown navy images of other products too."""
    tokens = [f"{k}={v}" for k, v in sorted(shopper.features.items())]
    liked = {f"liked:{t}" for attrs in shopper.liked[-LIKED_IMAGES:] for t in image_tokens(attrs)}
    return tokens + sorted(liked)


class RareClickRecommender:
    """Bayesian logistic Thompson sampling over (shopper context x image) for click rates of a few per mille."""

    name = "rare-clicks"
    uses_holdout = True  # personalize shows HOLDOUT_SHARE of shoppers the main image, logged as "holdout"
    ready = True  # it decides from the prior on the first request: its choices are the policy's

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(prodimg_settings.RECOMMENDER_SEED if seed is None else seed)
        self.model: RareClickThompson | None = None
        self.decayed_at: datetime | None = None
        self._lock = threading.Lock()  # numpy Generators are not thread-safe

    @property
    def attribution_seconds(self) -> float:
        """How long learning waits for outcomes: an impression is learnt from once its window has closed."""
        return float(prodimg_settings.ATTRIBUTION_HOURS) * 3600

    def new_model(self) -> RareClickThompson:
        """A fresh posterior centred on BASE_RATE. Override to change the sampler's config."""
        return RareClickThompson(RareClickConfig(base_rate=prodimg_settings.BASE_RATE,
                                                 half_life=prodimg_settings.HALF_LIFE_DAYS * 86400.0,
                                                 exploration_floor=prodimg_settings.EXPLORATION_FLOOR))

    def _model(self) -> RareClickThompson:
        if self.model is None:
            self.model = self.new_model()
        return self.model

    # -- choosing

    def rank(self, shopper: ShopperContext, product, candidates: list[Candidate]) -> list[Ranked]:
        """The chosen image first, then the rest by expected click-through; propensities from the sampler."""
        if len(candidates) < 2:
            return [Ranked(c, 1.0) for c in candidates]
        model = self._model()
        with self._lock:
            enc = model.encode([c.key for c in candidates], [image_tokens(c) for c in candidates],
                               context_tokens(shopper))
            choice = model.choose(enc, self.rng)
        order = [choice.chosen] + [i for i in choice.order if i != choice.chosen]
        return [Ranked(candidates[i], float(choice.propensities[0, i])) for i in order]

    # -- learning

    def update(self, feedback: list[Feedback]) -> None:
        """Fold decisions and their graded rewards into a copy of the posterior (ranking never waits)."""
        if not feedback:
            return
        model = RareClickThompson.from_bytes(self._model().to_bytes())
        rows, rewards, shown = [], [], []
        for f in feedback:
            enc = model.encode([f.shown], [image_tokens(f.attributes)], context_tokens(f.shopper), f.position)
            rows.append(model.rows_for(enc, 0))
            rewards.append(float(f.clicked) if f.reward is None else f.reward)
            shown.append(enc.count_slots[0])
        model.learn(model.stack_rows(rows), np.array(rewards), np.array(shown))
        self.model = model

    def decay(self, now: datetime | None = None) -> float:
        """Forget in proportion to the time since the last decay; returns the seconds decayed over."""
        now = now or timezone.now()
        elapsed = (now - self.decayed_at).total_seconds() if self.decayed_at else 0.0
        if elapsed > 0 and self.model is not None:
            model = RareClickThompson.from_bytes(self.model.to_bytes())
            model.decay(elapsed)
            self.model = model
        self.decayed_at = now
        return elapsed

    # -- state

    def state_dict(self) -> dict:
        """The posterior as base64 of its NumPy bytes (no JSON lists of floats), and when it last decayed."""
        if self.model is None:
            return {}
        return {"format": "npz", "model": base64.b64encode(self.model.to_bytes()).decode("ascii"),
                "decayed_at": self.decayed_at.isoformat() if self.decayed_at else None}

    def load_state(self, state: dict) -> None:
        """Take a stored state; one this code cannot read is dropped (logged) and learning starts afresh."""
        self.model, self.decayed_at = None, None
        if not state:
            return
        try:
            self.model = RareClickThompson.from_bytes(base64.b64decode(state["model"]))
            self.model.config.exploration_floor = prodimg_settings.EXPLORATION_FLOOR
            self.model.config.half_life = prodimg_settings.HALF_LIFE_DAYS * 86400.0
            at = state.get("decayed_at")
            self.decayed_at = datetime.fromisoformat(at) if at else None
        except (KeyError, ValueError, OSError) as exc:
            log.warning("recommender state unreadable (%s): starting afresh", exc)
            self.model = None
