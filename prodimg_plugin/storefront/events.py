"""Storefront events: impressions (logged server-side when an image is chosen), clicks, add-to-cart, purchases.

Impressions of one page are buffered, then built and written together when the request finishes (one INSERT,
not one per product card; a WSGI server has sent the response by then; a failure is logged with the lost
decision ids). Events from the API are checked as a batch: one bad event and nothing of the batch is stored.
Each stored impression sends `image_shown`; each click, add-to-cart or purchase sends `image_clicked`.
"""
from __future__ import annotations

import logging
from contextvars import ContextVar
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.signals import request_finished
from django.db import transaction
from django.utils import timezone

from prodimg_plugin import signals
from prodimg_plugin.host import get_image_model, get_product_model, product_id_of
from prodimg_plugin.models import GeneratedImage, ImageEvent
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.storefront import rejections, shoppers
from prodimg_plugin.storefront.context import ShopperContext

log = logging.getLogger(__name__)

FLUSH_AT = 200  # buffered impressions written at once even before the request ends

_pending: ContextVar[list | None] = ContextVar("prodimg_pending_impressions", default=None)


class InvalidEvents(Exception):
    """A batch with bad events; `errors` maps each bad event's index to {field: message}."""

    def __init__(self, errors: dict[int, dict[str, str]]):
        self.errors = errors
        super().__init__(f"{len(errors)} invalid event(s)")


# ----------------------------------------------------------------------------- impressions

def log_impression(shopper: ShopperContext, decision, position: int | None = None, page: str = "",
                   buffered: bool = True) -> ImageEvent | None:
    """Log that `decision`'s image was shown: stored now (and returned) when `buffered` is False, else kept
    until the request ends (the row is built then too: after the response, not while the shopper waits)."""
    shown = (shopper, decision, position, page, shopper.at or timezone.now())
    if not buffered:
        return record([impression(*shown)])[0]
    pending = _pending.get()
    if pending is None:
        pending = []
        _pending.set(pending)
    pending.append(shown)
    if len(pending) >= FLUSH_AT:
        flush()
    return None


def impression(shopper: ShopperContext, decision, position: int | None, page: str, at) -> ImageEvent:
    """The (unsaved) ImageEvent of a decision shown at `at`."""
    return ImageEvent(type=ImageEvent.Type.IMPRESSION, user_id=shopper.user_id,
                      session_key="" if shopper.user_id else shopper.session_key, product_id=decision.product_id,
                      source_id=decision.candidate.source_id, generated_id=decision.candidate.generated_id,
                      position=position, page=(page or "")[:200], propensity=decision.propensity,
                      recommender=decision.recommender[:100], decision_id=decision.decision_id,
                      candidates=decision.candidates_log(), context=dict(shopper.features), created_at=at)


def flush() -> int:
    """Write the buffered impressions in one INSERT; returns how many. If that fails they are logged as lost
    (with their decision ids) and the error is raised."""
    pending = _pending.get()
    if not pending:
        return 0
    _pending.set(None)
    try:
        record([impression(*shown) for shown in pending])
    except Exception:
        log.exception("recording %d buffered impressions failed (decisions %s)", len(pending),
                      ", ".join(shown[1].decision_id for shown in pending))
        raise
    return len(pending)


def _flush_at_end(sender=None, **kwargs) -> None:
    try:
        flush()
    except Exception:  # the response has gone (flush has logged what was lost): never raise into the server
        pass


request_finished.connect(_flush_at_end, dispatch_uid="prodimg-flush-impressions")


# ----------------------------------------------------------------------------- recording

def record(events: list[ImageEvent]) -> list[ImageEvent]:
    """Store events together, send their signals (learning listens) and note clicks."""
    with transaction.atomic():
        created = ImageEvent.objects.bulk_create(events)
    for event in created:
        is_click = event.type in shoppers.CLICKS
        (signals.image_clicked if is_click else signals.image_shown).send(sender=ImageEvent, event=event)
    for user_id, session_key in {(e.user_id, e.session_key) for e in created if e.type in shoppers.CLICKS}:
        shoppers.clicked(user_id, session_key)
    signals.events_recorded.send(sender=ImageEvent, events=created)  # learning.learn_soon listens
    return created


def submit(user_id: int | None, session_key: str, items: list[dict]) -> list[ImageEvent]:
    """Check and store a batch of a shopper's events (API); InvalidEvents and nothing stored if any is bad.

    Ignored, counted (rejections) and not stored: the batch of a shopper over BOT_EVENTS_PER_MINUTE, and beacons
    sent twice (an outcome type already recorded for its decision). An outcome without a decision is stored (it
    is the shopper's history) and counted, since no decision can learn from it."""
    limit = prodimg_settings.BOT_EVENTS_PER_MINUTE
    if limit and _recent(user_id, session_key) + len(items) > limit:
        rejections.count("bot", len(items))
        return []
    try:
        built = build(user_id, session_key, items)
    except InvalidEvents as exc:
        rejections.count("invalid", len(exc.errors))
        raise
    fresh = _without_duplicates(built)
    rejections.count("duplicate", len(built) - len(fresh))
    rejections.count("no_impression", sum(1 for e in fresh if e.type in shoppers.CLICKS and not e.decision_id))
    return record(fresh) if fresh else []


