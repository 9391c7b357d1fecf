"""Variant generation: the active GAN's colourways and design variations of one product photo."""
from __future__ import annotations

from prodimg_plugin import weights
from prodimg_plugin.conf import prodimg_settings
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.jobs import JobError, Result


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


def make_variants(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: `count` variants of `image` from the active GAN."""
    version, generator = weights.get_model("gan")
    p = {**variant_params(), **job.params}
    seed = int(p["seed"])
    progress(0.2)
    if p["mode"] == "design":
        variants = generator.design_variations(image, attrs, p["count"], seed, strength=p["strength"])
    else:
        variants = generator.colourways(image, attrs, p["count"], seed, colours=p.get("colours"),
                                        masker=weights.optional_model("mask"))
    progress(0.9)
    results = [Result(v.image, {"mode": p["mode"], **v.params}, v.seed, version) for v in variants]
    confidence.assess_variants(image, results, attrs)
    return results
