"""Per-shopper image choice: a contextual Thompson-sampling bandit over a product's approved images.

For each product the storefront shows one approved image (the original photo or an approved AI variant/edit).
One linear-Gaussian model is shared by all shoppers; it is personal through the shopper's context, a decayed
summary of the images they recently clicked and skipped. The features pair each candidate image with that
context (elementwise and low-rank interactions), so "clicked navy before" can lift "navy candidate now".

Layers, smallest first:
- `image_vector` / `colour_histogram`: a fixed-length vector per image (embedding + one-hot attributes).
- `ContextSummary`: the shopper's context vector and its update after an impression.
- `features`: one row per candidate from (image vector, context).
- `LinearThompson`: Bayesian linear regression on click/no-click with Monte-Carlo Thompson propensities.
- `ImageRecommender`: the three above behind `rank(...)` / `update(...)` / `to_dict()`, which the plugin wraps.

Pure NumPy; every random choice comes from the `np.random.Generator` the caller passes.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from ml.vocab import AttributeVocab


# ----------------------------------------------------------------------------- image vectors

def colour_histogram(image: np.ndarray, bins: int = 4, background: float = 0.92) -> np.ndarray:
    """A unit-norm RGB histogram (bins**3,) of an image's non-background pixels.

    `image` is uint8 (h, w, 3) or float (h, w, 3) in [0, 1]. Near-white pixels (all channels above
    `background`) are dropped because product photos sit on white and the background says nothing of colour.
    """
    px = image.reshape(-1, 3).astype(np.float64)
    px = px / 255.0 if image.dtype == np.uint8 else px
    keep = px[~(px > background).all(axis=1)]
    px = keep if len(keep) else px
    idx = np.minimum((px * bins).astype(int), bins - 1)  # (n, 3)
    flat = (idx[:, 0] * bins + idx[:, 1]) * bins + idx[:, 2]
    hist = np.bincount(flat, minlength=bins**3).astype(np.float64)
    return hist / max(np.linalg.norm(hist), 1e-12)


def image_vector(embedding: np.ndarray | None, attrs: dict | None = None, vocab: AttributeVocab | None = None,
                 is_original: bool | None = None) -> np.ndarray:
    """An image's recommender vector: unit-norm embedding, then one-hot attributes, then an is-original flag.

    `embedding` is any fixed-length vector (a CVAE mu, a `colour_histogram`); `attrs` are encoded with `vocab`
    (unseen values fall on `<unk>`). Every image of a shop must be built with the same arguments.
    """
    parts = []
    if embedding is not None:
        emb = np.asarray(embedding, dtype=np.float64).ravel()
        parts.append(emb / max(np.linalg.norm(emb), 1e-12))
    if vocab is not None:
        for size, index in zip(vocab.sizes(), vocab.encode(attrs or {})):
            parts.append(np.eye(size)[index])
    if is_original is not None:
        parts.append(np.array([float(is_original)]))
    return np.concatenate(parts) if parts else np.zeros(0)


# ----------------------------------------------------------------------------- context and features

class ContextSummary:
    """A shopper's context: decayed means of clicked and of shown-but-skipped image vectors, (2m,).

    Layout: [clicked (m), skipped (m)]. Each half starts at zero and moves towards the images of its kind by
    `1 - decay` per event of that kind, so its length also says how much evidence there is (no click yet: 0).
    """

    @staticmethod
    def empty(image_dim: int) -> np.ndarray:
        return np.zeros(2 * image_dim)

    @staticmethod
    def update(context_vec: np.ndarray, image_vec: np.ndarray, clicked: bool, decay: float = 0.7) -> np.ndarray:
        """The context after the shopper was shown `image_vec` and did (or did not) click it."""
        m = len(image_vec)
        new = np.array(context_vec, dtype=np.float64, copy=True)
        part = slice(0, m) if clicked else slice(m, 2 * m)
        new[part] = decay * new[part] + (1 - decay) * np.asarray(image_vec, dtype=np.float64)
        return new


def low_rank_projection(image_dim: int, rank: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    """Fixed random projections (context (2m, rank), image (m, rank)) for the outer-product features."""
    if rank <= 0:
        return None
    rng = np.random.default_rng(seed)
    ctx = rng.standard_normal((2 * image_dim, rank)) / np.sqrt(2 * image_dim)
    img = rng.standard_normal((image_dim, rank)) / np.sqrt(image_dim)
    return ctx, img


def feature_dim(image_dim: int, rank: int = 0) -> int:
    """Length of `features(...)` rows: bias, 2 similarities, image, context, image*clicked, image*skipped, rank**2."""
    return 3 + 5 * image_dim + rank * rank


def features(image_vec: np.ndarray, context_vec: np.ndarray,
             projection: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Candidate features from image vectors (..., m) and one context (2m,): returns (..., feature_dim).

    [1, image.clicked, image.skipped, image, context, image*clicked, image*skipped, outer(P_c context, P_i image)].
    The two similarities give one weight that transfers to every colour at once ("more like what they clicked");
    the elementwise terms let that lift differ per coordinate (colour c, attribute a); the low-rank outer product
    (from `low_rank_projection`) lets related but different coordinates (navy vs blue bins) interact too.
    """
    img = np.asarray(image_vec, dtype=np.float64)
    ctx = np.asarray(context_vec, dtype=np.float64)
    m = img.shape[-1]
    lead = img.shape[:-1]
    clicked, skipped = img * ctx[:m], img * ctx[m:]  # (..., m) each
    sims = np.stack([clicked.sum(-1), skipped.sum(-1)], axis=-1)  # (..., 2)
    parts = [np.ones(lead + (1,)), sims, img, np.broadcast_to(ctx, lead + (2 * m,)), clicked, skipped]
    if projection is not None:
        pc = ctx @ projection[0]  # (r,)
        pi = img @ projection[1]  # (..., r)
        parts.append((pi[..., :, None] * pc[None, :]).reshape(lead + (-1,)))
    return np.concatenate(parts, axis=-1)


