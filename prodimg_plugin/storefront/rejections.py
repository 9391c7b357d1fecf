"""Events that were counted and ignored: never stored (or never learnt from), never an error page.

Reasons: `bot` (a crawler's user-agent, or a shopper over BOT_EVENTS_PER_MINUTE), `invalid` (an unknown product,
image or decision), `duplicate` (a beacon sent twice), `out_of_order` (an outcome timed before its impression),
`late` (an outcome after the attribution window), `no_impression` (an outcome that names no shown decision).
The personalisation report shows the counts.
"""
from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from prodimg_plugin.models import RejectedEvent


def count(reason: str, n: int = 1) -> None:
    """Add `n` to the count of events ignored for `reason`."""
    if n <= 0:
        return
    now = timezone.now()
    if RejectedEvent.objects.filter(reason=reason).update(count=F("count") + n, last_at=now):
        return
    try:
        with transaction.atomic():
            RejectedEvent.objects.create(reason=reason, count=n, last_at=now)
    except IntegrityError:  # another process created it first
        RejectedEvent.objects.filter(reason=reason).update(count=F("count") + n, last_at=now)


def counts() -> dict[str, int]:
    """reason -> events ignored so far."""
    return dict(RejectedEvent.objects.order_by("reason").values_list("reason", "count"))
