"""Attribute edits: the active CVAE changes a product photo's colour (or category, pattern) at full resolution."""
from __future__ import annotations

import re

from prodimg_plugin import weights
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.jobs import JobError, Result

KIND = "cvae"


class InvalidEditTarget(JobError):
    """A target naming an attribute or value the active model does not know; `errors` maps each to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def editable_attributes() -> dict[str, list[str]]:
    """Attribute -> values the active CVAE can edit to. Raises ModelUnavailable when none is trained."""
    _, editor = weights.get_model(KIND)
    return editor.editable()


def edit_params(target: dict) -> dict:
    """Validated job params for an edits job: the target attributes in the active model's own spelling.

    Values are matched ignoring case, spaces and hyphens ("Navy Blue" finds "navy-blue"). Unknown attributes
    or values raise InvalidEditTarget naming the allowed ones (the admin form and the API both come through here).
    """
    if not isinstance(target, dict) or not target:
        raise InvalidEditTarget({"target": "name at least one attribute to change, e.g. {\"colour\": \"red\"}"})
    allowed = editable_attributes()
    known, errors = {}, {}
    for attribute, value in target.items():
        attribute = str(attribute).strip()
        if attribute not in allowed:
            errors[attribute] = f"unknown attribute; the model can edit: {', '.join(allowed)}"
            continue
        match = _match(value, allowed[attribute])
        if match is None:
            errors[attribute] = f"unknown value {value!r}; allowed: {', '.join(allowed[attribute])}"
        else:
            known[attribute] = match
    if errors:
        raise InvalidEditTarget(errors)
    return {"target": known}


def _match(value, allowed: list[str]) -> str | None:
    """The allowed value that `value` names, or None."""
    if not isinstance(value, str):
        return None
    wanted = _key(value)
    return next((a for a in allowed if a == value), None) or next((a for a in allowed if _key(a) == wanted), None)


def _key(text: str) -> str:
    return re.sub(r"[\s_-]+", "-", text.strip().lower())


def make_edits(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: the image with `params["target"]` attributes, at the original's resolution."""
    version, editor = weights.get_model(KIND)
    target = job.params.get("target") or {}
    if not target:
        raise JobError("this edit job names no target attributes")
    seed = int(job.params.get("seed", 0))
    progress(0.2)
    # UnknownAttributeValue: a permanent job error
    edited = editor.edit(image, attrs, target, seed=seed, masker=weights.optional_model("mask"))
    progress(0.9)
    changed = {a: v for a, v in target.items() if attrs.get(a) != v}
    params = {"target": target, "source_attributes": attrs, "changed": changed}
    if "colour" in target:  # the same key a colourway variant uses, so the admin's cards label both alike
        params["colour"] = target["colour"]
    results = [Result(edited, params, seed, version)]
    confidence.assess_edits(image, results)
    return results
