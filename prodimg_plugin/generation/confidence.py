"""Confidence on every generated image: does it show what was asked for, and did only the product change?

For each variant and edit a job makes, `assess` measures
- the evaluator's probability that the image shows each asked-for attribute value; the lowest is `confidence`;
- through the product mask of the source photo (`ml.recolour.diagnose`): the share of the product visibly changed
  (`mask_changed`) and ΔE00 between original and result outside the product (`delta_e_outside`: p95, and median);
and flags the image `needs_look`, with readable `review_notes`, when a figure misses its threshold
(PRODIMG["CONFIDENCE"]) or the mask itself cannot be trusted. Degenerate outputs (`degenerate`: a near-constant
image, a result equal to its source, a result of another size or shape than its source) are always flagged,
whatever the models say and even when no model is trained. A model that is not trained leaves its figures null,
with a note. Nothing here fails a job: an error becomes a note and a flag, and is logged.
Enhanced images are not assessed (their figures stay null, unflagged).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from ml.flaws import changed_regions, sharpness_ratio
from ml.recolour import diagnose
from ml.vocab import category_attribute, colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.conf import DEFAULTS, prodimg_settings
from prodimg_plugin.generation.handler import Result

log = logging.getLogger(__name__)


@dataclass
class Asked:
    """What one result was asked to show, and how its change should look."""

    attributes: dict[str, str]  # e.g. {"colour": "navy-blue"}: the evaluator should see these
    inside_only: bool = True  # only the product may change (not a design variation, not a new category)
    recolour: bool = True  # most of the product should visibly change (a colour change)


@dataclass
class Finding:
    """Figures (GeneratedImage field -> value), the notes for the reviewer and whether they flag the image."""

    figures: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flagged: bool = False
    checked: dict = field(default_factory=dict)  # attribute -> {"value", "probability"}: shown on the review page


@dataclass
class Tools:
    """What one job's results are judged with: the models (None when not available) and the source's mask."""

    judge: object | None = None  # ml.judge.Judge
    mask: object | None = None  # ml.masker.ProductMask of the source photo
    missing: dict[str, Finding] = field(default_factory=dict)  # kind -> why it is not there


# ---- entry points (one call from each job handler) -----------------------------------------------------------

def assess_variants(source: Image.Image, results: list[Result], attrs: dict) -> None:
    """Confidence of a variants job's results: a colourway asks for its colour, a design variation for the
    product's own attributes (and redraws the whole image, so the mask thresholds do not apply)."""
    assess(source, results, [asked_for_variant(r.params, attrs) for r in results])


def assess_edits(source: Image.Image, results: list[Result]) -> None:
    """Confidence of an edits job's results: each asks for its target attributes."""
    assess(source, results, [asked_for_edit(r.params) for r in results])


def asked_for_variant(params: dict, attrs: dict) -> Asked:
    """A colourway asks for its colour; a design variation for the attributes of the product it varies."""
    if params.get("attribute") and params.get("colour"):
        return Asked({params["attribute"]: params["colour"]})
    return Asked({a: v for a, v in attrs.items() if v}, inside_only=False, recolour=False)


def asked_for_edit(params: dict) -> Asked:
    """An edit asks for its target; only a colour change must reach most of the product, and only an edit that
    keeps the category (shape) must leave everything outside the product as it was."""
    changed = params.get("changed") or {}
    recolour = bool(changed) and all(colour_attribute([a]) for a in changed)
    return Asked(dict(params.get("target") or {}), inside_only=category_attribute(list(changed)) is None,
                 recolour=recolour)


def assess(source: Image.Image, results: list[Result], asked: list[Asked]) -> None:
    """Fill each result's `confidence` (GeneratedImage field -> value) and its params' "checked"; never raises."""
    tools = _tools(source)
    for result, wanted in zip(results, asked):
        finding = _safely(lambda: _assess_one(tools, source, result.image, wanted), "measuring this image")
        garment = separated(result.params)
        result.confidence = {**finding.figures, "needs_look": finding.flagged or garment.flagged,
                             "review_notes": finding.notes + garment.notes}
        if finding.checked:
            result.params = {**result.params, "checked": finding.checked}


