"""What a named colour looks like on this shop's products: the catalogue's own palette, in OKLab.

"Navy Blue" on a shirt is not a fixed sRGB triple: it is whatever the shop's navy shirts look like. For every
colour name (and every colour x category with enough products) the palette keeps the median OKLab colour of the
products' pixels and the typical spread of their lightness (folds and shading), measured on the catalogue's own
photos through their product masks. Recolouring reads its target from here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .colour import srgb_to_oklab
from .vocab import spelling_key

ANY = "*"
CHROMATIC = 0.03  # OKLab chroma above which a product counts as coloured (greys and whites are below)
MIN_PRODUCTS = 5  # fewer products of a colour x category than this: the colour's all-category entry is used
PRIOR_PRODUCTS = 10  # a category's look is shrunk towards the colour's all-category look as if from this many


@dataclass
class Appearance:
    """A colour as products show it: OKLab L, a, b (medians) and the spread of L within a product."""

    L: float
    a: float
    b: float
    spread: float = 0.08

    @property
    def lab(self) -> np.ndarray:
        return np.array([self.L, self.a, self.b])

    def mix(self, other: "Appearance", weight: float) -> "Appearance":
        """(1 - weight) * self + weight * other, field by field."""
        return Appearance(*((1 - weight) * np.array(self.as_list()) + weight * np.array(other.as_list())))

    def as_list(self) -> list[float]:
        return [self.L, self.a, self.b, self.spread]


def appearance_of(pixels_rgb: np.ndarray, weights: np.ndarray | None = None) -> Appearance | None:
    """The Appearance of (n, 3) sRGB pixels in [0, 1]; None for fewer than 20 pixels."""
    if len(pixels_rgb) < 20:
        return None
    lab = srgb_to_oklab(pixels_rgb)
    if weights is not None:
        lab = lab[weights > 0.5]
        if len(lab) < 20:
            return None
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    if np.median(chroma) > CHROMATIC:  # a coloured product: its colour is its saturated half, not its white
        lab = lab[chroma >= np.percentile(chroma, 50)]  # print, its stitching or its shadows
    q25, q75 = np.percentile(lab[:, 0], [25, 75])
    L, a, b = np.median(lab, axis=0)
    return Appearance(float(L), float(a), float(b), float(max((q75 - q25) / 1.35, 0.01)))


def _typical(rows: np.ndarray) -> list[float]:
    """A colour's typical look from per-product (L, a, b, spread) rows: medians, except chroma, taken at the 70th
    percentile along the median hue, since faded, washed and shadowed products pull a median towards grey while
    the name says how the colour looks when it is clearly that colour."""
    L, a, b, spread = np.median(rows, axis=0)
    if np.hypot(a, b) < CHROMATIC / 2:  # black, white, grey: no hue to saturate along
        return [float(L), float(a), float(b), float(spread)]
    chroma = np.percentile(np.hypot(rows[:, 1], rows[:, 2]), 70)
    hue = np.arctan2(b, a)
    return [float(L), float(chroma * np.cos(hue)), float(chroma * np.sin(hue)), float(spread)]


class ColourPalette:
    """colour -> category -> Appearance (plus count), with an all-category entry per colour; names are keyed by
    `ml.vocab.spelling_key` (key below)."""

    def __init__(self, entries: dict[str, dict[str, list[float]]] | None = None, names: dict[str, str] | None = None):
        self.entries = entries or {}  # key(colour) -> {key(category) or ANY: [L, a, b, spread, count]}
        self.names = names or {}  # key(colour) -> the catalogue's spelling

    @classmethod
    def build(cls, images: np.ndarray, targets: np.ndarray, colours: list[str] | None,
              categories: list[str] | None = None) -> "ColourPalette":
        """From uint8 photos (n, h, w, 3) and their mask targets (n, h, w, 3: background, product, person)."""
        if not colours:
            return cls()
        groups: dict[tuple[str, str], list[list[float]]] = {}
        names = {}
        for i, colour in enumerate(colours):
            look = appearance_of(images[i].reshape(-1, 3) / 255.0, targets[i, ..., 1].reshape(-1))
            if look is None or not colour:
                continue
            names[spelling_key(colour)] = str(colour)
            for cat in (ANY, spelling_key(categories[i]) if categories else ANY):
                groups.setdefault((spelling_key(colour), cat), []).append(look.as_list())
        entries: dict[str, dict[str, list[float]]] = {}
        for (colour, cat), rows in groups.items():
            if cat == ANY or len(rows) >= MIN_PRODUCTS:
                entries.setdefault(colour, {})[cat] = _typical(np.array(rows)) + [len(rows)]
        return cls(entries, names)

    def colours(self) -> list[str]:
        """The colour names the palette knows, in the catalogue's spelling."""
        return sorted(self.names.get(k, k) for k in self.entries)

    def knows(self, colour: str) -> bool:
        return spelling_key(colour) in self.entries

    def lookup(self, colour: str, category: str | None = None) -> Appearance | None:
        """The colour's appearance on this category's products (or on all products); None if never seen.

        A category's own look is shrunk towards the colour's look on all products by its number of products n,
        weight n / (n + PRIOR_PRODUCTS): a handful of navy kurtas, half of them printed, no longer make navy grey,
        while a category with hundreds of products keeps its own look.
        """
        entry = self.entries.get(spelling_key(colour))
        if not entry:
            return None
        everywhere = Appearance(*entry[ANY][:4])
        row = entry.get(spelling_key(category))  # [L, a, b, spread, products]; the key of None is "", no category
        if not row:
            return everywhere
        return everywhere.mix(Appearance(*row[:4]), row[4] / (row[4] + PRIOR_PRODUCTS))

    def to_dict(self) -> dict:
        return {"entries": self.entries, "names": self.names}

    @classmethod
    def from_dict(cls, data: dict) -> "ColourPalette":
        return cls(data.get("entries", {}), data.get("names", {}))
