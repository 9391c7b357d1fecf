"""Which approved image of a product a shopper sees, and learning from what they did.

    personalize.prefetch(request, products)  # optional: a page's products read together, in a few queries
    decision = personalize.show(request, product, position=3, page="/")  # chosen, logged, cached

A decision draws one candidate (an original photo or an APPROVED generated image; nothing else ever reaches
a shopper) from the recommender's propensities, after the `filter_candidates` and `score_candidates` hooks,
and logs the propensities for off-policy evaluation. It is cached per (shopper, product) for
PERSONALIZE_CACHE_SECONDS, so a shopper sees the same image on every page, except after an exploring choice
(not the policy's most likely one), which is shown once, and after the shopper clicks something, which may
change what they should see. A recommender that fails shows the original and logs the error.

`learn()` (in `learning`, and here for hosts that call `personalize.learn()`) folds impressions whose attribution
window has passed, with their clicks, into the recommender.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, field

import numpy as np
from django.core.cache import cache

from prodimg_plugin import hooks
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.storefront import candidates as candidate_lists
from prodimg_plugin.storefront import events, rejections, shoppers
from prodimg_plugin.storefront.context import Candidate, Ranked, ShopperContext
from prodimg_plugin.storefront.shopper_context import is_bot
from prodimg_plugin.storefront.learning import (  # noqa: F401  (hosts call personalize.learn(), ...)
    Runtime,
    feedback_for,
    get_recommender,
    learn,
    reset,
    runtime,
)

log = logging.getLogger(__name__)

HOLDOUT = "holdout"  # the `recommender` of decisions shown to the holdout (always the main image)


@dataclass
class Decision:
    """The image chosen for one shopper and product, and the probabilities it was drawn with."""

    decision_id: str  # links the impression to the clicks it leads to; "" when nothing is logged
    product_id: str
    candidate: Candidate
    propensity: float  # probability the policy had of showing `candidate`
    propensities: dict[str, float] = field(default_factory=dict)  # candidate key -> probability (sums to 1)
    recommender: str = ""
    exploring: bool = False  # not the policy's most likely choice: shown once, not cached
    logged: bool = True  # False for shoppers who opted out
    provisional: bool = False  # a cold-start or fallback choice: not cached, so learning shows at once

    def candidates_log(self) -> list[dict]:
        """What ImageEvent.candidates records: each candidate key with its propensity."""
        chosen = {**self.candidate.attributes, "kind": self.candidate.kind}
        return [{"key": key, "p": round(p, 6), **({"attrs": chosen} if key == self.candidate.key else {})}
                for key, p in self.propensities.items()]



# ----------------------------------------------------------------------------- deciding

@dataclass
class Prefetched:
    """What one request has read for its product cards, so that each card costs no query of its own."""

    candidates: dict = field(default_factory=dict)  # product pk -> candidates
    cached: dict = field(default_factory=dict)  # decision cache key -> cached decision (None: not cached)
    state_fresh: bool = False  # the recommender's state has been checked during this request
    products: list = field(default_factory=list)  # announced by `prefetch`, read when the first card is shown


def prefetch(request, products) -> None:
    """Announce the products whose cards a page will show: the first `show` of the request reads what they all
    need (candidates, cached choices) in a few queries and cache reads, instead of a few per card.

    Call it from a view before rendering (e.g. in `get_context_data`). Nothing is read when no personalised
    image is shown; without it each card reads its own (the same choices, more queries)."""
    _prefetched(request).products.extend(p for p in products if p is not None)


def _prefetched(request) -> Prefetched:
    page = getattr(request, "_prodimg_page", None)
    if page is None:
        page = request._prodimg_page = Prefetched()
    return page


def _read_announced(page: Prefetched, shopper: ShopperContext | None) -> None:
    products, page.products = [p for p in page.products if p.pk not in page.candidates], []
    if not products:
        return
    page.candidates.update(candidate_lists.candidates_for_many(products))
    if shopper is not None and not shopper.opted_out:
        keys = [_decision_key(shopper, p.pk) for p in products]
        hits = cache.get_many(keys)
        page.cached.update({key: hits.get(key) for key in keys})


def show(request, product, position: int | None = None, page: str = "", buffered: bool = True) -> Decision | None:
    """Choose the image of `product` for the request's shopper and log the impression (None: no images)."""
    if is_bot(request):  # crawlers see the main image; nothing is logged or learnt
        rejections.count("bot")
        candidates = candidate_lists.candidates_for(product)
        return _deterministic(product, candidates, "original", logged=False) if candidates else None
    shopper = shoppers.context_for_request(request)
    prefetched = _prefetched(request)
    _read_announced(prefetched, shopper)
    decision = decide(shopper, product, prefetched)
    if decision is not None and decision.logged:
        events.log_impression(shopper, decision, position, page, buffered=buffered)
    return decision


def decide(shopper: ShopperContext | None, product, prefetched: Prefetched | None = None) -> Decision | None:
    """The decision for one shopper and product: the cached one while it stands, else a fresh draw.

    `prefetched`: what this request has read for its whole page (see `prefetch`)."""
    candidates = prefetched.candidates.get(product.pk) if prefetched else None
    if candidates is None:
        candidates = candidate_lists.candidates_for(product)
    if not candidates:
        return None
    if shopper is None or shopper.opted_out:
        return _deterministic(product, candidates, "original", logged=False)
    key = _decision_key(shopper, product.pk)
    hit = prefetched.cached[key] if prefetched and key in prefetched.cached else cache.get(key)
    decision = _from_cache(hit, product, candidates)
    if decision is None:
        decision = _choose(shopper, product, candidates, prefetched)
        if not (decision.exploring or decision.provisional):
            entry = _to_cache(decision, candidates)
            cache.set(key, entry, prodimg_settings.PERSONALIZE_CACHE_SECONDS)
            if prefetched is not None:
                prefetched.cached[key] = entry  # the same product twice on a page: the same choice
    return decision