# ----------------------------------------------------------------------------- the bandit

@dataclass
class ThompsonConfig:
    dim: int  # feature length, `feature_dim(image_dim, rank)`
    prior_var: float = 0.25  # weight prior N(0, prior_var I): unit-scale features on a 0/1 reward need small weights
    noise_var: float = 0.25  # reward noise: the largest variance a 0/1 click can have (p = 1/2), so never overconfident
    n_draws: int = 64  # posterior draws per choice; propensities are multiples of 1/n_draws before the floor
    warmup: int = 0  # observations before Thompson takes over from the default (original) image; 0: the first one


class LinearThompson:
    """Contextual Thompson sampling with a Bayesian linear-Gaussian reward model.

    Posterior over weights w: precision A = I / prior_var + X^T X / noise_var, b = X^T y / noise_var,
    mean A^-1 b, covariance A^-1. `choose` samples `n_draws` weights, takes the best candidate under each,
    and mixes the resulting frequencies with a uniform floor; the index is drawn from exactly those
    propensities, so logged propensities are the ones the choice was made with (what off-policy needs).
    """

    def __init__(self, config: ThompsonConfig):
        self.config = config
        self.precision = np.eye(config.dim) / config.prior_var  # (d, d)
        self.b = np.zeros(config.dim)  # (d,)
        self.n_obs = 0
        self._cache: tuple[np.ndarray, np.ndarray] | None = None  # (mean (d,), root (d, d)), root root^T = A^-1

    # -- learning

    def update(self, features: np.ndarray, rewards: np.ndarray) -> None:
        """Add observations: features (n, d) or (d,), rewards (n,) or scalar (1 = click)."""
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        y = np.atleast_1d(np.asarray(rewards, dtype=np.float64))
        if x.shape != (len(y), self.config.dim):
            raise ValueError(f"features {x.shape} do not match rewards {y.shape} and dim {self.config.dim}")
        self.precision += x.T @ x / self.config.noise_var
        self.precision = (self.precision + self.precision.T) / 2  # drift from float error would break Cholesky
        self.b += x.T @ y / self.config.noise_var
        self.n_obs += len(y)
        self._cache = None

    def discount(self, factor: float) -> None:
        """Forget old evidence: move the posterior `1 - factor` of the way back to the prior (tastes drift).

        Call it periodically (e.g. nightly with 0.9); weights keep their mean direction while uncertainty grows
        again, so the policy keeps exploring new variants instead of freezing on last season's favourite."""
        prior = np.eye(self.config.dim) / self.config.prior_var
        self.precision = factor * self.precision + (1 - factor) * prior
        self.b = factor * self.b
        self._cache = None

    def _posterior(self) -> tuple[np.ndarray, np.ndarray]:
        if self._cache is None:
            chol = _stable_cholesky(self.precision)  # A = L L^T
            root = np.linalg.inv(chol).T  # L^-T: cov = L^-T L^-1; inverting a triangle is as stable as solving
            mean = root @ (root.T @ self.b)
            self._cache = (mean, root)
        return self._cache

    @property
    def mean(self) -> np.ndarray:
        """Posterior mean of the weights (d,)."""
        return self._posterior()[0].copy()

    def covariance(self) -> np.ndarray:
        root = self._posterior()[1]
        return root @ root.T

    def expected_rewards(self, feature_matrix: np.ndarray) -> np.ndarray:
        """Posterior-mean click estimate per candidate (k,)."""
        return np.asarray(feature_matrix, dtype=np.float64) @ self._posterior()[0]

    # -- choosing

    def sample_weights(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n posterior draws of the weights, (d, n)."""
        mean, root = self._posterior()
        return mean[:, None] + root @ rng.standard_normal((self.config.dim, n))

    def thompson_probabilities(self, feature_matrix: np.ndarray, rng: np.random.Generator,
                               default_index: int | None = None) -> np.ndarray:
        """P(candidate is best under a posterior draw), Monte-Carlo (k,); the default during cold start."""
        x = np.asarray(feature_matrix, dtype=np.float64)  # (k, d)
        k = len(x)
        if default_index is not None and self.n_obs <= self.config.warmup:
            return np.eye(k)[default_index]
        mean, root = self._posterior()
        s = x @ root  # (k, d): the candidates' scores x.w have covariance s s^T, so draw scores, not weights
        cov = s @ s.T + 1e-9 * np.trace(s @ s.T) / k * np.eye(k)  # jitter: identical candidates tie at random
        scores = (x @ mean)[:, None] + _stable_cholesky(cov) @ rng.standard_normal((k, self.config.n_draws))
        best = np.argmax(scores, axis=0)  # (n_draws,)
        return np.bincount(best, minlength=k) / self.config.n_draws

    def propensities(self, feature_matrix: np.ndarray, rng: np.random.Generator, exploration_floor: float = 0.05,
                     default_index: int | None = None) -> np.ndarray:
        """The policy's probability of showing each candidate (k,): floor/k + (1 - floor) * p_thompson."""
        p_ts = self.thompson_probabilities(feature_matrix, rng, default_index)
        return exploration_floor / len(p_ts) + (1 - exploration_floor) * p_ts

    def choose(self, feature_matrix: np.ndarray, rng: np.random.Generator, exploration_floor: float = 0.05,
               default_index: int | None = None) -> tuple[int, np.ndarray]:
        """Pick a candidate: returns (index, propensities (k,)); the index is drawn from the propensities."""
        p = self.propensities(feature_matrix, rng, exploration_floor, default_index)
        return int(rng.choice(len(p), p=p)), p

    # -- state

    def to_dict(self) -> dict:
        """JSON-able state (plain lists of floats); `from_dict(to_dict())` chooses identically."""
        upper = self.precision[np.triu_indices(self.config.dim)]  # symmetric: half the bytes in the cache
        return {"config": asdict(self.config), "precision_upper": upper.tolist(), "b": self.b.tolist(),
                "n_obs": self.n_obs}

    @classmethod
    def from_dict(cls, data: dict) -> "LinearThompson":
        model = cls(ThompsonConfig(**data["config"]))
        d = model.config.dim
        a = np.zeros((d, d))
        a[np.triu_indices(d)] = data["precision_upper"]
        model.precision = a + np.triu(a, 1).T
        model.b = np.asarray(data["b"], dtype=np.float64)
        model.n_obs = int(data["n_obs"])
        return model


def _stable_cholesky(a: np.ndarray) -> np.ndarray:
    """Cholesky factor, adding growing diagonal jitter if rounding has made `a` not quite positive definite."""
    jitter = 0.0
    for _ in range(8):
        try:
            return np.linalg.cholesky(a + jitter * np.eye(len(a)))
        except np.linalg.LinAlgError:
            jitter = max(jitter * 10, 1e-10 * np.trace(a) / len(a))
    raise np.linalg.LinAlgError("precision matrix is not positive definite even with jitter")


# ----------------------------------------------------------------------------- what the plugin wraps

@dataclass
class RecommenderConfig:
    image_dim: int  # length of every `image_vector` in this shop
    rank: int = 4  # low-rank context x image interactions add rank**2 features; 0 turns them off
    decay: float = 0.7  # context memory: an old click's weight falls below 1/2 after two newer clicks
    exploration_floor: float = 0.05  # every candidate keeps >= floor/k: off-policy weights stay <= k/floor
    projection_seed: int = 0  # the fixed random projection is rebuilt from this, never stored
    prior_var: float = 0.25  # see ThompsonConfig
    noise_var: float = 0.25  # see ThompsonConfig
    n_draws: int = 64  # see ThompsonConfig
    warmup: int = 0  # see ThompsonConfig

    def bandit_config(self) -> ThompsonConfig:
        return ThompsonConfig(feature_dim(self.image_dim, self.rank), self.prior_var, self.noise_var,
                              self.n_draws, self.warmup)


@dataclass
class Ranking:
    chosen: int  # the candidate to show, drawn from `propensities`
    order: list[int]  # chosen first, then the rest by posterior-mean click estimate (fallbacks, carousels)
    propensities: np.ndarray  # (k,) probability the policy had of showing each candidate; log it
    features: np.ndarray  # (k, d) candidate features at serving time; log them for off-policy evaluation


class ImageRecommender:
    """Which of a product's approved images to show a shopper; learns from impressions and clicks.

    The plugin keeps one per shop (state in `to_dict`), one context vector per shopper (`empty_context`,
    `observe`), and per impression logs the shopper context, the candidates, `chosen` and `propensities`.
    """

    def __init__(self, config: RecommenderConfig, bandit: LinearThompson | None = None):
        self.config = config
        self.bandit = bandit or LinearThompson(config.bandit_config())
        self.projection = low_rank_projection(config.image_dim, config.rank, config.projection_seed)

    def empty_context(self) -> np.ndarray:
        return ContextSummary.empty(self.config.image_dim)

    def observe(self, context: np.ndarray, image_vec: np.ndarray, clicked: bool) -> np.ndarray:
        """The shopper's context after an impression of `image_vec` (clicked or not)."""
        return ContextSummary.update(context, image_vec, clicked, self.config.decay)

    def candidate_features(self, image_vecs: np.ndarray, context: np.ndarray) -> np.ndarray:
        """(k, m) image vectors + (2m,) context -> (k, d) features."""
        return features(np.atleast_2d(image_vecs), context, self.projection)

    def rank(self, image_vecs: np.ndarray, context: np.ndarray, rng: np.random.Generator,
             default_index: int | None = None) -> Ranking:
        """Choose among a product's candidates (k, m) for a shopper's context; `default_index`: the original."""
        x = self.candidate_features(image_vecs, context)
        chosen, p = self.bandit.choose(x, rng, self.config.exploration_floor, default_index)
        rest = [int(i) for i in np.argsort(-self.bandit.expected_rewards(x), kind="stable") if i != chosen]
        return Ranking(chosen, [chosen] + rest, p, x)

    def policy(self, feature_matrix: np.ndarray, rng: np.random.Generator,
               default_index: int | None = None) -> np.ndarray:
        """The current policy's propensities (k,) for logged candidate features (off-policy evaluation)."""
        return self.bandit.propensities(feature_matrix, rng, self.config.exploration_floor, default_index)

    def update(self, image_vecs: np.ndarray, contexts: np.ndarray, clicks: np.ndarray) -> None:
        """Learn from shown images (n, m), the shoppers' contexts when shown (n, 2m), clicks (n,) in {0, 1}."""
        rows = [features(v, c, self.projection) for v, c in zip(np.atleast_2d(image_vecs), np.atleast_2d(contexts))]
        self.bandit.update(np.stack(rows), np.asarray(clicks, dtype=np.float64))

    def to_dict(self) -> dict:
        """JSON-able state: config and posterior, plain lists of floats."""
        return {"config": asdict(self.config), "bandit": self.bandit.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "ImageRecommender":
        """Rebuild from `to_dict`; a state whose feature layout differs from this code's raises ValueError."""
        config, bandit = RecommenderConfig(**data["config"]), LinearThompson.from_dict(data["bandit"])
        if bandit.config.dim != config.bandit_config().dim:
            raise ValueError(f"recommender state has {bandit.config.dim} features; this version builds "
                             f"{config.bandit_config().dim} from image_dim={config.image_dim}: start afresh")
        return cls(config, bandit)

    def as_policy(self, seed: int = 0) -> Callable[[dict], np.ndarray]:
        """This recommender as an off-policy `event -> (k,) propensities` callable (see `ml.offpolicy`)."""
        rng = np.random.default_rng(seed)
        return lambda event: self.policy(np.asarray(event["features"]), rng, event.get("default"))
