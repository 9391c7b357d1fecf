"""Learning from what shoppers did: this process's recommender (built once, its state loaded from the store) and
the step that folds due impressions and their clicks into it.

`learn()` is safe to run from several processes: a step whose events another process has already taken is
dropped. `learn_soon()` runs one when LEARN_INTERVAL_SECONDS have passed (events call it as they are recorded).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import takewhile

import numpy as np
from django.core.cache import cache
from django.core.signals import setting_changed
from django.db.models import Min
from django.utils import timezone

from prodimg_plugin import signals
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.models import ImageEvent
from prodimg_plugin.storefront import rejections, shoppers
from prodimg_plugin.storefront.context import Feedback
from prodimg_plugin.storefront.state import StateStore

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """This process's recommender instance, its state store and its random generator."""

    recommender: object
    store: StateStore
    rng: np.random.Generator
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards rng
    learning: threading.Lock = field(default_factory=threading.Lock)  # one learning step at a time

    @property
    def name(self) -> str:
        return recommender_name(self.recommender)


_runtimes: dict[type, Runtime] = {}


def recommender_name(recommender) -> str:
    return getattr(recommender, "name", None) or type(recommender).__name__


def runtime() -> Runtime:
    """The configured recommender of this process (built once per class; state loaded from the store)."""
    cls = prodimg_settings.RECOMMENDER
    if cls not in _runtimes:
        recommender = cls()
        _runtimes[cls] = Runtime(recommender, StateStore(recommender_name(recommender)),
                                 np.random.default_rng(prodimg_settings.RECOMMENDER_SEED))
    return _runtimes[cls]


def get_recommender():
    """The configured recommender instance (PRODIMG["RECOMMENDER"])."""
    return runtime().recommender


def reset() -> None:
    """Forget this process's recommender instances (after settings change; tests)."""
    _runtimes.clear()


def _reset_on_settings(*, setting: str, **kwargs) -> None:
    if setting == "PRODIMG":
        reset()


setting_changed.connect(_reset_on_settings)


def learn(now: datetime | None = None, limit: int | None = None) -> int:
    """Fold due impressions (older than the recommender's `attribution_seconds`, else LEARN_ATTRIBUTION_SECONDS)
    and their outcomes into the recommender.

    Returns the number of decisions learnt from. Safe to run from several processes: a step whose events
    another process has already taken is dropped."""
    rt = runtime()
    with rt.learning:
        return _learn(rt, now or timezone.now(), limit or prodimg_settings.LEARN_BATCH_SIZE)


def _learn(rt: Runtime, now: datetime, limit: int) -> int:
    row = rt.store.row()
    cutoff = now - timedelta(seconds=attribution_seconds(rt.recommender))
    batch = ImageEvent.objects.filter(type=ImageEvent.Type.IMPRESSION, id__gt=row.last_event_id).order_by("id")
    due = list(takewhile(lambda e: e.created_at <= cutoff, batch[:limit]))  # stop at the first one not yet due
    if not due:
        return 0
    feedback = feedback_for(due)
    stateful = hasattr(rt.recommender, "state_dict")
    rt.store.refresh(rt.recommender, force=True)
    try:
        rt.recommender.update(feedback)
    except Exception:
        log.exception("recommender %s failed to learn from %d decisions", rt.name, len(feedback))
        rt.store.loaded_version = None  # reload the stored state: the failed update may have half-applied
        return 0
    if not rt.store.commit(row, due[-1].id, rt.recommender.state_dict() if stateful else None, len(feedback)):
        rt.store.loaded_version = None  # another process learnt these events: take its state instead
        return 0
    return len(feedback)


def attribution_seconds(recommender) -> float:
    """How long after an impression its outcomes still count (and learning waits)."""
    return float(getattr(recommender, "attribution_seconds", prodimg_settings.LEARN_ATTRIBUTION_SECONDS))


