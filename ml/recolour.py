"""Recolour a product inside its mask, in OKLab, towards a colour as the catalogue shows it.

1. The product's pixels (mask alpha, minus skin and hair) are clustered in OKLab; the *main colour* is the
   cluster nearest the product's labelled colour (or the largest), joined by every cluster of the same chroma
   (the same colour in light and shade), wherever it lies: both halves of a two-part product change.
   Prints, logos, stitching and trims of other colours are other clusters and keep their colour.
2. Each main-colour pixel gets the target's chroma and a lightness moved from the source's to the target's
   level, the pixel's own deviation (folds, weave, print edges) kept and scaled by the ratio of the two spreads:
   white -> black and black -> white work, not only hue swaps.
3. The result is blended at (membership x alpha): outside the product the photo's pixels are returned as they
   were, bit for bit.

`recolour_with` does it with a mask model (`ml.masker.ProductMasker`): the target is the catalogue's look of the
colour from the masker's palette, or, for a colour the catalogue never showed, a model's rendition of it
(`rendition_look`); `masked_recolour` applies several colours to one photo through one mask (the colourways and
the colour edits when a mask model is active).
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .colour import delta_e_rgb, oklab_to_srgb, srgb_to_oklab
from .garment import Garment, confined
from .images import pad_to_aspect
from .masker import ProductMask, ProductMasker
from .palette import CHROMATIC, Appearance, appearance_of
from .vocab import UnknownAttributeValue, category_attribute

L_WEIGHT = 0.5  # lightness counts half in colour distance: shading changes L far more than it changes hue
SAME_CHROMA = 0.045  # clusters this close in (a, b) are one colour in light and shade (if L is not too far)
SAME_LIGHTNESS = 0.2


def kmeans(lab: np.ndarray, k: int = 4, iters: int = 12) -> tuple[np.ndarray, np.ndarray]:
    """Centres (k, 3) and labels (n,) of OKLab pixels (n, 3); deterministic (lightness-quantile start)."""
    scale = np.array([L_WEIGHT, 1.0, 1.0])
    x = lab * scale
    order = np.argsort(x[:, 0])
    centres = x[order[((np.arange(k) + 0.5) / k * len(x)).astype(int)]]
    for _ in range(iters):
        labels = np.argmin(((x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(labels == j):
                centres[j] = x[labels == j].mean(axis=0)
    return centres / scale, labels


def main_colour(lab: np.ndarray, source: Appearance | None = None, k: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """(main centres (m, 3), other centres (k - m, 3)) of product pixels (n, 3) in OKLab."""
    centres, labels = kmeans(lab, min(k, max(1, len(lab) // 50)))
    share = np.bincount(labels, minlength=len(centres)) / len(labels)
    alive = share > 0.03
    first = main_index(centres, share, source)
    same = _same(centres, centres[first : first + 1])[:, 0]
    same[first] = True
    return centres[same & alive | (np.arange(len(centres)) == first)], centres[~same & alive]


def main_index(centres: np.ndarray, share: np.ndarray, source: Appearance | None = None) -> int:
    """Which cluster (centres (k, 3), their shares (k,)) is the product's main colour: the one nearest its
    labelled colour's look (a colour split into light and shade counting as one, a tiny part never), else the
    largest."""
    if source is None:
        return int(np.argmax(share))
    alive = share > 0.03
    group_share = _same(centres, centres).astype(float) @ share  # a colour split into light and shade is one
    dist = _distance(centres, source.lab[None])[:, 0] + 1.0 * (group_share < 0.15)  # a tiny part is not it
    chroma, wanted = np.hypot(centres[:, 1], centres[:, 2]), float(np.hypot(source.a, source.b))
    if wanted > CHROMATIC:  # a coloured label: a part at least half as colourful beats a grey one nearer in L
        dist = dist + 1.0 * (chroma < wanted / 2)
    return int(np.argmin(np.where(alive, dist, np.inf)))


def _same(x: np.ndarray, ref: np.ndarray, lightness: float = SAME_LIGHTNESS) -> np.ndarray:
    """(n, m): whether centre x_i is the same colour as ref_j in light or shade (chroma and lightness close)."""
    d_ab = np.hypot(x[:, None, 1] - ref[None, :, 1], x[:, None, 2] - ref[None, :, 2])
    return (d_ab < SAME_CHROMA) & (np.abs(x[:, None, 0] - ref[None, :, 0]) < lightness)


def _distance(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Weighted OKLab distance of pixels (n, 3) to centres (m, 3) -> (n, m)."""
    d = x[:, None] - centres[None]
    return np.sqrt((L_WEIGHT * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)


def membership(lab: np.ndarray, main: np.ndarray, other: np.ndarray, softness: float = 0.02) -> np.ndarray:
    """How much each pixel (n, 3) belongs to the main colour rather than to another of the product's colours."""
    d_main = _distance(lab, main).min(axis=1)
    if len(other) == 0:
        return np.ones(len(lab))
    d_other = _distance(lab, other).min(axis=1)
    return 1.0 / (1.0 + np.exp(-np.clip((d_other - d_main) / softness, -30, 30)))


def recolour(image: Image.Image, mask: ProductMask, target: Appearance, source: Appearance | None = None,
             detail: float = 1.0, garment: Garment | None = None) -> tuple[Image.Image, dict]:
    """The photo with its product's main colour replaced by `target`; (image, figures of what changed:
    main_share, garment_problems).

    source: what the product's labelled colour looks like (picks the main colour among the product's colours).
    detail: how much of the pixels' own lightness deviation is kept (1: all of it, rescaled to the target's spread).
    garment: where the product is worn (`ml.garment`): on a worn photo only the named product changes.
    """
    rgb = np.asarray(image.convert("RGB"), np.float32) / 255
    product = mask.alpha * (1 - np.clip(mask.person, 0, 1))
    inside = product > 0.5
    if inside.sum() < 20:
        return image.convert("RGB"), {"main_share": 0.0, "garment_problems": []}
    lab = srgb_to_oklab(rgb)
    sample = lab[inside][:: max(1, int(inside.sum()) // 6000)]
    main, other = main_colour(sample, source)
    weight = np.zeros(product.shape)
    region = product > 1e-3
    weight[region] = membership(lab[region], main, other) * product[region]
    weight, problems = confined(weight, mask, lab, garment)
    new = _shift(lab[region], weight[region], target, detail)
    out = lab.copy()
    out[region] = lab[region] + weight[region][:, None] * (new - lab[region])
    result = rgb.copy()
    result[region] = oklab_to_srgb(out[region])
    arr = (np.clip(result, 0, 1) * 255 + 0.5).astype(np.uint8)
    untouched = weight < 1e-3
    arr[untouched] = np.asarray(image.convert("RGB"))[untouched]  # exactly the original where nothing changes
    return Image.fromarray(arr), {"main_share": float((weight > 0.5).sum() / max(inside.sum(), 1)),
                                  "garment_problems": problems}


def _shift(lab: np.ndarray, weight: np.ndarray, target: Appearance, detail: float) -> np.ndarray:
    """Each pixel (n, 3) moved to the target: its lightness deviation from the main colour's mean kept (scaled
    to the target's spread), its chroma the target's (following the lightness, as shade does)."""
    w = weight / max(weight.sum(), 1e-6)
    mean_l = float((lab[:, 0] * w).sum())
    spread = float(np.sqrt(max(((lab[:, 0] - mean_l) ** 2 * w).sum(), 1e-6)))
    gain = np.clip(target.spread / max(spread, 0.02), 0.6, 1.4) * detail
    new_l = np.clip(target.L + (lab[:, 0] - mean_l) * gain, 0.0, 1.0)
    shade = np.clip((new_l + 0.05) / (target.L + 0.05), 0.6, 1.3)
    ab = np.stack([target.a * shade, target.b * shade], axis=-1)
    return np.concatenate([new_l[:, None], ab], axis=1)


def diagnose(original: Image.Image, result: Image.Image, mask: ProductMask, visible: float = 5.0) -> dict:
    """What an image changed, for the reviewer: the share of the product visibly changed (ΔE00 > `visible`),
    and ΔE00 outside the product (median, p95) and on skin and hair. Measured at most 400 px a side."""
    scale = min(1.0, 400 / max(original.size))
    size = (max(1, round(original.width * scale)), max(1, round(original.height * scale)))
    a = np.asarray(original.convert("RGB").resize(size, Image.Resampling.BOX), np.float32) / 255
    b = np.asarray(result.convert("RGB").resize(size, Image.Resampling.BOX), np.float32) / 255
    alpha = np.asarray(Image.fromarray(mask.alpha).resize(size, Image.Resampling.BOX))
    person = np.asarray(Image.fromarray(mask.person).resize(size, Image.Resampling.BOX))
    de = delta_e_rgb(a, b)
    inside, outside = alpha > 0.5, alpha < 0.5
    figures = {"mask_changed": float((de[inside] > visible).mean()) if inside.any() else 0.0,
               "delta_e_outside_median": float(np.median(de[outside])) if outside.any() else 0.0,
               "delta_e_outside_p95": float(np.percentile(de[outside], 95)) if outside.any() else 0.0}
    if (person > 0.5).any():
        figures["delta_e_person_p95"] = float(np.percentile(de[person > 0.5], 95))
    return figures


# ---- recolouring with a mask model: the catalogue's look of a colour, a model's rendition as a hint ---------

def rendition_look(rendition: np.ndarray, mask: ProductMask):
    """The Appearance a model's low-resolution rendition (h, w, 3 floats in [0, 1], of the photo padded to its
    aspect) gives the product, read through the photo's mask; None when too little of the product is visible."""
    h, w = rendition.shape[:2]
    alpha = Image.fromarray((mask.alpha * 255).astype(np.uint8), "L")
    small = pad_to_aspect(alpha, w / h, fill=(0, 0, 0)).resize((w, h), Image.Resampling.BOX)
    return appearance_of(rendition[..., :3].reshape(-1, 3), np.asarray(small, np.float32).reshape(-1) / 255)


def recolour_with(masker: ProductMasker, image: Image.Image, colour: str, category: str | None = None,
                  source_colour: str | None = None, hint=None, mask: ProductMask | None = None,
                  garment: Garment | None = None):
    """`image` with its product recoloured to the catalogue's `colour` (on `category` products when known); on a
    worn photo only the `garment`'s product (`ml.garment`).

    hint: an `ml.palette.Appearance` a model rendered for this product (`rendition_look`), used only when the
    catalogue never showed the colour (mixed into a known colour's look it moved the result away from it: issue 22,
    docs/benchmarks.md). Returns (image, figures, mask). Raises UnknownAttributeValue when the catalogue never
    showed that colour and no hint is given.
    """
    target = masker.palette.lookup(colour, category) or hint
    if target is None:
        raise UnknownAttributeValue("colour", colour, masker.palette.colours())
    source = masker.palette.lookup(source_colour, category) if source_colour else None
    mask = mask or masker.mask(image)
    result, figures = recolour(image, mask, target, source, garment=garment)
    return result, figures, mask


def masked_recolour(masker, image: Image.Image, attrs: dict, colour_attribute: str, colours: list[str],
                    renditions: list[np.ndarray] | None = None,
                    garment: Garment | None = None) -> list[tuple[Image.Image, dict]]:
    """Each colour applied inside the product's mask (`recolour_with`): the catalogue's look of the colour on this
    category; a model's rendition of the product in that colour (`renditions`, one per colour or None) only for a
    colour the catalogue never showed. On a worn photo only the `garment`'s product. One mask for all colours.
    Returns (image, params) pairs; params carry the mask's and the garment's problems, if any, for the reviewer."""
    mask = masker.mask(image)
    category = attrs.get(category_attribute(attrs) or "")
    out = []
    for k, colour in enumerate(colours):
        hint = rendition_look(renditions[k], mask) if renditions is not None and renditions[k] is not None else None
        result, figures, _ = recolour_with(masker, image, colour, category, attrs.get(colour_attribute), hint, mask,
                                           garment)
        out.append((result, {"transfer": "mask", "mask_problems": mask.problems,
                             "garment_problems": figures["garment_problems"],
                             "main_colour_share": round(figures.get("main_share", 0.0), 3)}))
    return out


def unknown_colours(masker: ProductMasker, colours: list[str], category: str | None) -> list[bool]:
    """Which of the colours the catalogue's palette has no look for (on `category` products): only those need a
    model's rendition."""
    return [masker.palette.lookup(colour, category) is None for colour in colours]
