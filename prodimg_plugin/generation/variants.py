"""Variant generation: the active GAN's colourways and design variations of one product photo."""
from __future__ import annotations

from prodimg_plugin import weights
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.handler import Result
from prodimg_plugin.generation.params import variant_params


def make_variants(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: `count` variants of `image` from the active GAN."""
    version, generator = weights.get_model("gan")
    given = job.params
    # the request's check again: the active GAN may have changed since the job was queued
    p = {**given, **variant_params(given.get("count"), given.get("mode", "colourways"), given.get("colours"),
                                   given.get("strength", 0.5))}
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
