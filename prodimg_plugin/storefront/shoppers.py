"""Shoppers: who is browsing (a user, or an anonymous session; never the IP) and what they did lately.

A shopper's context is a summary of their last PRODIMG["HISTORY_EVENTS"] events: the images they clicked and
the ones they were shown and skipped, oldest first, and the attributes of the images they clicked (`liked`). The
storefront takes it once per request; learning and evaluation rebuild it as it was at each logged decision
(`contexts_at`), by the same rule.
"""
from __future__ import annotations

import functools
import hashlib
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.db.models.signals import post_delete
from django.utils import timezone

from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.models import ImageEvent
from prodimg_plugin.storefront.context import ShopperContext, generated_key, source_key
from prodimg_plugin.storefront.shopper_context import context_of

IMPRESSION = ImageEvent.Type.IMPRESSION
CLICKS = (ImageEvent.Type.CLICK, ImageEvent.Type.ADD_TO_CART, ImageEvent.Type.PURCHASE)
FIELDS = ("id", "type", "decision_id", "source_id", "generated_id", "created_at")
OPT_OUT_SESSION_KEY = "prodimg_opt_out"


# ----------------------------------------------------------------------------- identity

def identify(request, create: bool = True) -> tuple[int | None, str] | None:
    """(user id, "") for a signed-in shopper, (None, session key) for an anonymous one, or None.

    An anonymous shopper without a session gets one when `create` (the session cookie goes out with the
    response). The IP address is never used."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user.pk, ""
    session = getattr(request, "session", None)
    if session is None:
        return None
    if not session.session_key and create:
        session.save()
    return (None, session.session_key) if session.session_key else None


def opted_out(request) -> bool:
    """The shopper asked not to be personalised (a session flag, or PRODIMG["PERSONALIZE_OPT_OUT"](request))."""
    session = getattr(request, "session", None)
    if session is not None and session.get(OPT_OUT_SESSION_KEY):
        return True
    check = prodimg_settings.PERSONALIZE_OPT_OUT
    return bool(check and check(request))


def events_of(user_id: int | None, session_key: str):
    """The shopper's own events (a user's, or an anonymous session's)."""
    if user_id:
        return ImageEvent.objects.filter(user_id=user_id)
    return ImageEvent.objects.filter(user__isnull=True, session_key=session_key)


def context_for_request(request) -> ShopperContext | None:
    """The shopper of a request with their recent history, taken once per request."""
    if hasattr(request, "_prodimg_shopper"):
        return request._prodimg_shopper
    if opted_out(request):
        shopper = ShopperContext(opted_out=True, at=timezone.now())
    else:
        who = identify(request)
        shopper = context_for(*who) if who else None
        if shopper is not None:
            shopper.features = context_of(request)
    request._prodimg_shopper = shopper
    return shopper


def context_for(user_id: int | None, session_key: str = "", at: datetime | None = None) -> ShopperContext:
    """A shopper's context now (or as of `at`); their recent events are read when first needed."""
    at = at or timezone.now()

    @functools.cache
    def recent() -> list[dict]:
        qs = events_of(user_id, session_key).filter(created_at__lt=at,
                                                    created_at__gte=at - timedelta(days=prodimg_settings.HISTORY_DAYS))
        return list(qs.order_by("-created_at", "-id").values(*FIELDS)[: prodimg_settings.HISTORY_EVENTS])[::-1]

    shopper = ShopperContext(user_id=user_id, session_key=session_key, at=at, loader=lambda: summarise(recent()),
                             liked_loader=lambda: liked(recent()))
    shopper.click_version = cache.get(click_version_key(shopper), 0)
    return shopper


# ----------------------------------------------------------------------------- history

def image_key(row: dict) -> str | None:
    """The candidate key of an event's image (a generated image if there is one, else the host image)."""
    if row.get("generated_id"):
        return generated_key(row["generated_id"])
    if row.get("source_id"):
        return source_key(row["source_id"])
    return None


def summarise(rows: list[dict]) -> list[tuple[str, bool]]:
    """(image key, clicked) per decision, oldest first. A clicked decision counts once, as a click; a
    decision shown again (the same cached choice) counts once."""
    clicked = {r["decision_id"] for r in rows if r["type"] in CLICKS and r["decision_id"]}
    history, shown, counted = [], set(), set()
    for row in rows:
        key, decision = image_key(row), row["decision_id"]
        if key is None:
            continue
        if row["type"] == IMPRESSION:
            if decision and (decision in clicked or decision in shown):
                continue
            shown.add(decision)
            history.append((key, False))
        elif row["type"] in CLICKS:
            if decision and decision in counted:
                continue
            counted.add(decision)
            history.append((key, True))
    return history


