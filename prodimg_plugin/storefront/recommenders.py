"""Recommenders pick, per shopper, which approved image of a product to show.

A recommender is a class with `rank(shopper, product, candidates) -> list[Ranked]` and `update(feedback)`;
PRODIMG["RECOMMENDER"] names the one in use. The storefront shows the first of the ranked list; the
propensities are the probabilities the policy had of showing each candidate (they sum to 1 and are logged
for off-policy evaluation, so a recommender that draws at random must return the probabilities it drew from).

A recommender may say it is not `ready` (a property; cold start): its choices are then not cached per shopper.
It may also keep learned state: `state_dict() -> dict` (JSON-able) and `load_state(dict)`. The
plugin then stores that state (hot copy in the cache, persisted in RecommenderState) and hands the newest one
to every web process.
"""
from __future__ import annotations

import logging
import threading

import numpy as np

from ml.recommender import ImageRecommender, RecommenderConfig
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.storefront import features
from prodimg_plugin.storefront.context import Candidate, Feedback, Ranked, ShopperContext
from prodimg_plugin.storefront.rare_clicks import RareClickRecommender

log = logging.getLogger(__name__)

__all__ = ["Candidate", "Feedback", "OriginalImageRecommender", "Ranked", "RareClickRecommender", "ShopperContext",
           "ThompsonRecommender"]


class OriginalImageRecommender:
    """Always the original photo: the baseline every personalised recommender is compared with."""

    name = "original"

    def rank(self, shopper: ShopperContext, product, candidates: list[Candidate]) -> list[Ranked]:
        """The first candidate (the main original photo) with probability 1."""
        if not candidates:
            return []
        return [Ranked(candidates[0], 1.0)] + [Ranked(c, 0.0) for c in candidates[1:]]

    def update(self, feedback: list[Feedback]) -> None:
        """Nothing to learn."""


class ThompsonRecommender:
    """The previous default (now `RareClickRecommender`): contextual Thompson sampling over image features and the
    shopper's recent interactions.

    One linear-Gaussian posterior (ml.recommender.ImageRecommender) is shared by all shoppers and personal
    through their context: a decayed summary of the images they recently clicked and skipped. Until it has
    learnt from anything it shows the original photo; afterwards every approved image keeps at least
    EXPLORATION_FLOOR / k of the choices.
    """

    name = "thompson"

    def __init__(self, seed: int | None = None):
        self.rng = np.random.default_rng(prodimg_settings.RECOMMENDER_SEED if seed is None else seed)
        self.model: ImageRecommender | None = None
        self.space: str | None = None  # the feature space the model was trained in
        self._lock = threading.Lock()  # numpy Generators are not thread-safe

    # -- choosing

    @property
    def ready(self) -> bool:
        """False during cold start: the plugin then does not cache its choices (they are not the policy's)."""
        return self._usable_model() is not None

    def rank(self, shopper: ShopperContext, product, candidates: list[Candidate]) -> list[Ranked]:
        """Chosen candidate first, then the others by expected click rate; the original during cold start."""
        model = self._usable_model()
        if model is None or len(candidates) < 2:
            return OriginalImageRecommender().rank(shopper, product, candidates)
        vectors = self.image_vectors(candidates)
        usable = [c for c in candidates if c.key in vectors]
        if not usable or usable[0] is not candidates[0] or len(vectors[usable[0].key]) != model.config.image_dim:
            return OriginalImageRecommender().rank(shopper, product, candidates)
        context = self.context_vector(shopper, model)
        with self._lock:
            ranking = model.rank(np.stack([vectors[c.key] for c in usable]), context, self.rng, default_index=0)
        ranked = [Ranked(usable[i], float(ranking.propensities[i])) for i in ranking.order]
        return ranked + [Ranked(c, 0.0) for c in candidates if c.key not in vectors]

    def _usable_model(self) -> ImageRecommender | None:
        """The model, or None during cold start (nothing learnt yet) or after the feature space changed."""
        model = self.model
        if model is None or model.bandit.n_obs <= model.bandit.config.warmup:
            return None
        return model if self.space == features.current_space().name else None

    def image_vectors(self, candidates_or_keys) -> dict[str, np.ndarray]:
        """Candidate key -> image vector (features, then an is-original flag)."""
        keys = [c if isinstance(c, str) else c.key for c in candidates_or_keys]
        return {k: np.append(v, 1.0 if k.startswith("s") else 0.0) for k, v in features.vectors(keys).items()}

    def context_vector(self, shopper: ShopperContext, model: ImageRecommender) -> np.ndarray:
        """The shopper's context (2m,): their history folded with the model's decay (kept in `shopper.memo`)."""
        memo_key = (self.name, self.space, model.config.image_dim, model.config.decay)
        if memo_key not in shopper.memo:
            vectors = self.image_vectors(key for key, _ in shopper.history)
            context = model.empty_context()
            for key, clicked in shopper.history:
                vec = vectors.get(key)
                if vec is not None and len(vec) == model.config.image_dim:
                    context = model.observe(context, vec, clicked)
            shopper.memo[memo_key] = context
        return shopper.memo[memo_key]

    # -- learning

    def update(self, feedback: list[Feedback]) -> None:
        """Fold decisions and their clicks into the posterior (a new model object: ranking never waits)."""
        vectors = self.image_vectors({f.shown for f in feedback})
        rows = [f for f in feedback if f.shown in vectors]
        if not rows:
            return
        space = features.current_space().name
        dim = len(vectors[rows[0].shown])
        current = self.model if self.space == space and self.model and self.model.config.image_dim == dim else None
        model = ImageRecommender.from_dict(current.to_dict()) if current else self.new_model(dim)
        contexts = np.stack([self.context_vector(f.shopper, model) for f in rows])
        images = np.stack([vectors[f.shown] for f in rows])
        model.update(images, contexts, np.array([float(f.clicked) for f in rows]))
        self.model, self.space = model, space

    def new_model(self, image_dim: int) -> ImageRecommender:
        """A fresh posterior for image vectors of length `image_dim`. Override to change the bandit's config."""
        return ImageRecommender(RecommenderConfig(image_dim=image_dim,
                                                  exploration_floor=prodimg_settings.EXPLORATION_FLOOR))

    # -- state

    def state_dict(self) -> dict:
        """JSON-able learned state ({} before anything has been learnt)."""
        if self.model is None:
            return {}
        return {"space": self.space, "model": self.model.to_dict()}

    def load_state(self, state: dict) -> None:
        """Take a stored state; one from another feature space (e.g. before a CVAE was activated) is dropped."""
        space = features.current_space().name
        if not state or state.get("space") != space:
            if state:
                log.warning("recommender state is for feature space %s, not %s: starting afresh",
                            state.get("space"), space)
            self.model, self.space = None, space
            return
        model = ImageRecommender.from_dict(state["model"])
        model.config.exploration_floor = prodimg_settings.EXPLORATION_FLOOR
        self.model, self.space = model, space
