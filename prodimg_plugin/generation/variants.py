"""Variant generation: the active GAN's colourways and design variations of one product photo, and colourways to
exact colours (hex, swatch) through the product mask."""
from __future__ import annotations

from ml.colour import parse_hex
from ml.colour_parts import colour_parts
from ml.exact_colour import recolour_to
from ml.vocab import category_attribute, colour_attribute
from prodimg_plugin import weights
from prodimg_plugin.generation import confidence
from prodimg_plugin.generation.garments import garment_of
from prodimg_plugin.generation.handler import JobError, Result
from prodimg_plugin.generation.params import variant_params


def make_variants(job, image, attrs: dict, progress) -> list[Result]:
    """Job handler: `count` variants of `image` from the active GAN, or one colourway per exact colour target."""
    given = job.params
    if given.get("targets"):
        return exact_colourways(job, image, attrs, progress)
    version, generator = weights.get_model("gan")
    # the request's check again: the active GAN may have changed since the job was queued
    p = {**given, **variant_params(given.get("count"), given.get("mode", "colourways"), given.get("colours"),
                                   given.get("strength", 0.5))}
    seed = int(p["seed"])
    progress(0.2)
    if p["mode"] == "design":
        variants = generator.design_variations(image, attrs, p["count"], seed, strength=p["strength"])
    else:
        variants = generator.colourways(image, attrs, p["count"], seed, colours=p.get("colours"),
                                        masker=weights.optional_model("mask"), garment=garment_of(attrs))
    progress(0.9)
    results = [Result(v.image, {"mode": p["mode"], **v.params}, v.seed, version) for v in variants]
    confidence.assess_variants(image, results, attrs)
    return results


def exact_colourways(job, image, attrs: dict, progress) -> list[Result]:
    """One colourway per target (checked when queued: `params.check_targets`), each hitting its colour on the
    chosen parts, with its ΔE00 to the target measured."""
    version, masker = weights.get_model("mask")
    rgb = image.convert("RGB")
    mask = masker.mask(rgb)
    if mask.problems and mask.share < 0.01:
        raise JobError(f"the product cannot be separated from its backdrop: {mask.problems[0]}")
    source = _labelled_look(masker, attrs)
    parts = colour_parts(rgb, mask, source)
    garment = garment_of(attrs)
    progress(0.3)
    results = []
    for target in job.params["targets"]:
        try:
            out, figures = recolour_to(rgb, mask, parse_hex(target["colour"]), target.get("parts"), source, parts,
                                       garment)
        except IndexError as exc:  # a part chosen on another photo of the selection
            raise JobError(f"{target['asked']}: {exc}") from None
        params = {"mode": "colourways", "target": target, "colour": target["colour"], "delivery": "masked-exact",
                  "parts": figures["parts"], "product_parts": [p.as_dict() for p in parts],
                  "changed_share": round(figures["changed_share"], 3), "delta_e_target": figures["delta_e_target"],
                  "mask_problems": mask.problems, "garment_problems": figures["garment_problems"]}
        results.append(Result(out, params, int(job.params.get("seed", 0)), version))
    progress(0.9)
    confidence.assess_targets(image, results, attrs)
    return results


def _labelled_look(masker, attrs: dict):
    """The catalogue's look of the product's labelled colour (which part is its main colour), or None."""
    colour = attrs.get(colour_attribute(attrs) or "")
    return masker.palette.lookup(colour, attrs.get(category_attribute(attrs) or "")) if colour else None