def _recent(user_id: int | None, session_key: str) -> int:
    since = timezone.now() - timedelta(minutes=1)
    return shoppers.events_of(user_id, session_key).filter(created_at__gte=since).exclude(type="impression").count()


def _without_duplicates(built: list[ImageEvent]) -> list[ImageEvent]:
    """Drop outcomes whose (decision, type) is already stored or earlier in the batch."""
    ids = {e.decision_id for e in built if e.decision_id and e.type in shoppers.CLICKS}
    seen = set(ImageEvent.objects.filter(decision_id__in=ids, type__in=shoppers.CLICKS)
               .values_list("decision_id", "type")) if ids else set()
    out = []
    for event in built:
        key = (event.decision_id, event.type)
        if event.decision_id and event.type in shoppers.CLICKS:
            if key in seen:
                continue
            seen.add(key)
        out.append(event)
    return out


def build(user_id: int | None, session_key: str, items: list[dict]) -> list[ImageEvent]:
    """ImageEvents (unsaved) from checked fields: type, product, source, generated, decision_id, position, page.

    An event names its image by `decision_id` (a decision shown to this shopper), by `source` (an original
    photo of the product) or `generated` (an approved generated image of it), or several that agree."""
    known = _Known(user_id, session_key, items)
    out, errors = [], {}
    for index, item in enumerate(items):
        try:
            out.append(known.event(item))
        except ValidationError as exc:
            errors[index] = exc.message_dict
    if errors:
        raise InvalidEvents(errors)
    return out


class _Known:
    """What a batch refers to, read with one query per kind instead of one per event."""

    def __init__(self, user_id: int | None, session_key: str, items: list[dict]):
        self.user_id, self.session_key = user_id, ("" if user_id else session_key)
        self.products = _existing_products({str(i["product"]) for i in items})
        sources = get_image_model()._default_manager.filter(pk__in={i["source"] for i in items if i.get("source")})
        self.sources = {s.pk: str(product_id_of(s)) for s in sources}
        generated = GeneratedImage.objects.filter(pk__in={i["generated"] for i in items if i.get("generated")})
        self.generated = {g.pk: g for g in generated.select_related("source")}
        decisions = shoppers.events_of(user_id, session_key).filter(
            type=ImageEvent.Type.IMPRESSION, decision_id__in={i["decision_id"] for i in items if i.get("decision_id")})
        self.decisions = {e.decision_id: e for e in decisions.order_by("id")}  # any impression of a decision

    def event(self, item: dict) -> ImageEvent:
        product = str(item["product"])
        if product not in self.products:
            raise ValidationError({"product": "Unknown product."})
        decision = self._decision(item, product)
        source, generated = self._image(item, product, decision)
        return ImageEvent(type=item["type"], user_id=self.user_id, session_key=self.session_key, product_id=product,
                          source_id=source, generated_id=generated, position=item.get("position"),
                          page=item.get("page") or "", propensity=decision.propensity if decision else None,
                          recommender=decision.recommender if decision else "",
                          decision_id=decision.decision_id if decision else "",
                          candidates=decision.candidates if decision and item["type"] == "impression" else [],
                          created_at=timezone.now())

    def _decision(self, item: dict, product: str) -> ImageEvent | None:
        decision_id = item.get("decision_id")
        if not decision_id:
            if item["type"] == ImageEvent.Type.IMPRESSION:
                raise ValidationError({"decision_id": "Impressions are logged when an image is chosen; post one only "
                                                      "for a decision shown again, with its decision_id."})
            return None
        decision = self.decisions.get(decision_id)
        if decision is None:
            raise ValidationError({"decision_id": "Not a decision made for you."})
        if decision.product_id != product:
            raise ValidationError({"decision_id": "This decision was for another product."})
        return decision

    def _image(self, item: dict, product: str, decision: ImageEvent | None) -> tuple[int | None, int | None]:
        source, generated = item.get("source"), item.get("generated")
        if generated:
            image = self.generated.get(generated)
            if image is None or image.status != GeneratedImage.Status.APPROVED:
                raise ValidationError({"generated": "Unknown or unapproved generated image."})
            if str(product_id_of(image.source)) != product or (source and source != image.source_id):
                raise ValidationError({"generated": "This generated image is not of that product."})
            source = image.source_id
        elif source and self.sources.get(source) != product:
            raise ValidationError({"source": "Unknown product image, or not of that product."})
        if decision is None:
            if not source:
                raise ValidationError({"decision_id": "Give the decision_id or the image (source or generated)."})
            return source, generated
        if source and (source, generated) != (decision.source_id, decision.generated_id):
            raise ValidationError({"decision_id": "The image is not the one this decision showed."})
        return decision.source_id, decision.generated_id


def _existing_products(ids: set[str]) -> set[str]:
    model = get_product_model()
    valid = set()
    for value in ids:
        try:
            valid.add(model._meta.pk.to_python(value))
        except ValidationError:
            continue
    return {str(pk) for pk in model._default_manager.filter(pk__in=valid).values_list("pk", flat=True)}
