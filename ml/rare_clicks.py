"""Which image to show when clicks are rare: Bayesian logistic regression over hashed features, Thompson sampling.

A decision picks one of a product's images (or fills the slots of a widget) for a shopper described by a small
context (device, page, campaign, hour, segment, ... as `key=value` tokens). Each image is described by its own
key and its attribute tokens (`colour=navy`). The click logit of image i for context c is

    logit p = bias + sum_t w[t] + sum_(t, u) w[t x u] + sum_u w[u] + w[position]
              image tokens t (its key, attributes), context tokens u; the last two are the same for every image
              of a decision, so they are learnt (they explain clicks) but never used to decide.

Weights live in a fixed table of `n_buckets` hashed slots with a diagonal Gaussian posterior (mean, variance),
so memory and decision time do not grow with the catalogue. Learning is the batch Laplace update of Chapelle and
Li (2011, "An empirical evaluation of Thompson sampling"): the MAP under the current posterior as prior (Newton
steps with conjugate gradients on the touched weights), then each touched precision grows by sum p (1 - p) x^2.

- The prior mean of the bias is the logit of the shop's base rate, so a 0.5 % shop starts near 0.5 %.
- Graded rewards: an outcome of weight r > 0 (click 1, purchase more) is a click counted r times.
- Forgetting: `decay(elapsed)` moves every weight back towards its prior by 2 ** (-elapsed / half_life).
- Cold start: an image with fewer than `min_impressions` gets an optimistic bonus and, together with the other
  new images of a decision, a guaranteed share `cold_share` of that decision.
- Propensities: per slot, Monte-Carlo frequencies of the Thompson draws mixed with the exploration floor and the
  cold share; the choice is drawn from exactly those probabilities (what off-policy evaluation needs).

Pure NumPy; every random choice comes from the `np.random.Generator` the caller passes.
"""
from __future__ import annotations

import ast
import io
import zlib
from dataclasses import asdict, dataclass, field

import numpy as np

BIAS = "bias"
FORMAT = 1  # bumped when the byte layout changes
SLOT_CACHE = 200_000  # token -> slot lookups kept per model


@dataclass
class RareClickConfig:
    n_buckets: int = 1 << 17  # hashed weight slots: ~131k, 3 MB of float64; a catalogue never makes it larger
    base_rate: float = 0.005  # prior click-through: the bias's prior mean is its logit (set from the shop's CTR)
    bias_var: float = 1.0  # prior variance of the bias: a base rate off by a factor e is one sd away
    image_var: float = 0.3  # prior variance of an image's own weight and of its attribute weights
    pair_var: float = 0.3  # prior variance of a context x attribute interaction (taste for a colour, a style)
    key_pair_var: float = 0.03  # ... of a context x one image's own key: sparse evidence, so kept narrow
    context_var: float = 0.3  # prior variance of context and position weights (explain clicks, never decide)
    half_life: float = 14 * 86400.0  # seconds for `decay` to halve the evidence: last season's favourite fades
    n_draws: int = 64  # Thompson draws per decision; propensities are multiples of 1/n_draws before mixing
    sample_scale: float = 0.3  # posterior sd multiplier when sampling: the diagonal posterior's many small
    # independent weights add up to too wide a score; sharper draws won 0.65 -> 0.79 of the oracle in bench/
    exploration_floor: float = 0.05  # every image keeps >= floor / k: off-policy weights stay <= k / floor
    min_impressions: float = 50.0  # below this an image is new: optimistic and a guaranteed share
    cold_share: float = 0.03  # share of a decision given uniformly to its new images (when it has any)
    optimism: float = 0.5  # logit bonus of a never-shown image, falling to 0 at `min_impressions`
    newton_steps: int = 10  # Newton steps per learning batch at most (each solved by conjugate gradients)
    cg_steps: int = 20


@dataclass
class Encoded:
    """A decision's candidates as hashed weight indices, ready for `choose`."""

    keys: list[str]  # the images' keys
    deciding: np.ndarray  # (k, f) indices of the weights that differ between images; padded with the pad slot
    count_slots: np.ndarray  # (k,) index of each image's impression counter
    context: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # (g,) context-only indices


@dataclass
class SlotChoice:
    """What `choose` decided: the image index per slot and the probabilities it was drawn from."""

    slots: list[int]  # image index shown in slot 0, 1, ...
    propensities: np.ndarray  # (n_slots, k): probability of each image in each slot (rows sum to 1)
    order: list[int]  # every image, best posterior mean first (fallbacks)

    @property
    def chosen(self) -> int:
        return self.slots[0]


