"""What a job may ask for, checked before it is queued: the one check of each job kind's params, used by the admin's
forms, the API and (for what can change between queueing and running) the job itself.

Each raises `InvalidParams` (a `JobError`; `InvalidEditTarget` for an edit's target), whose `errors` name each bad
param with what is allowed. The backgrounds of an enhance job are checked in `backgrounds`.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError

from ml.colour import oklab_to_srgb, parse_hex, to_hex
from ml.colour_parts import colour_parts, product_weight
from ml.exact_colour import region_colour
from ml.vocab import UnknownAttributeValue, spelling_key
from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation.colour_targets import TargetError
from prodimg_plugin.generation.handler import JobError
from prodimg_plugin.host import clean_key, get_image_model
from prodimg_plugin.images import BadSourceImage, job_source


class InvalidParams(JobError):
    """Job params that cannot run; `errors` maps each bad param (or attribute) to a message saying what is allowed."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


class InvalidEditTarget(InvalidParams):
    """A target naming an attribute or value the active model does not know; `errors` maps each to its message."""


STRENGTH_RANGE = (0.0, 2.0)  # how far a design variation may go from the original


def variant_params(count=None, mode: str = "colourways", colours=None, strength: float = 0.5, targets=None,
                   images=()) -> dict:
    """Validated job params for a variants job: the admin form, the API and the job itself (before it runs) all come
    through here. Colours are matched against the active GAN's vocabulary (its spelling is kept: "navy blue" ->
    "navy-blue"), so naming one needs a trained GAN (ModelUnavailable otherwise). Targets are exact colours (hex,
    swatch, catalogue name) on chosen colour parts (`check_targets`: one colourway each, through the mask model;
    `images` are the host images whose parts they name). Raises InvalidParams naming what is allowed for each bad
    param."""
    if targets:
        return _targeted(count, mode, colours, targets, images)
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


def _targeted(count, mode, colours, targets, images) -> dict:
    """A colourway per exact target: no GAN needed, the count is the number of targets."""
    errors = {}
    if mode != "colourways":
        errors["mode"] = "colour targets make colourways; leave mode as colourways"
    if colours:
        errors["colours"] = "give colours (the GAN's colour names) or targets, not both"
    if count not in (None, "") and isinstance(targets, (list, tuple)) and count != len(targets):
        errors["count"] = "with targets, the count is the number of targets; leave it out"
    try:
        checked = check_targets(targets, images)
    except TargetError as exc:
        errors["targets"] = str(exc)
    if errors:
        raise InvalidParams(errors)
    return {"count": len(checked), "mode": "colourways", "targets": checked, "strength": 0.5}


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


# ---- exact colour targets (`colour_targets` says what one looks like) ---------------------------------------

MAX_TARGETS = 4  # colours per image: what an admin reviews at a glance
MAX_PARTS = 12
MIN_SWATCH_PRODUCT = 0.5  # share of a swatch rectangle that must be product (the mask), not backdrop


def check_targets(targets, images=()) -> list[dict]:
    """The targets, checked and normalised (see the module). `images`: the host images the job will run on, whose
    colour parts a chosen part must exist in. Raises TargetError naming the target (1-based) and what is wrong;
    ModelUnavailable when no mask model is trained (an exact colour is applied through the product mask)."""
    if not isinstance(targets, (list, tuple)) or not targets:
        raise TargetError("give a list of one to four targets, e.g. [{\"colour\": \"#1f3a5f\"}]")
    if len(targets) > MAX_TARGETS:
        raise TargetError(f"at most {MAX_TARGETS} targets per image, not {len(targets)}")
    _, masker = weights.get_model("mask")
    out = []
    for n, target in enumerate(targets, start=1):
        try:
            out.append(_one(target, masker))
        except TargetError as exc:
            raise TargetError(f"target {n}: {exc}") from None
    _check_parts(out, list(images), masker)
    return out


def _one(target, masker) -> dict:
    if not isinstance(target, dict) or len({"colour", "swatch"} & set(target)) != 1:
        raise TargetError("give either a colour (\"#1f3a5f\" or a colour name) or a swatch, not both or neither")
    unknown = set(target) - {"colour", "swatch", "parts"}
    if unknown:
        raise TargetError(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(sorted(map(str, unknown)))}; "
                          f"a target has colour or swatch, and parts")
    checked = _swatch(target["swatch"], masker) if "swatch" in target else _colour(target["colour"], masker)
    if "parts" in target:
        checked["parts"] = _parts(target["parts"])
    return checked