def feedback_for(impressions: list[ImageEvent], window: float | None = None) -> list[Feedback]:
    """One Feedback per decision first shown in `impressions`: the image, its graded reward (REWARD_WEIGHTS of
    the outcome types within `window` seconds of the impression; each type once), the context then.

    An outcome timed before its impression, or after the window, is counted (rejections) and not learnt from."""
    firsts = _first_impressions(impressions)
    window = attribution_seconds(runtime().recommender) if window is None else window
    rewards = _rewards(firsts, window)
    contexts = shoppers.contexts_at(firsts)
    out = []
    for event in firsts:
        shown = shoppers.image_key({"source_id": event.source_id, "generated_id": event.generated_id})
        if shown is None:
            continue
        reward = rewards.get(event.decision_id, 0.0) if event.decision_id else 0.0
        logged = event.candidates or []
        out.append(Feedback(contexts[event.id], event.product_id, shown, reward > 0, event.propensity,
                            [c.get("key") for c in logged], reward=reward, position=event.position,
                            attributes=ImageEvent.shown_attributes(logged)))
    return out


def _rewards(firsts: list[ImageEvent], window: float) -> dict[str, float]:
    """decision id -> the summed weights of its outcome types inside the window."""
    shown_at = {e.decision_id: e.created_at for e in firsts if e.decision_id}
    weights = prodimg_settings.REWARD_WEIGHTS
    seen, late, early = {}, 0, 0
    outcomes = ImageEvent.objects.filter(type__in=shoppers.CLICKS, decision_id__in=set(shown_at))
    for decision, kind, at in outcomes.values_list("decision_id", "type", "created_at"):
        delay = (at - shown_at[decision]).total_seconds()
        if delay < 0:
            early += 1
        elif delay > window:
            late += 1
        else:
            seen.setdefault(decision, set()).add(kind)
    rejections.count("out_of_order", early)
    rejections.count("late", late)
    return {d: sum(float(weights.get(k, 1.0)) for k in kinds) for d, kinds in seen.items()}


def _first_impressions(impressions: list[ImageEvent]) -> list[ImageEvent]:
    """Drop repeat impressions of a decision (a cached choice shown again): a decision is learnt once."""
    ids = {e.decision_id for e in impressions if e.decision_id}
    first = dict(ImageEvent.objects.filter(type=ImageEvent.Type.IMPRESSION, decision_id__in=ids).order_by()
                 .values("decision_id").annotate(first=Min("id")).values_list("decision_id", "first"))
    return [e for e in impressions if not e.decision_id or first.get(e.decision_id) == e.id]


def decay(now: datetime | None = None) -> float:
    """Move the learned state back towards the prior by the time since the last decay (HALF_LIFE_DAYS);
    returns the seconds decayed over (0 for a recommender that does not forget). Scheduled hourly."""
    rt = runtime()
    if not hasattr(rt.recommender, "decay"):
        return 0.0
    with rt.learning:
        row = rt.store.row()
        rt.store.refresh(rt.recommender, force=True)
        elapsed = rt.recommender.decay(now or timezone.now())
        if not rt.store.commit(row, row.last_event_id, rt.recommender.state_dict(), 0):
            rt.store.loaded_version = None  # someone learnt meanwhile: the next decay covers this time
            return 0.0
        return elapsed


def learn_soon() -> None:
    """Learn now if the last step is more than LEARN_INTERVAL_SECONDS old (shared across processes by the cache)."""
    interval = prodimg_settings.LEARN_INTERVAL_SECONDS
    if not interval or not cache.add("prodimg:learn:due", 1, interval):
        return
    try:
        learn()
    except Exception:  # learning is a side job of a page view: it never breaks one
        log.exception("learning from events failed")


def _learn_after_events(sender=None, events=None, **kwargs) -> None:
    learn_soon()


def connect() -> None:
    """Learn when events are recorded and a step is due (called from the app's ready())."""
    signals.events_recorded.connect(_learn_after_events, dispatch_uid="prodimg-learn-after-events")
