"""Footwear, bag and hat shapes for the procedural renderer (sneaker, boot, handbag, backpack, cap).

Same contract as :mod:`.garments`: draw in design units (300 x 400) into a Canvas. Shoes and the cap are
drawn in side view, toe (or brim) to the right; the pose may mirror them.
"""

from __future__ import annotations

import random

from .drawing import Canvas, bezier, ellipse, rounded_rect
from .garments import RGB, trim_colour

SOLE = (242, 240, 234)
METAL = (196, 160, 82)


def _shade(rgb: RGB, k: float) -> RGB:
    return tuple(int(max(0, min(255, v * k))) for v in rgb)  # type: ignore[return-value]


def draw_sneaker(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Low-top lace-up sneaker with a white cupsole."""
    toe = r.uniform(-4, 4)
    upper = bezier((40, 282), (28, 252), (30, 216), (44, 194), 10)
    upper += bezier((46, 190), (66, 192), (84, 212), (102, 206), 8)
    upper += bezier((102, 206), (118, 190), (128, 170), (144, 162), 8)
    upper += bezier((150, 168), (206, 194), (250, 216 + toe), (270, 240 + toe / 2), 14)
    upper += bezier((270, 240 + toe / 2), (284, 256), (282, 274), (274, 284), 8)
    c.fabric(upper)
    c.shade_area(bezier((48, 192), (66, 194), (84, 214), (102, 208), 8) + [(96, 216), (70, 214), (52, 202)], 60)
    sole = [(34, 276), (270, 272)] + bezier((270, 272), (286, 276), (288, 296), (270, 304), 8)
    sole += [(46, 306)] + bezier((46, 306), (30, 304), (28, 284), (34, 276), 8)
    c.part(SOLE if rgb[0] + rgb[1] + rgb[2] < 640 else (214, 214, 212), sole)
    c.seam([(36, 290), (280, 288)], 1.4, 40)
    c.stitch([(40, 272), (268, 268)], 3.5, 40)
    c.seam(bezier((146, 166), (146, 190), (140, 206), (132, 214), 8), 1.4, 45)
    c.seam(bezier((222, 216), (226, 240), (236, 260), (232, 272), 8), 1.4, 40)
    c.seam(bezier((58, 202), (74, 228), (92, 252), (96, 272), 8), 1.4, 40)
    c.seam(bezier((104, 272), (130, 236), (170, 214), (214, 212), 10), 1.6, 45)
    lace = trim_colour(rgb)
    for i in range(5):  # short bars across the lace line, which runs down to the toe at about 33 degrees
        x, y = 156 + i * 13, 178 + i * 8.4
        ax, ay, bx, by = x - 4.5, y + 7, x + 4.5, y - 7
        c.part(lace, [(ax - 1.6, ay - 1), (bx - 1.6, by - 1), (bx + 1.6, by + 1), (ax + 1.6, ay + 1)])
        c.seam(ellipse(x - 6, y + 9, 1.8, 1.8, steps=10), 1.2, 60)
    c.fold([(196, 214), (206, 240)], 5, 22)
    c.fold([(180, 212), (188, 236)], 4, -14)


def draw_boot(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Chelsea ankle boot with elastic side panel, pull tab and stacked heel."""
    top = r.uniform(78, 88)
    shaft = [(84, top), (162, top)] + bezier((162, top), (158, 150), (164, 196), (196, 214), 10)
    shaft += bezier((196, 214), (240, 224), (276, 250), (278, 286), 12) + [(276, 300), (72, 300)]
    shaft += bezier((72, 300), (64, 250), (78, 190), (84, top), 10)
    c.fabric(shaft)
    c.fabric([(86, top + 6), (84, top - 20), (100, top - 20), (100, top + 6)])
    c.shade_area([(89, top - 2), (89, top - 15), (95, top - 15), (95, top - 2)], 70)
    gusset = [(108, top)] + bezier((108, top), (118, 130), (122, 170), (126, 196), 8)
    gusset += bezier((126, 196), (132, 170), (138, 130), (148, top), 8)
    c.part(_shade(rgb, 0.5), gusset)
    c.stitch(gusset, 3.0, 35)
    c.part((46, 38, 32), [(70, 298), (282, 298), (284, 310), (70, 312)])
    c.part((56, 46, 38), [(72, 310), (118, 310), (116, 330), (76, 330)])
    c.stitch([(76, 294), (276, 294)], 3.5, 40)
    c.seam(bezier((84, top), (100, top + 2), (150, top + 2), (162, top), 6), 1.6, 50)
    c.seam(bezier((214, 228), (226, 250), (234, 276), (232, 296), 8), 1.2, 35)
    c.fold([(172, 206), (190, 226)], 6, 28)
    c.fold([(168, 214), (184, 232)], 5, -16)
    c.fold([(96, 150), (98, 270)], 10, -16)


def draw_handbag(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Structured top-handle handbag with a flap and a gold clasp."""
    arch = r.uniform(-6, 6)
    c.fabric(rounded_rect(62, 180, 238, 332, 16))
    handle = ellipse(150, 190, 54, 88 + arch, 180, 360, 32) + ellipse(150, 190, 44, 78 + arch, 360, 180, 32)
    c.fabric(handle)
    c.seam(ellipse(150, 190, 49, 83 + arch, 188, 352, 28), 1.0, 25)
    for x in (96, 204):
        c.fabric(rounded_rect(x - 8, 172, x + 8, 196, 3))
        c.seam(rounded_rect(x - 8, 172, x + 8, 196, 3) + [(x - 5, 172)], 1.2, 40)
    flap = [(62, 192), (238, 192), (238, 236)] + bezier((238, 236), (200, 258), (100, 258), (62, 236), 16)
    c.shade_area([(64, 238)] + bezier((64, 238), (100, 266), (200, 266), (236, 238), 16) + [(236, 244), (64, 244)], 40)
    c.seam(flap[2:], 1.8, 55)
    c.stitch([(68, 232)] + bezier((68, 232), (102, 250), (198, 250), (232, 232), 14))
    c.part(METAL, rounded_rect(138, 238, 162, 258, 3), shiny=True)
    c.stitch(rounded_rect(68, 186, 232, 326, 12) + [(68 + 12, 186)])
    c.fold([(80, 270), (86, 320)], 8, -14)


def draw_backpack(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Zip-top backpack with a front pocket, grab handle and visible shoulder straps."""
    w = r.uniform(-5, 5)
    c.fabric(rounded_rect(150 - 80 - w, 92, 150 + 80 + w, 342, 46))
    c.fabric([(132, 96), (134, 72), (166, 72), (168, 96)])
    c.cut([(140, 92), (141, 80), (159, 80), (160, 92)])
    c.seam(bezier((76 - w, 170), (96, 112), (204, 112), (224 + w, 170), 20), 2.2, 60)
    c.part(METAL, rounded_rect(196, 122, 202, 142, 2), shiny=True)
    pocket = rounded_rect(96, 222, 204, 330, 22)
    c.shade_area([(96, 222), (204, 222), (204, 232), (96, 232)], 30)
    c.seam(pocket + [pocket[0]], 1.8, 50)
    c.seam([(104, 238), (196, 238)], 2.0, 60)
    c.part(METAL, rounded_rect(178, 242, 184, 262, 2), shiny=True)
    c.stitch(rounded_rect(76 - w, 100, 224 + w, 334, 40)[::2])
    c.fold([(110, 180), (118, 212)], 6, 22)
    c.fold([(190, 180), (184, 212)], 6, 22)


def draw_cap(c: Canvas, r: random.Random, rgb: RGB) -> None:
    """Six-panel baseball cap, three-quarter side view, brim to the right."""
    tilt = r.uniform(-4, 4)
    crown = ellipse(140, 250, 94, 98, 180, 360, 40) + ellipse(140, 250, 94, 10, 0, 180, 24)
    c.fabric(crown)
    brim = bezier((206, 236), (244, 226 + tilt), (284, 236 + tilt), (294, 258 + tilt), 12)
    brim += bezier((294, 258 + tilt), (276, 272 + tilt), (236, 268), (206, 258), 12)
    c.fabric(brim)
    c.shade_area([(210, 256), (260, 262 + tilt), (292, 260 + tilt), (276, 270 + tilt), (206, 262)], 70)
    c.seam(brim[:13], 1.2, 30)
    for bend in (-58, -20, 22, 64):
        panel = bezier((140, 153), (140 + bend * 0.9, 170), (140 + bend * 1.2, 220), (140 + bend * 1.1, 256), 12)
        c.seam(panel, 1.4, 45)
    c.stitch(ellipse(140, 244, 90, 8, 0, 180, 20), 3.5)
    c.part(_shade(rgb, 0.82), ellipse(140, 152, 8, 4.5, steps=20))
    for x, y in ((96, 190), (176, 186)):
        c.seam(ellipse(x, y, 2.4, 2.0, steps=12), 1.3, 70)
    c.fold([(80, 200), (104, 170)], 12, -18)
