"""Taste-driven generation: which variants to make for which products, from what shoppers clicked and bought.

    found = taste.find_proposals(days=30)   # the personalisation report page, `manage.py prodimg_taste`
    result = taste.queue(found.proposals, user)  # one variants job per product, pending review as always

Each logged decision of the policy (its first impression; the holdout always shows the main photo) gives the
shopper's segments (the PRODIMG["TASTE_SEGMENT_KEYS"] of its stored context, e.g. "device=phone", plus "all"), the
colour of the image shown (as the impression logged it), its logged propensity, and whether a click, add-to-cart
or purchase followed within ATTRIBUTION_HOURS. `ml.taste` turns these into tastes
(a segment prefers a colour) under a stated rule (`ml.taste.is_taste`: enough outcomes, a family-wise interval of
the lift above 1, a lift worth acting on); weak evidence proposes nothing. A proposal is a product that segment
saw which has no image of that colour: no photo, no approved or pending generated image, no variants job queued
or running for it. Queued proposals therefore drop out of the list: nothing is queued twice.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from ml import taste as ml_taste
from ml.vocab import colour_attribute
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.evaluation.lift_report import HOLDOUT, logged_decisions, outcomes
from prodimg_plugin.generation import jobs
from prodimg_plugin.generation.limits import RateLimited
from prodimg_plugin.generation.params import InvalidParams, variant_params
from prodimg_plugin.host import get_image_model, products_by_id
from prodimg_plugin.models import GeneratedImage, ImageEvent, ImageJob
from prodimg_plugin.storefront.candidates import candidates_for_many, generated_attributes
from prodimg_plugin.weights import ModelUnavailable

ACTIVE = (ImageJob.Status.QUEUED, ImageJob.Status.RUNNING)


@dataclass
class Found:
    """What the log supports: every tested (segment, colour) pair, the tastes claimed, the proposals."""

    attribute: str | None  # the attribute the tastes are about (the colour), None when no image logged one
    decisions: int
    tested: list = field(default_factory=list)  # ml.taste.Taste, strongest first
    tastes: list = field(default_factory=list)  # ... those `ml.taste.is_taste` claims
    proposals: list = field(default_factory=list)  # ml.taste.Proposal
    names: dict = field(default_factory=dict)  # product id -> the host's name for it


@dataclass
class Queued:
    """What `queue` did: the jobs it created and, for what it did not queue, why (readable sentences)."""

    jobs: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


def config() -> ml_taste.TasteConfig:
    """The claim rule's thresholds from PRODIMG["TASTE"] (overrides of ml.taste.TasteConfig)."""
    return ml_taste.TasteConfig(**prodimg_settings.TASTE)


def find_proposals(days: float | None = None, limit: int = 200_000) -> Found:
    """Tastes and proposals from the logged decisions of the last `days` (all when None), the newest `limit`."""
    firsts = [e for e in logged_decisions(days, limit) if e.recommender != HOLDOUT]  # the holdout never varies
    shown = [ImageEvent.shown_attributes(e.candidates) for e in firsts]
    attribute = colour_attribute(sorted({name for attrs in shown for name in attrs if name != "kind"}))
    found = Found(attribute, len(firsts))
    if attribute is None or not firsts:
        return found
    got = outcomes({e.decision_id: e.created_at for e in firsts})
    keys = prodimg_settings.TASTE_SEGMENT_KEYS
    segments = [[f"{k}={(e.context or {})[k]}" for k in keys if (e.context or {}).get(k)] for e in firsts]
    products = [e.product_id for e in firsts]
    found.tested = ml_taste.segment_tastes(
        segments, np.array([same_value(a.get(attribute, "")) for a in shown], dtype=object), np.array(products),
        np.array([float(bool(got.get(e.decision_id))) for e in firsts]),
        np.array([e.propensity for e in firsts]), config())
    found.tastes = [t for t in found.tested if ml_taste.is_taste(t, config())]
    if found.tastes:
        live = products_by_id(set(products))
        found.names = {pk: str(product) for pk, product in live.items()}
        wanted = {t.value for t in found.tastes}
        lacking = {pk: wanted - values for pk, values in present_values(live, attribute).items()}
        found.proposals = ml_taste.propose(found.tastes, lacking, ml_taste.segment_traffic(segments, products),
                                           per_product=prodimg_settings.TASTE_PER_PRODUCT,
                                           limit=prodimg_settings.TASTE_MAX_PROPOSALS)
    return found


