"""What a job may ask for, checked before it is queued: the one check of each job kind's params, used by the admin's
forms, the API and (for what can change between queueing and running) the job itself.

Each raises `InvalidParams` (a `JobError`; `InvalidEditTarget` for an edit's target), whose `errors` name each bad
param with what is allowed. The backgrounds of an enhance job are checked in `backgrounds`.
"""
from __future__ import annotations

from ml.vocab import UnknownAttributeValue, spelling_key
from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation.handler import JobError


class InvalidParams(JobError):
    """Job params that cannot run; `errors` maps each bad param (or attribute) to a message saying what is allowed."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


class InvalidEditTarget(InvalidParams):
    """A target naming an attribute or value the active model does not know; `errors` maps each to its message."""


STRENGTH_RANGE = (0.0, 2.0)  # how far a design variation may go from the original


def variant_params(count=None, mode: str = "colourways", colours=None, strength: float = 0.5) -> dict:
    """Validated job params for a variants job: the admin form, the API and the job itself (before it runs) all come
    through here. Colours are matched against the active GAN's vocabulary (its spelling is kept: "navy blue" ->
    "navy-blue"), so naming one needs a trained GAN (ModelUnavailable otherwise). Raises InvalidParams naming what is
    allowed for each bad param."""
    errors = {}
    cap = prodimg_settings.VARIANTS_MAX_COUNT
    if count is None or count == "":
        count = prodimg_settings.VARIANTS_DEFAULT_COUNT
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= cap:
        errors["count"] = f"must be a whole number between 1 and {cap}"
    if mode not in prodimg_settings.VARIANT_MODES:
        errors["mode"] = f"must be one of {', '.join(prodimg_settings.VARIANT_MODES)}"
    low, high = STRENGTH_RANGE
    if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not low <= strength <= high:
        errors["strength"] = f"must be a number between {low:g} and {high:g}"
    params = {"count": count, "mode": mode}
    if colours:
        try:
            params["colours"] = gan_colours(colours)
        except InvalidParams as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidParams(errors)
    return {**params, "strength": float(strength)}


def gan_colours(colours) -> list[str]:
    """The colours in the active GAN's spelling (its colourways' own check); InvalidParams naming the allowed ones
    for any it does not know. Raises ModelUnavailable when no GAN is trained or bundled."""
    if isinstance(colours, str) or not isinstance(colours, (list, tuple)) \
            or not all(isinstance(c, str) for c in colours):
        raise InvalidParams({"colours": "must be a list of colour names"})
    _, generator = weights.get_model("gan")
    known, unknown, allowed = [], [], []
    for colour in colours:
        try:
            known.append(generator.resolve_colour(colour.strip()))
        except UnknownAttributeValue as exc:
            unknown.append(colour)
            allowed = exc.allowed
        except ValueError as exc:  # a GAN without a colour attribute
            raise InvalidParams({"colours": str(exc)}) from None
    if unknown:
        names = ", ".join(repr(c[:50]) for c in unknown)
        raise InvalidParams({"colours": f"unknown colour{'s' if len(unknown) > 1 else ''} {names}; the model knows: "
                                        f"{', '.join(allowed)}"})
    return list(dict.fromkeys(known))


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