def assess_targets(source: Image.Image, results: list[Result], attrs: dict) -> None:
    """Confidence of colourways to exact colours (hex, swatch): the mask figures, and ΔE00 between the target and
    the changed region's colour (`delta_e_target`, measured while recolouring), flagged above
    max_delta_e_target; degenerate results flagged as everywhere. The evaluator is not asked: it knows colour
    names, not #1f3a5f. Never raises."""
    tools = Tools()
    masker = _load("mask", tools)
    mask = _safely(lambda: masker.mask(source), "finding the product in the source photo") if masker else None
    for result in results:
        asked = Asked({}, recolour=not (result.params.get("target") or {}).get("parts"))
        if isinstance(mask, Finding) or mask is None:
            finding = mask if isinstance(mask, Finding) else _missing(tools, "mask", asked)
        else:
            finding = _safely(lambda: masked(mask, source, result.image, asked), "measuring this image")
        target = on_target(result.params)
        broken = _safely(lambda: degenerate(source, result.image), "checking this image")
        garment = separated(result.params)
        result.confidence = {**finding.figures, **target.figures,
                             "needs_look": finding.flagged or target.flagged or broken.flagged or garment.flagged,
                             "review_notes": broken.notes + finding.notes + target.notes + garment.notes}


def on_target(params: dict) -> Finding:
    """ΔE00 to an exact colour target, and a note when it misses PRODIMG["CONFIDENCE"]["max_delta_e_target"]."""
    asked, delta = (params.get("target") or {}).get("asked", params.get("colour")), params.get("delta_e_target")
    if delta is None:
        return Finding({"delta_e_target": None}, [f"{asked}: none of the chosen colour was found on the product, "
                                                  f"so nothing was recoloured"], flagged=True)
    limit = thresholds()["max_delta_e_target"]
    finding = Finding({"delta_e_target": round(float(delta), 2)})
    if delta > limit:
        finding.notes.append(f"the product's colour is ΔE00 {delta:.1f} from {asked} (at most {limit:g} expected)")
        finding.flagged = True
    return finding


def separated(params: dict) -> Finding:
    """Flagged, saying why, when a worn product could not be told from another garment of its colour, or none of
    the chosen colour was where the product is worn (`ml.garment`, carried in params["garment_problems"])."""
    problems = params.get("garment_problems") or []
    return Finding(notes=[f"worn photo: {problem}" for problem in problems], flagged=bool(problems))


# ---- the figures ---------------------------------------------------------------------------------------------

def thresholds() -> dict:
    """PRODIMG["CONFIDENCE"] over its defaults (a shop may set one threshold and keep the others)."""
    return {**DEFAULTS["CONFIDENCE"], **(prodimg_settings.CONFIDENCE or {})}


def judged(judge, image: Image.Image, asked: Asked) -> Finding:
    """The evaluator's probability of each asked-for value; `confidence` is the lowest of those it knows."""
    probs = judge.probabilities(image, asked.attributes)
    notes = [f"the evaluator does not know {a} {asked.attributes[a]!r}: not checked" for a, p in probs.items()
             if p is None]
    known = {a: p for a, p in probs.items() if p is not None}
    if not known:
        return Finding(notes=notes)
    checked = {a: {"value": asked.attributes[a], "probability": round(p, 4)} for a, p in known.items()}
    weakest = min(known, key=known.get)
    finding = Finding({"confidence": round(known[weakest], 4)}, notes, checked=checked)
    floor = thresholds()["min_probability"]
    if known[weakest] < floor:
        finding.notes.append(f"the evaluator is only {_pct(known[weakest])} sure this shows {weakest} "
                             f"{asked.attributes[weakest]!r} (at least {_pct(floor)} expected)")
        finding.flagged = True
    return finding


WORN = 0.01  # a photo whose mask finds a person on more than this share of it shows the product worn


def masked(mask, source: Image.Image, image: Image.Image, asked: Asked) -> Finding:
    """What changed inside and outside the product; notes when the mask is untrustworthy or a threshold missed."""
    d = diagnose(source, image, mask)
    finding = Finding({"mask_changed": round(d["mask_changed"], 4), "delta_e_outside": round(d["delta_e_outside_p95"], 3),
                       "delta_e_outside_median": round(d["delta_e_outside_median"], 3)})
    if mask.problems:  # the figures above are then rough: the mask's own problems are what to look at
        finding.notes += [f"product mask: {problem}" for problem in mask.problems]
        finding.flagged = True
        return finding
    limits = thresholds()
    if asked.recolour and d["mask_changed"] < limits["min_mask_changed"]:
        finding.notes.append(f"only {_pct(d['mask_changed'])} of the product visibly changed "
                             f"(at least {_pct(limits['min_mask_changed'])} expected)")
        finding.flagged = True
    if asked.recolour and mask.person.mean() > WORN:
        regions = changed_regions(source, image)
        if regions["minor_share"] >= limits["min_region_share"] and regions["apart"] >= limits["max_regions_apart"]:
            finding.notes.append(f"the change covers two differently coloured regions one above the other "
                                 f"({_pct(regions['apart'])} of the height apart): another garment, the shoes or "
                                 "the trousers may have changed too")
            finding.flagged = True
    if asked.inside_only and d["delta_e_outside_p95"] > limits["max_delta_e_outside"]:
        finding.notes.append(f"the image changed outside the product (ΔE00 p95 {d['delta_e_outside_p95']:.1f}, "
                             f"at most {limits['max_delta_e_outside']:g} expected): backdrop, skin or hair")
        finding.flagged = True
    return finding