def same_value(value: str) -> str:
    """An attribute value spelled one way ("Navy Blue", "navy_blue" -> "navy-blue"): the hook's and the GAN's
    spellings of a colour compare equal."""
    return re.sub(r"[\s_]+", "-", str(value).strip().lower())


def present_values(products: dict, attribute: str) -> dict[str, set[str]]:
    """product id -> the values of `attribute` it has or will have: its photos, its approved and pending generated
    images, and the colours of its queued or running variants jobs."""
    found = candidates_for_many(products.values())
    out = {pk: {same_value(c.attributes.get(attribute, "")) for c in found[p.pk]} for pk, p in products.items()
           if found[p.pk]}  # a product without a photo can have no variants made
    image_product = {str(c.source_id): pk for pk, p in products.items() if pk in out for c in found[p.pk]}
    pending = GeneratedImage.objects.filter(source_id__in=list(image_product), status=GeneratedImage.Status.PENDING)
    for generated in pending.select_related("source"):
        out[image_product[str(generated.source_id)]].add(same_value(generated_attributes(generated).get(attribute, "")))
    active = ImageJob.objects.filter(source_id__in=list(image_product), kind=ImageJob.Kind.VARIANTS, status__in=ACTIVE)
    for source_id, params in active.values_list("source_id", "params"):
        out[image_product[str(source_id)]].update(same_value(c) for c in (params or {}).get("colours") or [])
    return out


# ----------------------------------------------------------------------------- queueing

def chosen_from(pairs, found: Found) -> tuple[list, list[str]]:
    """The proposals among (product id, value) pairs a person chose, and a sentence for each pair that is not one
    (an unknown product, a product that has the colour by now or is having it made, evidence that has changed)."""
    current = {(p.product, p.value): p for p in found.proposals}
    chosen, problems = [], []
    for product, value in dict.fromkeys((str(p), same_value(v)) for p, v in pairs):
        if (product, value) in current:
            chosen.append(current[(product, value)])
        elif product not in products_by_id([product]):
            problems.append(f"Product {product[:40]!r} does not exist (any more); nothing was queued for it.")
        else:
            problems.append(f"{value} for product {product[:40]} is no longer proposed: the product has it (or a "
                            f"job is making it) by now, or the evidence has changed. Nothing was queued for it.")
    return chosen, problems


def queue(proposals: list, user) -> Queued:
    """One variants job per product for its proposed colours, on its main photo, through the job path the admin's
    "Generate variants" action uses (pending review as always; the rate limit applies)."""
    result = Queued()
    by_product = defaultdict(list)
    for proposal in proposals:
        by_product[proposal.product].append(proposal)
    products = products_by_id(list(by_product))
    for pk, chosen in by_product.items():
        main = _main_photo(products.get(pk))
        if main is None:
            result.skipped.append(f"Product {pk[:40]} has no photo to make variants of.")
            continue
        try:
            params = variant_params(count=len(chosen), colours=[p.value for p in chosen])
            params["taste"] = [{"colour": p.value, "segment": p.taste.segment, "lift": round(p.taste.lift, 3)}
                               for p in chosen]
            result.jobs += jobs.create_jobs(ImageJob.Kind.VARIANTS, [main], params, user)
        except (InvalidParams, ModelUnavailable, RateLimited) as exc:
            reason = "; ".join(exc.errors.values()) if isinstance(exc, InvalidParams) else str(exc)
            result.skipped.append(f"Nothing queued for {_name(products.get(pk), pk)}: {reason}")
    return result


def _main_photo(product):
    """The product's main photo (its first candidate's host image), or None."""
    if product is None:
        return None
    found = candidates_for_many([product])[product.pk]
    originals = [c for c in found if c.is_original]
    return get_image_model()._default_manager.filter(pk=originals[0].source_id).first() if originals else None


def _name(product, pk: str) -> str:
    return str(product) if product is not None else f"product {pk[:40]}"
