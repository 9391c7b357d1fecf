"""Attribute edits: the active CVAE changes a product photo's colour (or category, pattern) at full resolution."""
from __future__ import annotations

from ml.vocab import colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.garments import garment_of
from prodimg_plugin.generation.handler import Result
from prodimg_plugin.generation.params import edit_params

KIND = "cvae"


def make_edits(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: the image with `params["target"]` attributes, at the original's resolution."""
    version, editor = weights.get_model(KIND)
    # the request's check again (InvalidEditTarget): the active CVAE may have changed since the job was queued
    target = edit_params(job.params.get("target") or {})["target"]
    seed = int(job.params.get("seed", 0))
    progress(0.2)
    # UnknownAttributeValue: a permanent job error
    edited = editor.edit(image, attrs, target, seed=seed, masker=weights.optional_model("mask"),
                         garment=garment_of(attrs))
    progress(0.9)
    changed = {a: v for a, v in target.items() if attrs.get(a) != v}
    params = {"target": target, "source_attributes": attrs, "changed": changed}
    colour = colour_attribute(list(target))
    if colour:  # the key a colourway variant uses too, so the admin's cards label both alike
        params["colour"] = target[colour]
    results = [Result(edited, params, seed, version)]
    confidence.assess_edits(image, results)
    return results