def in_holdout(shopper: ShopperContext) -> bool:
    """Whether a shopper belongs to the HOLDOUT_SHARE who always see the main image (a stable hash of who they
    are, so each shopper stays on one side)."""
    digest = hashlib.sha256(f"holdout:{shopper.key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < float(prodimg_settings.HOLDOUT_SHARE or 0)


def _choose(shopper: ShopperContext, product, candidates: list[Candidate], page: Prefetched | None = None) -> Decision:
    rt = runtime()
    if getattr(rt.recommender, "uses_holdout", False) and in_holdout(shopper):
        props = {c.key: float(i == 0) for i, c in enumerate(candidates)}
        return Decision(uuid.uuid4().hex, str(product.pk), candidates[0], 1.0, props, HOLDOUT)
    allowed = filtered(shopper, product, candidates)
    try:
        if page is None or not page.state_fresh:  # one look for a newer state per page, not per card
            rt.store.refresh(rt.recommender)
            if page is not None:
                page.state_fresh = True
        ranked = rt.recommender.rank(shopper, product, allowed)
        chosen, propensities = _checked(ranked, allowed)
    except Exception:
        log.exception("recommender %s failed on product %s; showing the original", rt.name, product.pk)
        return _deterministic(product, candidates, "fallback")
    chosen, propensities = _scored(shopper, product, allowed, chosen, propensities, rt)
    by_key = {c.key: c for c in allowed}
    top = max(propensities.values())
    return Decision(uuid.uuid4().hex, str(product.pk), by_key[chosen], propensities[chosen], propensities,
                    rt.name, exploring=propensities[chosen] < top - 1e-9,
                    provisional=not getattr(rt.recommender, "ready", True))


def filtered(shopper: ShopperContext, product, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates left by the `filter_candidates` hooks (which can only remove); never empty."""
    allowed = candidates
    for hook in hooks.get_hooks(hooks.FILTER_CANDIDATES):
        keep = {c.key for c in (hook(shopper, product, list(allowed)) or [])}
        allowed = [c for c in allowed if c.key in keep]
    return allowed or candidates[:1]


def _checked(ranked: list[Ranked], allowed: list[Candidate]) -> tuple[str, dict[str, float]]:
    """(chosen key, propensities over `allowed`) from a recommender's answer; ValueError when unusable."""
    keys = [c.key for c in allowed]
    p = dict.fromkeys(keys, 0.0)
    for item in ranked:
        value = float(item.propensity)
        if item.candidate.key not in p or not np.isfinite(value) or value < 0:
            raise ValueError(f"recommender ranked {item.candidate.key!r} with propensity {value}")
        p[item.candidate.key] = value
    total = sum(p.values())
    if not ranked or total <= 0 or p[ranked[0].candidate.key] <= 0:
        raise ValueError("recommender gave no candidate a positive propensity")
    return ranked[0].candidate.key, {k: v / total for k, v in p.items()}


def _scored(shopper, product, allowed, chosen: str, propensities: dict[str, float], rt: Runtime):
    """Apply the `score_candidates` hooks: weights multiply the propensities and the image is drawn again."""
    scorers = hooks.get_hooks(hooks.SCORE_CANDIDATES)
    if not scorers:
        return chosen, propensities
    q = np.array([propensities[c.key] for c in allowed])
    for scorer in scorers:
        q = q * np.clip(np.asarray(scorer(shopper, product, list(allowed)), dtype=np.float64), 0.0, None)
    if not np.isfinite(q).all() or q.sum() <= 0:
        log.warning("score_candidates hooks left no candidate for product %s; ignoring them", product.pk)
        return chosen, propensities
    q = q / q.sum()
    with rt.lock:
        index = int(rt.rng.choice(len(q), p=q))
    return allowed[index].key, {c.key: float(v) for c, v in zip(allowed, q)}


def _deterministic(product, candidates: list[Candidate], name: str, logged: bool = True) -> Decision:
    """The main original photo with probability 1 (opted-out shoppers, a failing recommender)."""
    props = {c.key: float(i == 0) for i, c in enumerate(candidates)}
    return Decision(uuid.uuid4().hex if logged else "", str(product.pk), candidates[0], 1.0, props, name,
                    logged=logged, provisional=True)


def _decision_key(shopper: ShopperContext, product_id) -> str:
    digest = hashlib.sha256(shopper.key.encode()).hexdigest()[:24]
    return f"prodimg:decision:{digest}:{product_id}:{shopper.click_version}"


def _to_cache(decision: Decision, candidates: list[Candidate]) -> dict:
    return {"id": decision.decision_id, "chosen": decision.candidate.key, "p": decision.propensities,
            "recommender": decision.recommender, "keys": [c.key for c in candidates]}


def _from_cache(hit: dict | None, product, candidates: list[Candidate]) -> Decision | None:
    """The cached decision while its candidates are unchanged (an image rejected since is never re-shown)."""
    if not hit or hit["keys"] != [c.key for c in candidates]:
        return None
    chosen = next((c for c in candidates if c.key == hit["chosen"]), None)
    if chosen is None:
        return None
    return Decision(hit["id"], str(product.pk), chosen, hit["p"][chosen.key], hit["p"], hit["recommender"])