# a result is degenerate when ...
FLAT_STD = 2.0  # ... the standard deviation of its grey levels (0-255) is under this: one flat colour
SAME_AS_SOURCE = 1.0  # ... no pixel differs from the source by more than this (0-255, after rounding noise)
SIZE_TOLERANCE = 0.02  # ... its width or height differs from the source's by more than this share
BLURRED = 0.45  # ... it keeps less than this share of its source's fine detail (a low-resolution rendition)


def degenerate(source: Image.Image, image: Image.Image) -> Finding:
    """Notes (always flagged) for an output no reviewer would approve, measured without any model."""
    notes = []
    (sw, sh), (w, h) = source.size, image.size
    if abs(w - sw) > SIZE_TOLERANCE * sw or abs(h - sh) > SIZE_TOLERANCE * sh:
        notes.append(f"the result is {w}x{h} pixels but its source photo is {sw}x{sh}: not the product's size")
    grey = np.asarray(image.convert("L"), np.float32)
    if grey.size == 0 or float(grey.std()) < FLAT_STD:
        notes.append("the result is nearly one flat colour: no product is visible")
    elif not notes:
        a = np.asarray(source.convert("RGB"), np.int16)
        b = np.asarray(image.convert("RGB").resize(source.size), np.int16)
        if int(np.abs(a - b).max()) <= SAME_AS_SOURCE:
            notes.append("the result is the same as its source photo: nothing was changed")
        elif (kept := sharpness_ratio(source, image)) < BLURRED:
            notes.append(f"the result is much blurrier than its source photo (it keeps {_pct(kept)} of its "
                         "detail): a low-resolution rendition, not a catalogue image")
    return Finding(notes=notes, flagged=bool(notes))


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def _assess_one(tools: Tools, source: Image.Image, image: Image.Image, asked: Asked) -> Finding:
    parts = [degenerate(source, image), judged(tools.judge, image, asked) if tools.judge else _missing(tools, "evaluator", asked)]
    if image.size == source.size:  # the mask figures compare pixel by pixel
        parts.append(masked(tools.mask, source, image, asked) if tools.mask else _missing(tools, "mask", asked))
    return Finding({k: v for p in parts for k, v in p.figures.items()}, [n for p in parts for n in p.notes],
                   any(p.flagged for p in parts), {k: v for p in parts for k, v in p.checked.items()})


# ---- the models ----------------------------------------------------------------------------------------------

WHAT_IS_MISSING = {
    "evaluator": "no evaluator trained: {what} not checked (run manage.py prodimg_eval gan or cvae)",
    "mask": "no product mask model trained: the change inside and outside the product not measured "
            "(run manage.py prodimg_train mask)",
}


def _tools(source: Image.Image) -> Tools:
    """The evaluator, and the mask of the source photo, each None (with why, in `missing`) when unavailable."""
    tools = Tools()
    tools.judge = _load("evaluator", tools)
    masker = _load("mask", tools)
    if masker is not None:
        tools.mask = _safely(lambda: masker.mask(source), "finding the product in the source photo", tools, "mask")
    return tools


def _load(kind: str, tools: Tools):
    """The active model of a kind; None when none is trained (a note) or it cannot be loaded (a note and a flag)."""
    try:
        return weights.get_model(kind)[1]
    except weights.ModelUnavailable:
        tools.missing[kind] = Finding(notes=[WHAT_IS_MISSING[kind]])
        return None
    except Exception as exc:  # a damaged file, a bug: the images still get made, and flagged
        log.exception("prodimg confidence: could not load the %s model", kind)
        tools.missing[kind] = Finding(notes=[f"the {kind} model could not be loaded ({type(exc).__name__}: {exc})"],
                                      flagged=True)
        return None


def _missing(tools: Tools, kind: str, asked: Asked) -> Finding:
    why = tools.missing.get(kind) or Finding(notes=[WHAT_IS_MISSING[kind]])
    what = ", ".join(asked.attributes) or "nothing"
    return Finding(notes=[n.replace("{what}", what) for n in why.notes], flagged=why.flagged)


def _safely(work, doing: str, tools: Tools | None = None, kind: str = ""):
    """`work()`, or on any error: logged, and a flagged note (in `tools.missing[kind]` when given, else returned)."""
    try:
        return work()
    except Exception as exc:
        log.exception("prodimg confidence: failed %s", doing)
        failed = Finding(notes=[f"confidence could not be measured while {doing} ({type(exc).__name__}: {exc})"],
                         flagged=True)
        if tools is None:
            return failed
        tools.missing[kind] = failed
        return None
