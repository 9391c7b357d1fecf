"""One garment, not the outfit: in a photo of a product worn by a model, only the product named by the category
changes, not every garment of its colour (the jeans under a grey T-shirt, the black trousers under a black shirt).

Where a category's product sits on a person is learned from the shop's own catalogue (`LayoutLearner`): over the
worn photos of each category, each garment pixel (the mask's product class) is placed in the person's box (the
foreground's bounding box, normalised to 0..1 both ways) and counted as the product when it is of the product's
labelled colour, as another garment when it is clearly of another colour. The map `P(the product | a garment here)` of a category
(`Garment.prior`) then says, for a new photo, which of the colour region's connected pieces are the product:

- a piece mostly where the category's product sits changes, a piece mostly elsewhere does not;
- a piece that reaches from one into the other is cut at the row where its colour changes (a grey T-shirt over
  faded jeans, which the colour parts join as one colour in light and shade); one with no such row (a black shirt
  over black trousers) is cut where the map says the product ends, and the result carries a problem for the
  reviewer ("needs a look").

Packshots (no person in the mask) and categories the catalogue never showed worn are left as they are.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from .backdrop import connected_from
from .guided import box_mean
from .masker import ProductMask
from .vocab import spelling_key

GRID = (32, 24)  # (rows, cols) of a layout map over the person's box: 3:4 like the photos
WORN = 0.01  # a mask with more person (skin, hair) than this share of the photo shows the product worn
MIN_PHOTOS = 8  # a category learned from fewer worn photos has no map (its layout is noise)
PSEUDO = 2.0  # photos' worth of the category's overall rate mixed into each cell: few sightings stay near it
WORK_SIDE = 128  # the colour region is split into pieces at most this many px a side
PRODUCT, OTHER = 0.5, 0.3  # a piece's pixels with a prior above PRODUCT are the product's place, under OTHER another's
LOW = 0.45  # a whole piece with a mean prior under this is another garment's (the maps are soft where framing varies:
# a T-shirt photo's bottom rows are the T-shirt in some photos and jeans in others, about 0.35)
MIXED = 0.2  # a piece with at least this share at the product's place ...
REACHES = 0.08  # ... and this share where the map is APART below its most product-like place spans two places
APART = 0.35  # (relative to the piece's own 90th percentile: the maps are soft, their heights differ by category)
FAR_APART = 0.45  # a piece that reaches this far below with no colour change to cut at is flagged
MAX_PIECES = 64  # pieces looked at one by one (the largest); the rest follow the map pixel by pixel


def is_worn(mask: ProductMask) -> bool:
    """Whether the photo shows the product on a person (the mask finds skin or hair)."""
    return float(mask.person.mean()) > WORN


def person_box(mask: ProductMask) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right), exclusive ends, of the foreground (product and person); None when empty."""
    fg = mask.foreground > 0.5
    rows, cols = np.flatnonzero(fg.any(axis=1)), np.flatnonzero(fg.any(axis=0))
    if len(rows) < 2 or len(cols) < 2:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def to_grid(values: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The mean of `values` (H, W) in each cell of GRID laid over the box."""
    top, bottom, left, right = box
    crop = Image.fromarray(values[top:bottom, left:right].astype(np.float32), "F")
    return np.asarray(crop.resize(GRID[::-1], Image.Resampling.BOX), np.float32)


def from_grid(grid: np.ndarray, box: tuple[int, int, int, int], shape: tuple[int, int]) -> np.ndarray:
    """A GRID map stretched over the box of an (H, W) photo; zero outside the box."""
    top, bottom, left, right = box
    out = np.zeros(shape, np.float32)
    small = Image.fromarray(grid.astype(np.float32), "F").resize((right - left, bottom - top),
                                                                 Image.Resampling.BILINEAR)
    out[top:bottom, left:right] = np.asarray(small)
    return out


@dataclass
class Separation:
    """What `Garment.confine` decided: how much each pixel may change, and the problems a reviewer should see."""

    gate: np.ndarray  # (H, W) in [0, 1]
    problems: list[str] = field(default_factory=list)
    pieces: dict = field(default_factory=dict)  # "product" / "other" / "split" / "mixed" -> count of big pieces


@dataclass
class Garment:
    """Where one category's product sits on a person: `prior` (GRID) = P(the product | a garment pixel here)."""

    category: str
    prior: np.ndarray  # GRID float in [0, 1]
    photos: int  # worn photos it was learned from

    def place(self, mask: ProductMask) -> np.ndarray | None:
        """(H, W) the prior over this photo's person box; None for a packshot or an empty mask."""
        box = person_box(mask) if is_worn(mask) else None
        return None if box is None else from_grid(self.prior, box, mask.alpha.shape)

    def confine(self, region: np.ndarray, mask: ProductMask, lab: np.ndarray) -> Separation:
        """How much each pixel of the colour region (H, W, bool: the pixels about to change) may change so that
        only this category's product does; all ones for a packshot. lab: the photo in OKLab (H, W, 3), to split a
        piece that spans two garments by their colours."""
        place = self.place(mask)
        if place is None or not region.any():
            return Separation(np.ones(region.shape, np.float32))
        small = _shrink(region.astype(np.float32), region.shape) > 0.5
        gate, kinds = _judge_pieces(small, _shrink(place, region.shape), _shrink(lab, region.shape))
        separation = Separation(_grow(gate, small, region.shape), pieces=kinds)
        name = self.category
        if kinds["mixed"]:
            separation.problems.append(
                f"the product ({name}) could not be separated from another garment of the same colour: only "
                f"where the catalogue's {name} sit on a model was changed, and the line between them is a guess")
        elif not kinds["product"] and not kinds["split"]:
            separation.problems.append(f"none of the chosen colour is where the catalogue's {name} sit on a "
                                       f"model: nothing was changed (choose the product's colour part)")
        return separation


def _shrink(values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """values (H, W) or (H, W, c) averaged down to at most WORK_SIDE px a side."""
    scale = min(1.0, WORK_SIDE / max(shape))
    size = (max(1, round(shape[1] * scale)), max(1, round(shape[0] * scale)))
    if values.ndim == 3:
        return np.stack([_shrink(values[..., c], shape) for c in range(values.shape[2])], axis=-1)
    return np.asarray(Image.fromarray(values.astype(np.float32), "F").resize(size, Image.Resampling.BOX))


def _grow(gate: np.ndarray, region: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The gate (decided on the reduced region) at the photo's size (H, W). Just outside the reduced region it
    takes its nearest pieces' value first: the full-size region's own edge pixels follow their piece (a kept
    piece of another garment keeps its outline too)."""
    known = region.astype(np.float32)
    near = box_mean(gate * known, 2) / np.maximum(box_mean(known, 2), 1e-6)
    filled = np.where(region, gate, np.where(box_mean(known, 2) > 0, near, gate))
    big = Image.fromarray(filled.astype(np.float32), "F").resize(shape[::-1], Image.Resampling.BILINEAR)
    return np.clip(np.asarray(big), 0.0, 1.0).astype(np.float32)


def _share(pixels: np.ndarray) -> bool:
    """Whether at least REACHES of a piece's pixels are these."""
    return float(pixels.mean()) >= REACHES


def _judge_pieces(region: np.ndarray, place: np.ndarray, lab: np.ndarray) -> tuple[np.ndarray, dict]:
    """Each connected piece of the region: the product's (gate 1), another garment's (0), or both. A piece that
    reaches from the product's place into another's is cut where its colour changes (a grey T-shirt over faded
    jeans, one colour part in light and shade); without such a change (a black shirt over black trousers) it is cut
    where the map says the product ends, and the reviewer is told."""
    gate = (place >= LOW).astype(np.float32)  # pieces beyond MAX_PIECES (specks) follow the map
    kinds = {"product": 0, "other": 0, "split": 0, "mixed": 0}
    for piece in _pieces(region):
        here = place[piece]
        big = piece.sum() >= 0.02 * region.sum()
        top = float(np.percentile(here, 90))  # the piece's most product-like place
        spans = big and float((here >= PRODUCT).mean()) >= MIXED
        cut = _cut_by_colour(piece, place, lab, top - APART) if spans and _share(here < top - APART) else None
        if cut is not None:
            gate[piece] = cut[piece]
            kinds["split"] += 1
        elif spans and _share(here < top - FAR_APART) and _legs(piece, place, top - FAR_APART):
            gate[piece] = _cut_by_map(piece, place, top - APART)[piece]  # one colour, two garments: reviewer told
            kinds["mixed"] += 1
        else:
            keep = spans or float(here.mean()) >= LOW
            gate[piece] = 1.0 if keep else 0.0
            kinds["product" if keep else "other"] += int(big)
    return gate, kinds


STEP = 0.03  # OKLab distance (L at half weight) between the rows above and below a cut that tells two garments apart
BAND = 8  # rows on each side of a cut whose colours are compared
EDGE = 0.7  # the cut goes where the change first reaches this share of its largest step


def _cut_by_colour(piece: np.ndarray, place: np.ndarray, lab: np.ndarray, other: float) -> np.ndarray | None:
    """The product's side (H, W, bool) of the row where the piece's colour changes most, among the rows outside
    the heart of the product's place; None when no row there changes colour by STEP, or when the side cut off is
    not mostly where the map puts another garment (its mean under `other` + 0.1): a check or a stripe is no cut."""
    rows = np.flatnonzero(piece.sum(axis=1) >= 2)
    if len(rows) < 2 * BAND:
        return None
    weight = piece[rows].astype(np.float32)
    count = weight.sum(axis=1)
    colour = (lab[rows] * np.array([0.5, 1.0, 1.0], np.float32) * weight[..., None]).sum(axis=1) / count[:, None]
    where = (place[rows] * weight).sum(axis=1) / count
    steps = np.zeros(len(rows))
    for k in range(BAND, len(rows) - BAND):
        if where[k] <= PRODUCT + 0.15:  # well inside the product's place it is its own print or trim
            above = np.average(colour[k - BAND: k], axis=0, weights=count[k - BAND: k])
            below = np.average(colour[k: k + BAND], axis=0, weights=count[k: k + BAND])
            steps[k] = float(np.linalg.norm(above - below))
    if steps.max() < STEP:
        return None
    best = int(np.argmax(steps))
    product_above = where[:best].mean() >= where[best:].mean()
    # the garments meet where the colour starts to change, seen from the product's side
    strong = np.flatnonzero(steps >= EDGE * steps[best])
    best = int(strong.min() if product_above else strong.max())
    upper = np.zeros(piece.shape, bool)
    upper[: rows[best]] = True
    mine = upper if product_above else ~upper
    return mine if float(place[piece & ~mine].mean()) < other + 0.1 else None


def _rows_place(piece: np.ndarray, place: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows the piece covers and the map's mean over the piece in each."""
    rows = np.flatnonzero(piece.any(axis=1))
    return rows, (place[rows] * piece[rows]).sum(axis=1) / piece[rows].sum(axis=1)


def _legs(piece: np.ndarray, place: np.ndarray, other: float) -> bool:
    """Whether the piece's rows where the map is under `other` mostly cross it twice (two legs: trousers, leggings,
    shorts) rather than once (a T-shirt's own hem, cropped by the frame where trousers usually are)."""
    rows, where = _rows_place(piece, place)
    low = rows[where < other]
    if len(low) == 0:
        return False
    edges = np.diff(piece[low].astype(np.int8), axis=1, prepend=0) == 1  # where each run of the piece starts
    return float((edges.sum(axis=1) >= 2).mean()) >= 0.3


def _cut_by_map(piece: np.ndarray, place: np.ndarray, other: float) -> np.ndarray:
    """The product's rows (H, W, bool) of the piece: from the row where the map over the piece is highest, up and
    down to the first row where it falls under `other`: straight lines at the waist, not the map's blocky edge."""
    rows, where = _rows_place(piece, place)
    heart = int(np.argmax(where))
    below = next((k for k in range(heart, len(rows)) if where[k] < other), None)
    above = next((k for k in range(heart, -1, -1) if where[k] < other), None)
    mine = np.zeros(piece.shape, bool)
    mine[rows[above] + 1 if above is not None else 0: rows[below] if below is not None else piece.shape[0]] = True
    return mine


def _pieces(region: np.ndarray) -> list[np.ndarray]:
    """The region's 4-connected pieces (boolean masks), largest first, at most MAX_PIECES of them."""
    left, out = region.copy(), []
    while left.any() and len(out) < 4 * MAX_PIECES:
        seed = np.zeros_like(left)
        seed.flat[int(np.argmax(left))] = True
        piece = connected_from(seed, left, max_rounds=4 * max(left.shape))
        out.append(piece)
        left &= ~piece
    return sorted(out, key=lambda p: -int(p.sum()))[:MAX_PIECES]


def confined(weight: np.ndarray, mask: ProductMask, lab: np.ndarray,
             garment: Garment | None) -> tuple[np.ndarray, list[str]]:
    """`weight` (H, W: how much each pixel changes) kept only on the garment's product, and the problems found;
    unchanged without a garment (a category never seen worn) or for a packshot. lab: the photo in OKLab."""
    if garment is None:
        return weight, []
    separation = garment.confine((weight > 0.5) & (mask.foreground > 0.5), mask, lab)
    return weight * separation.gate, separation.problems


class GarmentLayout:
    """Every learned category's `Garment`, looked up by category name in any spelling."""

    def __init__(self, garments: dict[str, Garment]):
        self.garments = {spelling_key(k): g for k, g in garments.items()}

    def garment(self, category: str | None) -> Garment | None:
        """The category's Garment, or None when the catalogue never showed it worn often enough."""
        return self.garments.get(spelling_key(category)) if category else None

    def to_dict(self) -> dict:
        return {"grid": list(GRID), "categories": {
            g.category: {"photos": g.photos, "prior": np.round(g.prior.astype(np.float64), 3).tolist()}
            for g in self.garments.values()}}

    @classmethod
    def from_dict(cls, data: dict) -> "GarmentLayout":
        if tuple(data.get("grid", ())) != GRID:
            raise ValueError(f"a garment layout of grid {data.get('grid')} cannot be read (expected {list(GRID)})")
        return cls({name: Garment(name, np.asarray(c["prior"], np.float32), int(c["photos"]))
                    for name, c in data["categories"].items()})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()))

    @classmethod
    def load(cls, path: str | Path) -> "GarmentLayout":
        return cls.from_dict(json.loads(Path(path).read_text()))


class LayoutLearner:
    """Counts, per category, where worn photos have garment pixels and which of them are the named product."""

    def __init__(self):
        self.garment: dict[str, np.ndarray] = {}  # category -> GRID sum over photos of the garment share per cell
        self.product: dict[str, np.ndarray] = {}  # the same for the product's pixels
        self.photos: dict[str, int] = {}

    def add(self, category: str, mask: ProductMask, product: np.ndarray, other: np.ndarray | None = None) -> bool:
        """Count one photo: `product` (H, W, bool) are the garment pixels of the product's own colour, `other` those
        surely of another garment (default: every other garment pixel; pixels in neither are not counted). False
        (not counted) for a packshot."""
        box = person_box(mask) if is_worn(mask) else None
        if box is None:
            return False
        garment = mask.alpha > 0.5
        mine = garment & product
        counted = mine | (garment & (other if other is not None else ~product))
        zero = np.zeros(GRID, np.float32)
        self.garment[category] = self.garment.get(category, zero) + to_grid(counted.astype(np.float32), box)
        self.product[category] = self.product.get(category, zero) + to_grid(mine.astype(np.float32), box)
        self.photos[category] = self.photos.get(category, 0) + 1
        return True

    def layout(self) -> GarmentLayout:
        """The maps of categories seen worn in at least MIN_PHOTOS photos."""
        garments = {}
        for category, n in self.photos.items():
            if n < MIN_PHOTOS:
                continue
            g, p = self.garment[category], self.product[category]
            overall = float(p.sum() / max(g.sum(), 1e-6))
            garments[category] = Garment(category, (p + PSEUDO * overall) / (g + PSEUDO), n)
        return GarmentLayout(garments)
