"""Enhancement: a cleaned, centred, white-background, properly sized version of a product photo.

The steps (`ml.enhance.EnhanceConfig`) are switched on and off with PRODIMG["ENHANCE"]. Photos smaller than
the target size are enlarged by the active super-resolution model only when its recorded held-out PSNR beats
bicubic; otherwise bicubic is used. Renditions (WebP and JPEG; AVIF too where Pillow has it and
PRODIMG["ENHANCE"]["rendition_formats"] asks for it, since it costs as much as the rest together) travel with
the result and are stored by the job's commit step next to the main file.

Background removal: the job param `background` (one of `backgrounds.BACKGROUNDS`, "keep" by default, checked by
`backgrounds.background_param`) cuts the product out of the enhanced photo with the active
mask model (`prodimg_train mask`) and puts it on that background. The enhance steps' own white-backdrop step is
skipped then: the cut-out replaces the whole backdrop, and decontaminating its edges needs the photo's real
backdrop colour. A transparent result is RGBA: stored as PNG or WebP, its renditions in formats with alpha.
"""
from __future__ import annotations

import dataclasses
import io
import json
import logging

from django.db import transaction
from django.utils import timezone

from ml.enhance import RENAMED_KEYS, EnhanceConfig, EnhanceResult, available_formats, enhance, renditions
from ml.images import pad_to_aspect
from ml.quality import QualityConfig, assess
from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation.backgrounds import KEEP, background_param
from prodimg_plugin.generation.handler import JobError, Result
from prodimg_plugin.models import GeneratedImage, ModelVersion

log = logging.getLogger(__name__)

SR_SWITCH = "super_resolution"  # the one key of PRODIMG["ENHANCE"] that is not an EnhanceConfig field
_TUPLE_FIELDS = {"target_size", "rendition_sizes", "rendition_formats", "contrast_percentiles", "exposure_white"}
NEEDS_MASK = "Background removal needs a product-mask model: "
ALPHA_FORMATS = {"webp": "WEBP", "avif": "AVIF", "png": "PNG"}  # rendition formats that keep transparency


def enhance_config(overrides: dict | None = None) -> EnhanceConfig:
    """EnhanceConfig from PRODIMG["ENHANCE"], then `overrides`; an unknown key raises JobError naming valid ones."""
    settings = {**prodimg_settings.ENHANCE, **(overrides or {})}
    settings.pop(SR_SWITCH, None)
    fields = ({f.name for f in dataclasses.fields(EnhanceConfig)} - {"backdrop"}) | set(RENAMED_KEYS)
    unknown = sorted(set(settings) - fields)
    if unknown:
        valid = ", ".join(sorted(fields | {SR_SWITCH}))
        raise JobError(f'PRODIMG["ENHANCE"] has unknown keys {unknown}; valid: {valid}')
    return EnhanceConfig.from_overrides({k: _as_tuple(v) if k in _TUPLE_FIELDS else v for k, v in settings.items()})


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
        return version, weights.load(version)
    except Exception as exc:  # a damaged SR file must not stop enhancement: bicubic still works
        log.warning("super-resolution model %s unusable, enlarging with bicubic: %s", version, exc)
        return None, None


def mask_unavailable() -> str:
    """Why background removal cannot run now (no mask model, and how to train one), or "" when it can."""
    try:
        weights.active_version("mask")
    except weights.ModelUnavailable as exc:
        return NEEDS_MASK + str(exc)
    return ""


def mask_model():
    """(version, ProductMasker) of the active mask model; a JobError telling the operator how to get one."""
    try:
        return weights.get_model("mask")
    except weights.ModelUnavailable as exc:
        raise JobError(NEEDS_MASK + str(exc)) from exc


def make_enhanced(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: one enhanced version of `image`, with its renditions and its quality before and after.

    With `params["background"]` other than "keep", the product is cut out of it onto that background.
    """
    background = _background_of(job)
    masker = mask_model() if background != KEEP else None  # before the work: a missing model fails at once
    cfg = enhance_config(job.params.get("enhance"))
    version, upscaler = upscaler_for_enhancement(cfg)
    progress(0.2)
    if masker is None:
        result = enhance(image, cfg, upscaler)
    else:  # the cut-out replaces the backdrop step; renditions are made from the cut-out
        result = enhance(image, dataclasses.replace(cfg, white_backdrop=False, rendition_formats=()), upscaler)
        progress(0.6)
        result = cut_out(result, masker[1], background, cfg)
    progress(0.8)
    used = masker[0] if masker else (version if result.details.get("upscale") == "model" else None)
    return [Result(result.image, _result_params(image, result, cfg), 0, used, renditions=result.renditions)]


def _background_of(job) -> str:
    try:
        return background_param(job.params.get("background", KEEP))
    except ValueError as exc:
        raise JobError(str(exc)) from exc


def _result_params(source, result: EnhanceResult, cfg: EnhanceConfig) -> dict:
    """What the job did and the photo's quality before and after, for the GeneratedImage's params."""
    quality = QualityConfig(target_size=cfg.target_size)
    before, after = assess(source, quality), assess(result.image, quality)
    return {
        "steps": result.steps_applied,
        "details": _jsonable(result.details),
        "quality_before": {"score": before.score, "reasons": before.reasons},
        "quality_after": {"score": after.score, "reasons": after.reasons},
    }


def cut_out(result: EnhanceResult, masker, background: str, cfg: EnhanceConfig) -> EnhanceResult:
    """The enhanced photo's product on `background`, with its renditions; JobError when the mask is unsure.

    A mask with problems (no product found, nothing to separate it from, an unclear outline) fails the job with
    the mask's own words rather than presenting a wrong cut-out.
    """
    mask = masker.mask(result.image)
    if mask.problems:
        raise JobError(f"Background not removed: {'; '.join(mask.problems)}.")
    from ml.cutout import cutout
    image = cutout(result.image, mask, background)
    details = {**result.details, "cutout": {"background": background, "product_share": round(mask.share, 4),
                                            "mask": mask.source}}
    if image.mode == "RGBA":
        rend = alpha_renditions(image, cfg)
    else:
        rend = renditions(image, cfg.rendition_sizes, cfg.rendition_formats, cfg.rendition_quality)
    return EnhanceResult(image, [*result.steps_applied, "cutout"], rend, details)


def alpha_renditions(image, cfg: EnhanceConfig) -> dict[str, bytes]:
    """Renditions of a transparent cut-out in the configured formats that keep alpha (JPEG has none and is
    skipped; PNG when no other is left): {"600x800.webp": bytes, ...}."""
    from PIL import Image

    formats = [f for f in available_formats(cfg.rendition_formats) if f in ALPHA_FORMATS] or ["png"]
    out = {}
    for w, h in cfg.rendition_sizes:
        sized = image if image.size == (w, h) else pad_to_aspect(image, w / h).resize(  # pads transparent
            (w, h), Image.Resampling.LANCZOS, reducing_gap=3.0)  # Pillow resizes RGBA premultiplied: no fringe
        for fmt in formats:
            buf = io.BytesIO()
            sized.save(buf, format=ALPHA_FORMATS[fmt], quality=cfg.rendition_quality.get(fmt, 85))
            out[f"{w}x{h}.{fmt}"] = buf.getvalue()
    return out


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
