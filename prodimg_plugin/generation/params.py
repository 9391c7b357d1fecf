"""What a job may ask for, checked before it is queued: the one check of each job kind's params, used by the admin's
forms, the API and (for what can change between queueing and running) the job itself.

Each raises `JobError` (or its subclass `InvalidEditTarget`, which names each bad attribute) with a message
that says what is allowed. The backgrounds of an enhance job are checked in `backgrounds`.
"""
from __future__ import annotations

from ml.vocab import spelling_key
from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation.handler import JobError


def variant_params(count=None, mode: str = "colourways", colours=None, strength: float = 0.5) -> dict:
    """Validated job params for a variants job (the admin form and the API both come through here)."""
    count = int(count or prodimg_settings.VARIANTS_DEFAULT_COUNT)
    if not 1 <= count <= prodimg_settings.VARIANTS_MAX_COUNT:
        raise JobError(f"count must be between 1 and {prodimg_settings.VARIANTS_MAX_COUNT}")
    if mode not in prodimg_settings.VARIANT_MODES:
        raise JobError(f"mode must be one of {', '.join(prodimg_settings.VARIANT_MODES)}")
    params = {"count": count, "mode": mode, "strength": float(strength)}
    if colours:
        params["colours"] = [str(c).strip().lower() for c in colours]
    return params


class InvalidEditTarget(JobError):
    """A target naming an attribute or value the active model does not know; `errors` maps each to its message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def editable_attributes() -> dict[str, list[str]]:
    """Attribute -> values the active CVAE can edit to. Raises ModelUnavailable when none is trained."""
    _, editor = weights.get_model("cvae")
    return editor.editable()


def edit_params(target: dict) -> dict:
    """Validated job params for an edits job: the target attributes in the active model's own spelling.

    Values are matched by `ml.vocab.spelling_key` (case, spaces and hyphens ignored: "Navy Blue" finds "navy-blue"). Unknown attributes
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
    wanted = spelling_key(value)
    return next((a for a in allowed if a == value), None) or next((a for a in allowed if spelling_key(a) == wanted), None)
