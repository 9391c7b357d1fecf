"""Enhancement: a cleaned, centred, white-background, properly sized version of a product photo.

The steps (`ml.enhance.EnhanceConfig`) are switched on and off with PRODIMG["ENHANCE"]. Photos smaller than
the target size are enlarged by the active super-resolution model only when its recorded held-out PSNR beats
bicubic; otherwise bicubic is used. Renditions (WebP and JPEG; AVIF too where Pillow has it and
PRODIMG["ENHANCE"]["rendition_formats"] asks for it, since it costs as much as the rest together) travel with
the result and are stored by the job's commit step next to the main file.
"""
from __future__ import annotations

import dataclasses
import json
import logging

from django.db import transaction
from django.utils import timezone

from ml.enhance import EnhanceConfig, enhance
from ml.quality import QualityConfig, assess

from ..conf import prodimg_settings
from ..models import GeneratedImage, ModelVersion
from . import registry
from .jobs import JobError, Result

log = logging.getLogger(__name__)

SR_SWITCH = "super_resolution"  # the one key of PRODIMG["ENHANCE"] that is not an EnhanceConfig field
_TUPLE_FIELDS = {"target_size", "rendition_sizes", "rendition_formats", "contrast_percentiles", "exposure_white"}


def enhance_config(overrides: dict | None = None) -> EnhanceConfig:
    """EnhanceConfig from PRODIMG["ENHANCE"], then `overrides`; an unknown key raises JobError naming valid ones."""
    settings = {**prodimg_settings.ENHANCE, **(overrides or {})}
    settings.pop(SR_SWITCH, None)
    fields = {f.name for f in dataclasses.fields(EnhanceConfig)} - {"backdrop"}
    unknown = sorted(set(settings) - fields)
    if unknown:
        valid = ", ".join(sorted(fields | {SR_SWITCH}))
        raise JobError(f'PRODIMG["ENHANCE"] has unknown keys {unknown}; valid: {valid}')
    return EnhanceConfig(**{k: _as_tuple(v) if k in _TUPLE_FIELDS else v for k, v in settings.items()})


def _as_tuple(value):
    """Settings written as JSON lists become the tuples EnhanceConfig expects (nested for rendition sizes)."""
    return tuple(_as_tuple(v) for v in value) if isinstance(value, (list, tuple)) else value


def sr_beats_bicubic(metrics: dict) -> bool:
    """Whether a super-resolution version's held-out PSNR (recorded when trained) is above bicubic's."""
    try:
        return float(metrics["psnr_model"]) > float(metrics["psnr_bicubic"])
    except (KeyError, TypeError, ValueError):
        return False


def upscaler_for_enhancement(cfg: EnhanceConfig):
    """(version, upscaler) of the active SR model if it may be used, else (None, None): bicubic then.

    It may be used when PRODIMG["ENHANCE"]["super_resolution"] is not False and its held-out PSNR, recorded on
    the ModelVersion by `prodimg_train sr`, beats bicubic's.
    """
    if not cfg.upscale or not prodimg_settings.ENHANCE.get(SR_SWITCH, True):
        return None, None
    version = ModelVersion.objects.filter(kind="sr", active=True).first()
    if version is None or not sr_beats_bicubic(version.metrics):
        return None, None
    try:
        return version, registry.load(version)
    except Exception as exc:  # a damaged SR file must not stop enhancement: bicubic still works
        log.warning("super-resolution model %s unusable, enlarging with bicubic: %s", version, exc)
        return None, None


def make_enhanced(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: one enhanced version of `image`, with its renditions and its quality before and after."""
    cfg = enhance_config(job.params.get("enhance"))
    version, upscaler = upscaler_for_enhancement(cfg)
    progress(0.2)
    result = enhance(image, cfg, upscaler)
    progress(0.8)
    quality = QualityConfig(target_size=cfg.target_size)
    before, after = assess(image, quality), assess(result.image, quality)
    used_model = result.details.get("upscale") == "model"
    params = {
        "steps": result.steps_applied,
        "details": _jsonable(result.details),
        "quality_before": {"score": before.score, "reasons": before.reasons},
        "quality_after": {"score": after.score, "reasons": after.reasons},
    }
    return [Result(result.image, params, 0, version if used_model else None, renditions=result.renditions)]


def _jsonable(value):
    """Numbers from numpy become plain floats; the result's details go into a JSONField."""
    return json.loads(json.dumps(value, default=float))


def enhanced_approved(generated) -> bool:
    """Call PRODIMG["ON_ENHANCED_APPROVED"](generated) the first time an enhanced image is approved.

    The host decides what approval means for its own models (the demo makes the photo the product's main
    image). The call is recorded in `params["approved_hook_at"]` in the same transaction, so approving twice
    does not run it twice, and a hook that raises leaves it to run on the next approval.
    """
    hook = prodimg_settings.ON_ENHANCED_APPROVED
    if hook is None or generated.kind != GeneratedImage.Kind.ENHANCED:
        return False
    with transaction.atomic():
        row = GeneratedImage.objects.select_for_update().get(pk=generated.pk)
        if row.params.get("approved_hook_at"):
            return False
        row.params["approved_hook_at"] = timezone.now().isoformat()
        row.save(update_fields=["params"])
        hook(row)
    return True
