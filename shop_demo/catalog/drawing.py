"""Drawing primitives for the procedural product renderer.

Shapes are drawn in *design units*: a 300 x 400 box (3:4, x right, y down) that a :class:`Canvas` maps
onto the supersampled pixel grid with the product's pose (scale, rotation, offset, mirror). Because the pose
lives in the mapping, nothing is ever rotated as a raster, so edges stay crisp before the final downsample.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

DESIGN_W, DESIGN_H = 300.0, 400.0
NEUTRAL = 128  # value of the shade layers where nothing is darkened or lit

Point = tuple[float, float]


@dataclass(frozen=True)
class Pose:
    """Where the product sits in the frame: ``origin`` (design units) lands at the frame centre moved by
    (dx, dy) design units, scaled, rotated ``angle`` degrees, mirrored left-right about the origin."""

    origin: tuple[float, float] = (DESIGN_W / 2, DESIGN_H / 2)
    scale: float = 1.0
    angle: float = 0.0
    dx: float = 0.0
    dy: float = 0.0
    mirror: bool = False


@dataclass
class Part:
    """A region of a second material (sole, button, buckle) drawn over the fabric in a fixed colour."""

    rgb: tuple[int, int, int]
    mask: Image.Image
    shiny: bool = False


@dataclass
class Canvas:
    """Layers a shape draws into, in design units; see the module docstring."""

    size: tuple[int, int]
    pose: Pose
    fabric_mask: Image.Image = field(init=False)
    folds: Image.Image = field(init=False)
    seams: Image.Image = field(init=False)
    parts: list[Part] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        w, h = self.size
        self.px = min(w / DESIGN_W, h / DESIGN_H) * self.pose.scale  # pixels per design unit
        rad = math.radians(self.pose.angle)
        self._cos, self._sin = math.cos(rad), math.sin(rad)
        self._centre = (w / 2 + self.pose.dx * self.px, h / 2 + self.pose.dy * self.px)
        self.fabric_mask = Image.new("L", self.size, 0)
        self.folds = Image.new("L", self.size, NEUTRAL)
        self.seams = Image.new("L", self.size, NEUTRAL)

    # -- coordinates -------------------------------------------------------------------------------
    def pt(self, x: float, y: float) -> Point:
        """Map a design point to pixels."""
        x, y = (x - self.pose.origin[0]) * self.px, (y - self.pose.origin[1]) * self.px
        if self.pose.mirror:
            x = -x
        cx, cy = self._centre
        return (cx + x * self._cos - y * self._sin, cy + x * self._sin + y * self._cos)

    def pts(self, points: Iterable[Point]) -> list[Point]:
        """Map a sequence of design points to pixels."""
        return [self.pt(x, y) for x, y in points]

    def design_grid(self, box: tuple[int, int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        """Design coordinates (u, v) of the pixel centres in ``box``, for patterns that move with the product."""
        ys, xs = np.mgrid[box[1] : box[3], box[0] : box[2]].astype(np.float32)
        cx, cy = self._centre
        x, y = xs + 0.5 - cx, ys + 0.5 - cy
        u = (x * self._cos + y * self._sin) / self.px
        v = (-x * self._sin + y * self._cos) / self.px
        if self.pose.mirror:
            u = -u
        return u + self.pose.origin[0], v + self.pose.origin[1]

    # -- drawing -----------------------------------------------------------------------------------
    def fabric(self, points: Sequence[Point]) -> None:
        """Fill a polygon with the product's fabric."""
        ImageDraw.Draw(self.fabric_mask).polygon(self.pts(points), fill=255)

    def cut(self, points: Sequence[Point]) -> None:
        """Remove a polygon from the fabric (the hole inside a handle)."""
        ImageDraw.Draw(self.fabric_mask).polygon(self.pts(points), fill=0)

    def part(self, rgb: tuple[int, int, int], points: Sequence[Point], shiny: bool = False) -> None:
        """Fill a polygon with another material, drawn over the fabric."""
        mask = Image.new("L", self.size, 0)
        ImageDraw.Draw(mask).polygon(self.pts(points), fill=255)
        self.parts.append(Part(rgb, mask, shiny))

    def fold(self, points: Sequence[Point], width: float, strength: int = 40) -> None:
        """A soft crease: positive strength darkens, negative lights; blurred later."""
        self._line(self.folds, points, width, NEUTRAL - strength)

    def shade_area(self, points: Sequence[Point], strength: int = 40) -> None:
        """Darken (or, with negative strength, light) a whole area softly: an inside, an underside."""
        ImageDraw.Draw(self.folds).polygon(self.pts(points), fill=max(0, min(255, NEUTRAL - strength)))

    def seam(self, points: Sequence[Point], width: float = 1.4, strength: int = 55) -> None:
        """A sharp seam or edge line (slightly blurred later)."""
        self._line(self.seams, points, width, NEUTRAL - strength)

    def stitch(self, points: Sequence[Point], dash: float = 4.0, strength: int = 35) -> None:
        """A dashed stitch line along a polyline."""
        for a, b in _dashes(points, dash):
            self._line(self.seams, [a, b], 1.0, NEUTRAL - strength)

    def _line(self, layer: Image.Image, points: Sequence[Point], width: float, value: int) -> None:
        value = max(0, min(255, value))
        xy = self.pts(points)
        w = max(1, round(width * self.px))
        draw = ImageDraw.Draw(layer)
        draw.line(xy, fill=value, width=w, joint="curve")
        r = w / 2
        for x, y in (xy[0], xy[-1]):  # round caps
            draw.ellipse((x - r, y - r, x + r, y + r), fill=value)