def _colour(value, masker) -> dict:
    if not isinstance(value, str) or not value.strip():
        raise TargetError("a colour is a string: #rrggbb or a colour name")
    text = value.strip()
    if text.startswith("#") or re.fullmatch(r"[0-9a-fA-F]{6}", text):
        try:
            return {"colour": to_hex(parse_hex(text)), "asked": text}
        except ValueError as exc:
            raise TargetError(str(exc)) from None
    look = masker.palette.lookup(text)
    if look is None:
        raise TargetError(f"{text[:50]!r} is neither a hex colour (#rrggbb) nor a colour the catalogue knows "
                          f"({', '.join(masker.palette.colours()) or 'none yet'})")
    return {"colour": to_hex(oklab_to_srgb(look.lab)), "asked": text}


def _swatch(value, masker) -> dict:
    if not isinstance(value, dict) or set(value) != {"image", "box"}:
        raise TargetError("a swatch is {\"image\": <product image id>, \"box\": [x, y, w, h]}")
    box = value["box"]
    try:
        x, y, w, h = (int(v) for v in box)
    except (TypeError, ValueError):
        raise TargetError(f"a swatch's box is four whole numbers x, y, w, h, not {str(box)[:60]}") from None
    photo = _photo(value["image"])
    if w < 1 or h < 1 or x < 0 or y < 0 or x + w > photo.width or y + h > photo.height:
        raise TargetError(f"the swatch {x},{y},{w},{h} (x, y, w, h) lies outside the photo "
                          f"({photo.width}x{photo.height})")
    weight = product_weight(masker.mask(photo.convert("RGB")))[y: y + h, x: x + w]
    on_product = float((weight > 0.5).mean())
    if on_product < MIN_SWATCH_PRODUCT:
        raise TargetError(f"the swatch {x},{y},{w},{h} is mostly backdrop: only {on_product:.0%} of it is product "
                          f"(at least {MIN_SWATCH_PRODUCT:.0%}); draw it on the fabric")
    colour = to_hex(region_colour(photo.convert("RGB").crop((x, y, x + w, y + h)), weight))
    return {"colour": colour, "asked": f"swatch of image {value['image']} at {x},{y},{w},{h}",
            "swatch": {"image": value["image"], "box": [x, y, w, h]}}


def _photo(key):
    model = get_image_model()
    try:
        image = model._default_manager.filter(pk=clean_key(model, key)).first()
    except ValidationError as exc:
        raise TargetError(f"a swatch's image {str(key)[:40]!r} is no product image id ({' '.join(exc.messages)})") \
            from None
    if image is None:
        raise TargetError(f"a swatch's image {str(key)[:40]!r} does not exist")
    try:
        return job_source(image)
    except BadSourceImage as exc:
        raise TargetError(f"a swatch's photo cannot be used: {exc}") from None


def _parts(value) -> list[int]:
    if not isinstance(value, list) or not value or not all(isinstance(p, int) and not isinstance(p, bool)
                                                          for p in value):
        raise TargetError("parts is a list of part numbers, e.g. [0, 2]")
    if any(not 0 <= p < MAX_PARTS for p in value):
        raise TargetError(f"a part number is between 0 and {MAX_PARTS - 1}")
    return sorted(set(value))


def _check_parts(targets: list[dict], images: list, masker) -> None:
    """Each chosen part exists on every image (a colour part index that does not exist there: TargetError)."""
    wanted = max((max(t["parts"]) for t in targets if t.get("parts")), default=None)
    if wanted is None:
        return
    for image in images:
        found = image_parts(image, masker)
        if wanted >= len(found):
            n = next(i for i, t in enumerate(targets, 1) if t.get("parts") and max(t["parts"]) == wanted)
            raise TargetError(f"target {n}: part {wanted} does not exist on product image {image.pk}: it has "
                              f"{len(found)} colour part{'s' if len(found) != 1 else ''}")


def image_parts(image, masker=None) -> list:
    """The colour parts (`ml.colour_parts.Part`) of a host image's product; [] when its photo cannot be read."""
    masker = masker or weights.get_model("mask")[1]
    try:
        photo = job_source(image).convert("RGB")
    except BadSourceImage:
        return []
    return colour_parts(photo, masker.mask(photo))
