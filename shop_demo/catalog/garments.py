"""Flat-lay garment shapes for the procedural renderer (tee, shirt, hoodie, dress, skirt, trousers, shorts).

Each ``draw_*`` function draws one garment, front view, into a :class:`~.drawing.Canvas` in design units
(300 x 400). ``r`` varies the cut a little (sleeve angle, length, fold positions) so no two photos match.
Symmetric garments are drawn as a left half and mirrored.
"""

from __future__ import annotations

import random

from .drawing import Canvas, Point, bezier, ellipse, mirror_x

RGB = tuple[int, int, int]


def trim_colour(rgb: RGB) -> RGB:
    """A button or drawstring colour that reads against ``rgb``."""
    lum = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    return (236, 233, 224) if lum < 150 else (52, 50, 54)


def _symmetric(c: Canvas, left: list[Point]) -> None:
    c.fabric(left + mirror_x(left))


def _both(c: Canvas, points: list[Point], method: str, *args: object, **kw: object) -> None:
    getattr(c, method)(points, *args, **kw)
    getattr(c, method)(mirror_x(points), *args, **kw)


def _soft_folds(c: Canvas, r: random.Random, x0: float, x1: float, y0: float, y1: float, n: int = 3) -> None:
    """A few diagonal creases with a highlight beside each, the way cloth lies on a table."""
    for _ in range(n):
        x, y = r.uniform(x0, x1), r.uniform(y0, y1)
        dx, dy = r.uniform(-22, 22), r.uniform(25, 60)
        w = r.uniform(4, 8)
        c.fold([(x, y), (x + dx * 0.5, y + dy * 0.5 + 3), (x + dx, y + dy)], w, r.randint(20, 34))
        c.fold([(x + w, y + 2), (x + w + dx, y + dy + 2)], w * 0.8, -r.randint(10, 18))