# -- geometry helpers (design units) -----------------------------------------------------------------
def bezier(p0: Point, p1: Point, p2: Point, p3: Point, steps: int = 16) -> list[Point]:
    """Points along a cubic Bezier curve, excluding the start point."""
    out = []
    for i in range(1, steps + 1):
        t = i / steps
        a, b, c, d = (1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t**3
        out.append((a * p0[0] + b * p1[0] + c * p2[0] + d * p3[0], a * p0[1] + b * p1[1] + c * p2[1] + d * p3[1]))
    return out


def ellipse(
    cx: float, cy: float, rx: float, ry: float, start: float = 0, end: float = 360, steps: int = 48
) -> list[Point]:
    """Points on an ellipse arc, angles in degrees (0 = right, 90 = down)."""
    n = max(2, int(steps * abs(end - start) / 360) + 1)
    out = []
    for i in range(n):
        t = math.radians(start + (end - start) * i / (n - 1))
        out.append((cx + rx * math.cos(t), cy + ry * math.sin(t)))
    return out


def rounded_rect(x0: float, y0: float, x1: float, y1: float, r: float) -> list[Point]:
    """A rounded rectangle as a polygon."""
    return (
        ellipse(x1 - r, y0 + r, r, r, -90, 0, 16)
        + ellipse(x1 - r, y1 - r, r, r, 0, 90, 16)
        + ellipse(x0 + r, y1 - r, r, r, 90, 180, 16)
        + ellipse(x0 + r, y0 + r, r, r, 180, 270, 16)
    )


def mirror_x(points: Sequence[Point]) -> list[Point]:
    """Reflect points about the vertical centre line, reversing their order (for symmetric garments)."""
    return [(DESIGN_W - x, y) for x, y in reversed(points)]


def _dashes(points: Sequence[Point], dash: float) -> list[tuple[Point, Point]]:
    out: list[tuple[Point, Point]] = []
    on = True
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        n = max(1, int(length / dash))
        for i in range(n):
            if on:
                t0, t1 = i / n, (i + 1) / n
                out.append(((x0 + (x1 - x0) * t0, y0 + (y1 - y0) * t0), (x0 + (x1 - x0) * t1, y0 + (y1 - y0) * t1)))
            on = not on
    return out