def clicked_decisions(rows: list[dict]) -> list[str]:
    """The decisions clicked (or added to cart, bought) in `rows`, in the order of their first outcome."""
    return list(dict.fromkeys(r["decision_id"] for r in rows if r["type"] in CLICKS and r["decision_id"]))


def attributes_shown_by(decision_ids) -> dict[str, dict[str, str]]:
    """decision id -> the attributes and kind of the image it showed, as its impression logged them."""
    impressions = ImageEvent.objects.filter(type=IMPRESSION, decision_id__in=set(decision_ids))
    out = {}
    for decision, logged in impressions.order_by("id").values_list("decision_id", "candidates"):
        attrs = ImageEvent.shown_attributes(logged)
        if attrs:
            out.setdefault(decision, attrs)
    return out


def liked(rows: list[dict], shown: dict[str, dict] | None = None) -> list[dict[str, str]]:
    """The attributes of the images clicked in `rows` (oldest first, one per decision): the shopper's taste as
    the events table already holds it. `shown`: decision id -> attributes, when already read."""
    decisions = clicked_decisions(rows)
    if shown is None:
        shown = attributes_shown_by(decisions) if decisions else {}
    return [shown[d] for d in decisions if d in shown]


def contexts_at(impressions: list[ImageEvent]) -> dict[int, ShopperContext]:
    """Each impression's shopper context as it was when the impression was recorded (by impression id)."""
    if not impressions:
        return {}
    days = timedelta(days=prodimg_settings.HISTORY_DAYS)
    users = {e.user_id for e in impressions if e.user_id}
    sessions = {e.session_key for e in impressions if not e.user_id}
    qs = ImageEvent.objects.filter(Q(user_id__in=users) | Q(user__isnull=True, session_key__in=sessions),
                                   created_at__gte=min(e.created_at for e in impressions) - days,
                                   created_at__lt=max(e.created_at for e in impressions))
    rows = defaultdict(list)
    for row in qs.order_by("created_at", "id").values(*FIELDS, "user_id", "session_key"):
        rows[_who(row)].append(row)
    times = {who: [r["created_at"] for r in seq] for who, seq in rows.items()}
    shown = attributes_shown_by(d for seq in rows.values() for d in clicked_decisions(seq))
    out = {}
    for event in impressions:
        who = _who({"user_id": event.user_id, "session_key": event.session_key})
        seq, end = rows.get(who, []), bisect_left(times.get(who, []), event.created_at)
        window = [r for r in seq[max(0, end - prodimg_settings.HISTORY_EVENTS):end]
                  if r["created_at"] >= event.created_at - days]
        out[event.id] = ShopperContext(user_id=event.user_id, session_key=event.session_key,
                                       history=summarise(window), liked=liked(window, shown),
                                       at=event.created_at, features=dict(event.context or {}))
    return out


def _who(row: dict) -> tuple:
    return ("u", row["user_id"]) if row["user_id"] else ("s", row["session_key"])


# ----------------------------------------------------------------------------- click versions

def click_version_key(shopper: ShopperContext) -> str:
    digest = hashlib.sha256(shopper.key.encode()).hexdigest()[:24]  # no raw session keys in cache key names
    return f"prodimg:clicks:{digest}"


def clicked(user_id: int | None, session_key: str) -> None:
    """Note that a shopper clicked: their cached choices are made again (with what the click taught)."""
    shopper = ShopperContext(user_id=user_id, session_key=session_key)
    cache.set(click_version_key(shopper), time.time_ns(), prodimg_settings.PERSONALIZE_CACHE_SECONDS)


def forget(user_id: int | None, session_key: str = "") -> None:
    """Drop a shopper's cached choices (they are made afresh, e.g. after the shopper's events were deleted)."""
    clicked(user_id, session_key)


def _forget_deleted_user(sender, instance, **kwargs) -> None:
    forget(instance.pk)  # their events go with them (ImageEvent.user cascades); the learned state holds no one's data


def connect() -> None:
    """Forget a deleted user's cached choices (called from the app's ready())."""
    post_delete.connect(_forget_deleted_user, sender=get_user_model(), dispatch_uid="prodimg-forget-deleted-user")