def draw_tee(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Short-sleeved crew-neck tee."""
    hem, spread = r.uniform(318, 334), r.uniform(-6, 6)
    left = bezier((150, 82), (138, 82), (128, 78), (122, 72), 8) + [
        (88, 86), (38 - spread, 136 + spread), (64 - spread, 166 + spread), (92, 146)
    ] + bezier((92, 146), (89, 200), (96, 260), (94, hem), 12) + [(150, hem + 3)]
    _symmetric(c, left)
    neck = bezier((122, 72), (128, 98), (172, 98), (178, 72), 16)
    c.shade_area([(122, 72), (150, 80), (178, 72)] + neck[::-1], 55)
    c.seam([(122, 72)] + neck, 1.6)
    c.stitch([(124, 80)] + bezier((124, 80), (132, 102), (168, 102), (176, 80), 12))
    _both(c, [(88, 86), (86, 114), (92, 146)], "seam", 1.2, 35)
    _both(c, [(42 - spread, 143 + spread), (67 - spread, 160 + spread)], "stitch")
    c.stitch([(96, hem - 7), (150, hem - 4), (204, hem - 7)])
    _soft_folds(c, r, 105, 190, 150, 260)


def draw_shirt(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Long-sleeved button-up shirt with a collar and a curved hem."""
    hem, spread = r.uniform(330, 342), r.uniform(-8, 8)
    left = [(150, 66), (124, 62), (86, 84), (44 - spread, 180), (26 - spread, 262), (52 - spread, 270),
            (70 - spread * 0.5, 196), (94, 146)] + bezier((94, 146), (92, 220), (96, 280), (96, hem - 18), 12)
    left += bezier((96, hem - 18), (100, hem + 6), (130, hem + 10), (150, hem + 8), 10)
    _symmetric(c, left)
    collar = [(124, 62), (112, 76), (116, 112), (150, 92)]
    _both(c, collar, "seam", 1.8, 70)
    c.shade_area([(128, 66), (150, 72), (172, 66), (150, 92)], 60)
    _both(c, [(117, 114), (148, 96)], "fold", 6, 40)
    _both(c, [(116, 80), (120, 104)], "fold", 6, -18)
    _both(c, [(30 - spread, 246), (55 - spread, 254)], "seam", 1.4, 45)
    _both(c, [(86, 84), (84, 120), (94, 146)], "seam", 1.2, 35)
    for x in (144, 156):
        c.seam([(x, 96), (x, hem - 2)], 1.0, 30)
    for y in range(110, int(hem) - 20, 44):
        c.part(trim_colour(rgb), ellipse(150, y, 3.6, 3.6, steps=20), shiny=True)
    c.stitch(bezier((98, hem - 26), (102, hem - 4), (130, hem), (146, hem), 10))
    _soft_folds(c, r, 100, 190, 130, 280, 4)


def draw_hoodie(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Pull-over hoodie with a hood, drawstrings, kangaroo pocket and ribbed hem."""
    hem, spread = r.uniform(326, 336), r.uniform(-6, 6)
    left = ellipse(150, 80, 48, 46, 270, 180, 20) + [(102, 96), (80, 104), (38 - spread, 200), (24 - spread, 268),
                                                     (56 - spread, 276), (72 - spread * 0.5, 206), (90, 156), (92, hem)]
    left += [(150, hem)]
    _symmetric(c, left)
    opening = ellipse(150, 92, 30, 28, 0, 360, 40)
    c.shade_area(opening, 60)
    c.seam(opening, 1.8, 50)
    for side in (1, -1):
        x = 150 + side * 10
        c.part(trim_colour(rgb), [(x - 1.6, 112), (x + 1.6, 112), (x + 1.6 + side * 3, 178), (x - 1.6 + side * 3, 178)])
    pocket = [(110, 300), (114, 246), (186, 246), (190, 300)]
    c.seam(pocket, 1.4, 45)
    c.shade_area([(114, 246), (186, 246), (184, 250), (116, 250)], 25)
    _both(c, [(114, 246), (104, 276), (110, 300)], "seam", 1.4, 45)
    c.seam([(92, hem - 18), (208, hem - 18)], 1.4, 45)
    _both(c, [(28 - spread, 250), (58 - spread, 258)], "seam", 1.4, 45)
    _both(c, [(80, 104), (80, 130), (90, 156)], "seam", 1.2, 35)
    _soft_folds(c, r, 100, 190, 160, 240, 3)


def draw_dress(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Sleeveless fit-and-flare dress with a scoop neck and a gathered skirt."""
    flare, hem = r.uniform(40, 58), r.uniform(362, 374)
    left = bezier((150, 108), (136, 108), (124, 96), (120, 70), 10) + [(118, 44), (106, 44)]
    left += bezier((106, 44), (106, 80), (100, 104), (96, 120), 8)
    left += bezier((96, 120), (100, 146), (106, 160), (106, 180), 8)
    left += bezier((106, 180), (90, 250), (flare + 10, 330), (flare, hem), 14)
    left += [(100, hem + 5), (150, hem + 2)]
    _symmetric(c, left)
    c.seam(bezier((106, 180), (130, 186), (170, 186), (194, 180), 12), 1.6, 45)
    _both(c, bezier((106, 44), (106, 80), (100, 104), (96, 120), 8), "stitch")
    for i, x in enumerate((118, 134, 150, 166, 182)):
        lean = (x - 150) * r.uniform(1.6, 2.2)
        c.fold([(x, 192), (x + lean * 0.5, 280), (x + lean, hem - 6)], r.uniform(6, 10), 28 + 6 * (i % 2))
        c.fold([(x + 8, 196), (x + 8 + lean, hem - 4)], 6, -16)


def draw_skirt(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """A-line skirt with a waistband and soft pleats."""
    hem, flare = r.uniform(318, 334), r.uniform(50, 64)
    left = [(150, 84), (96, 84), (96, 104)] + bezier((96, 104), (84, 180), (flare + 8, 260), (flare, hem), 12)
    left += bezier((flare, hem), (90, hem + 8), (120, hem + 10), (150, hem + 10), 10)
    _symmetric(c, left)
    c.seam([(96, 104), (204, 104)], 1.6, 50)
    c.part(trim_colour(rgb), ellipse(186, 94, 4, 4, steps=20), shiny=True)
    c.seam([(174, 104), (176, 160)], 1.2, 35)
    for i, x in enumerate((112, 131, 150, 169, 188)):
        lean = (x - 150) * r.uniform(1.1, 1.5)
        c.fold([(x, 110), (x + lean, hem)], r.uniform(6, 9), 26 + 6 * (i % 2))
        c.fold([(x + 7, 112), (x + 7 + lean, hem)], 5, -14)


def _legged(c: Canvas, r: random.Random, rgb: RGB, hem: float, hem_w: float, gap: float) -> None:
    """Shared cut of trousers and shorts: waistband, fly, pockets, creases."""
    inner = 150 - gap
    outer = inner - hem_w
    left = [(150, 56), (90, 56)] + bezier((90, 56), (86, 90), (80, 130), (82, 172), 8)
    left += [(outer, hem), (inner, hem), (150, 180)]
    _symmetric(c, left)
    c.seam([(90, 74), (210, 74)], 1.6, 50)
    c.part(trim_colour(rgb), ellipse(150, 65, 4.5, 4.5, steps=20), shiny=True)
    c.stitch([(160, 76), (160, 132), (150, 146)])
    c.seam([(150, 74), (150, 176)], 1.2, 40)
    _both(c, [(90, 80), (116, 122)], "seam", 1.4, 45)
    for x in (106, 134):
        _both(c, [(x, 56), (x, 76)], "seam", 1.2, 35)
    mid = (outer + inner) / 2
    _both(c, [(120, 190), (mid, hem - 8)], "fold", 6, 24)
    _both(c, [(126, 190), (mid + 6, hem - 8)], "fold", 5, -14)
    _both(c, [(outer + 2, hem - 8), (inner - 1, hem - 8)], "stitch")
    _both(c, [(132, 150), (146, 180)], "fold", 5, 26)


def draw_trousers(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Straight-leg trousers with belt loops, a fly and pressed creases."""
    _legged(c, r, rgb, r.uniform(368, 378), r.uniform(48, 54), 12)


def draw_shorts(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Chino shorts: the trousers' cut, cropped above the knee with wider legs."""
    hem = r.uniform(246, 256)
    hem_w = r.uniform(64, 70)
    _legged(c, r, rgb, hem, hem_w, 5)
    _both(c, [(146 - hem_w, hem - 18), (146, hem - 18)], "seam", 1.4, 40)