class RareClickThompson:
    """A diagonal-Gaussian Bayesian logistic regression over hashed features, choosing by Thompson sampling."""

    def __init__(self, config: RareClickConfig | None = None):
        self.config = config or RareClickConfig()
        n = self.config.n_buckets
        self.mean = np.zeros(n + 1)  # the last slot pads short feature rows: mean 0, variance 0, never learnt
        self.var = np.zeros(n + 1)
        self.prior_var = np.zeros(n + 1)
        self.impressions = np.zeros(n)  # decayed impressions per image-key slot (cold start)
        self.n_events = 0.0
        self._slot_cache: dict[str, int] = {}
        self.bias_slot = self.slot(BIAS)
        self._reset_prior()

    # -- hashing

    @property
    def pad(self) -> int:
        return self.config.n_buckets

    def slot(self, token: str) -> int:
        """The weight slot of a feature token (crc32: the same in every process, unlike `hash`)."""
        s = self._slot_cache.get(token)
        if s is None:
            if len(self._slot_cache) > SLOT_CACHE:
                self._slot_cache.clear()  # bounded: a huge catalogue costs hashing time, never memory
            s = self._slot_cache[token] = zlib.crc32(token.encode()) % self.config.n_buckets
        return s

    def _reset_prior(self) -> None:
        cfg = self.config
        self.prior_var[:-1] = cfg.pair_var  # most touched slots are pairs; the others are set when first seen
        self.prior_var[-1] = 0.0
        self.prior_var[self.bias_slot] = cfg.bias_var
        self.var[:] = self.prior_var
        self.mean[:] = 0.0
        self.mean[self.bias_slot] = self.prior_mean_bias

    @property
    def prior_mean_bias(self) -> float:
        p = min(max(self.config.base_rate, 1e-6), 1 - 1e-6)
        return float(np.log(p / (1 - p)))

    def set_base_rate(self, rate: float) -> None:
        """Centre the bias's prior on the shop's observed click-through (keeps what was learnt about the rest)."""
        old = self.prior_mean_bias
        self.config.base_rate = float(rate)
        self.mean[self.bias_slot] += self.prior_mean_bias - old

    def _slots_of(self, tokens, var: float) -> list[int]:
        out = []
        for token in tokens:
            s = self.slot(token)
            if self.var[s] == self.prior_var[s] and self.mean[s] == 0.0 and s != self.bias_slot:
                self.prior_var[s] = self.var[s] = var  # an untouched slot takes the width of its first use
            out.append(s)
        return out

    # -- encoding

    def encode(self, keys: list[str], attributes: list[list[str]], context: list[str] | dict,
               position: int | None = None) -> Encoded:
        """Hash a decision: image keys, each image's attribute tokens, the shopper's context tokens."""
        ctx = _tokens(context)
        rows = []
        for key, attrs in zip(keys, attributes):
            own = [f"img={key}"] + [f"{a}" for a in attrs]
            row = self._slots_of(own, self.config.image_var)
            row += self._slots_of([f"{own[0]}|{u}" for u in ctx], self.config.key_pair_var)
            row += self._slots_of([f"{t}|{u}" for t in own[1:] for u in ctx], self.config.pair_var)
            rows.append(row)
        width = max((len(r) for r in rows), default=0)
        deciding = np.full((len(rows), width), self.pad, dtype=np.int64)
        for i, row in enumerate(rows):
            deciding[i, :len(row)] = row
        nuisance = [f"ctx:{u}" for u in ctx] + ([f"pos={position}"] if position is not None else [])
        context_slots = np.array([self.bias_slot] + self._slots_of(nuisance, self.config.context_var), dtype=np.int64)
        counters = np.array([self.slot(f"img={k}") for k in keys], dtype=np.int64)
        return Encoded(list(keys), deciding, counters, context_slots)

    # -- deciding

    def expected_logits(self, enc: Encoded) -> np.ndarray:
        """Posterior-mean click logit of each image (k,), context and position included."""
        return self.mean[enc.deciding].sum(axis=1) + self.mean[enc.context].sum()

    def new_images(self, enc: Encoded) -> np.ndarray:
        """(k,) bool: images shown fewer than `min_impressions` times (decayed count)."""
        return self.impressions[enc.count_slots] < self.config.min_impressions

    def thompson_draws(self, enc: Encoded, rng: np.random.Generator) -> np.ndarray:
        """Sampled deciding scores (n_draws, k); a weight shared by two images gets one draw for both."""
        uniq, inverse = np.unique(enc.deciding, return_inverse=True)
        sd = self.config.sample_scale * np.sqrt(self.var[uniq])
        w = self.mean[uniq] + sd * rng.standard_normal((self.config.n_draws, len(uniq)))
        scores = w[:, inverse.reshape(enc.deciding.shape)].sum(axis=2)  # (n_draws, k)
        if self.config.min_impressions <= 0:
            return scores
        fresh = 1 - np.minimum(self.impressions[enc.count_slots] / self.config.min_impressions, 1)
        return scores + self.config.optimism * fresh

    def choose(self, enc: Encoded, rng: np.random.Generator, n_slots: int = 1) -> SlotChoice:
        """Fill `n_slots` slots with distinct images; propensities per slot, the choice drawn from them."""
        k = len(enc.keys)
        n_slots = min(n_slots, k)
        draws = self.thompson_draws(enc, rng)
        ranks = np.argsort(-draws, axis=1, kind="stable")[:, :n_slots]  # (n_draws, n_slots)
        p_ts = np.stack([np.bincount(ranks[:, s], minlength=k) for s in range(n_slots)]) / len(draws)
        cold = self.new_images(enc)
        floor, share = self.config.exploration_floor, (self.config.cold_share if cold.any() else 0.0)
        p_cold = _cold_first(cold, n_slots)
        p = floor / k + share * p_cold + (1 - floor - share) * p_ts  # (n_slots, k)
        u = rng.random()
        if u < floor:
            slots = list(rng.permutation(k)[:n_slots])
        elif u < floor + share:
            c, w = np.flatnonzero(cold), np.flatnonzero(~cold)
            slots = list(np.concatenate([rng.permutation(c), rng.permutation(w)])[:n_slots])
        else:
            slots = list(ranks[rng.integers(len(ranks))])
        order = [int(i) for i in np.argsort(-self.expected_logits(enc), kind="stable")]
        return SlotChoice([int(s) for s in slots], p, order)

    # -- learning

    def learn(self, rows: np.ndarray, rewards: np.ndarray, shown: np.ndarray | None = None) -> None:
        """Fold a batch in: rows (n, f) weight indices of each shown image (deciding + context, padded with
        `pad`), rewards (n,) graded (0: no click; r > 0: a click counted r times), shown (n,) counter slots."""
        x = np.asarray(rows, dtype=np.int64)
        r = np.asarray(rewards, dtype=np.float64)
        if len(x) == 0:
            return
        y = (r > 0).astype(np.float64)
        weight = np.where(r > 0, r, 1.0)
        uniq, inv = np.unique(x, return_inverse=True)
        inv = inv.reshape(x.shape)
        live = uniq != self.pad
        m0, q0 = self.mean[uniq], np.where(live, 1 / np.maximum(self.var[uniq], 1e-12), 0.0)
        m = _newton_map(inv, y, weight, m0, q0, live, self.config.newton_steps, self.config.cg_steps)
        p = _sigmoid(m[inv].sum(axis=1))
        h = np.bincount(inv.ravel(), weights=np.repeat(weight * p * (1 - p), x.shape[1]), minlength=len(uniq))
        self.mean[uniq[live]] = m[live]
        self.var[uniq[live]] = 1 / (q0[live] + h[live])
        if shown is not None:
            np.add.at(self.impressions, np.asarray(shown, dtype=np.int64), 1.0)
        self.n_events += len(x)

    def position_slot(self, position: int) -> int:
        """The weight slot of a page position (slot of a widget): learnt, never used to decide."""
        return self._slots_of([f"pos={position}"], self.config.context_var)[0]

    def rows_for(self, enc: Encoded, index: int) -> np.ndarray:
        """The learning row (deciding + context indices) of image `index` of an encoded decision."""
        return np.concatenate([enc.deciding[index], enc.context])

    def stack_rows(self, rows: list[np.ndarray]) -> np.ndarray:
        """Learning rows of different lengths as one (n, f) array padded with the pad slot."""
        width = max((len(r) for r in rows), default=0)
        out = np.full((len(rows), width), self.pad, dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, :len(row)] = row
        return out

    def decay(self, elapsed: float) -> None:
        """Forget: after `elapsed` seconds, evidence counts 2 ** (-elapsed / half_life) of what it did."""
        f = 0.5 ** (max(elapsed, 0.0) / self.config.half_life)
        prior_mean = np.zeros_like(self.mean)
        prior_mean[self.bias_slot] = self.prior_mean_bias
        live = self.prior_var > 0
        q, q_prior = 1 / np.maximum(self.var[live], 1e-12), 1 / self.prior_var[live]
        self.var[live] = 1 / (q_prior + f * (q - q_prior))
        self.mean = prior_mean + f * (self.mean - prior_mean)
        self.impressions *= f
        self.n_events *= f

    # -- state

    def to_bytes(self) -> bytes:
        """The posterior as compressed NumPy arrays (only slots that differ from the prior; never pickled)."""
        prior_mean = np.zeros_like(self.mean)
        prior_mean[self.bias_slot] = self.prior_mean_bias
        touched = np.flatnonzero((self.var[:-1] != self.prior_var[:-1]) | (self.mean[:-1] != prior_mean[:-1])
                                 | (self.prior_var[:-1] != self.config.pair_var))
        counted = np.flatnonzero(self.impressions)
        buf = io.BytesIO()
        np.savez_compressed(buf, format=np.array([FORMAT]), config=np.frombuffer(repr(asdict(self.config)).encode(),
                            dtype=np.uint8), touched=touched.astype(np.int64), mean=self.mean[touched],
                            var=self.var[touched], prior_var=self.prior_var[touched], counted=counted.astype(np.int64),
                            impressions=self.impressions[counted], n_events=np.array([self.n_events]))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "RareClickThompson":
        """Rebuild from `to_bytes`; ValueError for bytes of another format."""
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            if int(z["format"][0]) != FORMAT:
                raise ValueError(f"recommender state format {int(z['format'][0])}, this code reads {FORMAT}")
            model = cls(RareClickConfig(**_literal(bytes(z["config"]).decode())))
            t = z["touched"]
            model.mean[t], model.var[t], model.prior_var[t] = z["mean"], z["var"], z["prior_var"]
            model.impressions[z["counted"]] = z["impressions"]
            model.n_events = float(z["n_events"][0])
        return model


# ----------------------------------------------------------------------------- helpers

def _tokens(context) -> list[str]:
    if isinstance(context, dict):
        return [f"{k}={v}" for k, v in sorted(context.items()) if v not in (None, "")]
    return list(context)


def _literal(text: str) -> dict:
    return ast.literal_eval(text)  # the config is a repr of plain numbers: literal_eval, never eval


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -35, 35)))


def _cold_first(cold: np.ndarray, n_slots: int) -> np.ndarray:
    """(n_slots, k) slot probabilities of a random order that puts the new images first."""
    k, c = len(cold), int(cold.sum())
    out = np.zeros((n_slots, k))
    for s in range(n_slots):
        if s < c:
            out[s, cold] = 1 / c
        else:
            out[s, ~cold] = 1 / (k - c)
    return out


def _newton_map(inv, y, weight, m0, q0, live, steps: int, cg_steps: int) -> np.ndarray:
    """MAP of sum weight * logloss(y, sigmoid(sum m[inv])) + 1/2 sum q0 (m - m0)^2 over the touched weights:
    Newton directions by conjugate gradients, each step halved until the objective falls (Newton alone
    overshoots when the data's click rate is far from the prior's)."""
    m = m0.copy()
    n_feat = inv.shape[1]
    u = len(m0)

    def xt(v):  # X^T v: (n,) -> (u,)
        return np.bincount(inv.ravel(), weights=np.repeat(v, n_feat), minlength=u)

    def objective(m):
        z = m[inv].sum(axis=1)
        loss = np.logaddexp(0, z) - y * z  # -log likelihood of a (soft) label y
        return float(weight @ loss + 0.5 * q0 @ (m - m0) ** 2)

    current = objective(m)
    for _ in range(steps):
        p = _sigmoid(m[inv].sum(axis=1))
        grad = np.where(live, q0 * (m - m0) + xt(weight * (p - y)), 0.0)
        s = weight * p * (1 - p)

        def hess(v, s=s):
            return np.where(live, q0 * v + xt(s * v[inv].sum(axis=1)), 0.0)

        step = _conjugate_gradient(hess, grad, cg_steps)
        for _ in range(30):
            trial = objective(m - step)
            if trial <= current:
                break
            step = step / 2
        else:
            break
        m, gain, current = m - step, current - trial, trial
        if gain < 1e-9 * max(abs(current), 1.0):
            break
    return m


def _conjugate_gradient(matvec, b: np.ndarray, steps: int, tol: float = 1e-10) -> np.ndarray:
    x = np.zeros_like(b)
    r = b.copy()
    d = r.copy()
    rr = r @ r
    for _ in range(steps):
        if rr < tol:
            break
        ad = matvec(d)
        alpha = rr / max(d @ ad, 1e-300)
        x += alpha * d
        r -= alpha * ad
        rr, rr_old = r @ r, rr
        d = r + (rr / rr_old) * d
    return x
