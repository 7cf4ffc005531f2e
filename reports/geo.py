"""Map geometry, pure: line simplification, an equal-area projection for Kazakhstan, and the
hatching and label placement of a choropleth — no drawing library, no I/O, unit-tested alone.

Coordinates are (longitude, latitude) in degrees on the way in, (x, y) in kilometres out of the
projection; a unit's shape is a list of polygons, each a list of rings (outer first, holes after),
each ring a list of points (first ≠ last: the ring closes itself).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Point = tuple[float, float]
Ring = list[Point]
Polygon = list[Ring]
Shape = list[Polygon]

EARTH_RADIUS_KM = 6371.0


def _segment_distance(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    if dx == 0 and dy == 0:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - ax - t * dx, py - ay - t * dy)


def simplify_line(points: Sequence[Point], tolerance: float) -> list[Point]:
    """Douglas–Peucker: the fewest of ``points`` (ends kept) such that no dropped point lies
    farther than ``tolerance`` from the line kept. Iterative, so a long coast cannot overflow the
    stack."""
    if len(points) < 3:
        return list(points)
    keep = [False] * len(points)
    keep[0] = keep[-1] = True
    stack = [(0, len(points) - 1)]
    while stack:
        first, last = stack.pop()
        worst, at = -1.0, -1
        for i in range(first + 1, last):
            d = _segment_distance(points[i], points[first], points[last])
            if d > worst:
                worst, at = d, i
        if at >= 0 and worst > tolerance:
            keep[at] = True
            stack += [(first, at), (at, last)]
    return [p for p, kept in zip(points, keep) if kept]


def simplify_ring(ring: Sequence[Point], tolerance: float) -> Ring:
    """A closed ring simplified, split at its point farthest from its first so that the closing
    point is no special case; at least a triangle is kept (a small island stays an island)."""
    points = list(ring[:-1]) if len(ring) > 1 and ring[0] == ring[-1] else list(ring)
    if len(points) <= 4:
        return points
    far = max(range(len(points)), key=lambda i: math.dist(points[0], points[i]))
    half = simplify_line(points[: far + 1], tolerance)
    other = simplify_line(points[far:] + [points[0]], tolerance)
    out = half[:-1] + other[:-1]
    return out if len(out) >= 3 else [points[0], points[far // 2 or 1], points[far]]


def ring_area(ring: Sequence[Point]) -> float:
    """Signed area by the shoelace formula (positive counter-clockwise)."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]]))


@dataclass(frozen=True)
class Albers:
    """Albers equal-area conic projection on a sphere (Snyder, Map Projections — A Working Manual,
    1987, eqs. 14-1 to 14-6). The defaults suit Kazakhstan (40.5–55.5° N, 46–87° E): standard
    parallels 44° and 52° N, origin 48° N 68° E, so areas are true and shapes little distorted."""

    lat1: float = 44.0
    lat2: float = 52.0
    lat0: float = 48.0
    lon0: float = 68.0
    radius: float = EARTH_RADIUS_KM

    def __post_init__(self) -> None:
        phi1, phi2 = math.radians(self.lat1), math.radians(self.lat2)
        n = (math.sin(phi1) + math.sin(phi2)) / 2
        c = math.cos(phi1) ** 2 + 2 * n * math.sin(phi1)
        object.__setattr__(self, "_n", n)
        object.__setattr__(self, "_c", c)
        object.__setattr__(self, "_rho0", self._rho(self.lat0))

    def _rho(self, lat: float) -> float:
        return self.radius * math.sqrt(self._c - 2 * self._n * math.sin(math.radians(lat))) / self._n  # type: ignore[attr-defined]

    def __call__(self, lon: float, lat: float) -> Point:
        theta = self._n * math.radians(lon - self.lon0)  # type: ignore[attr-defined]
        rho = self._rho(lat)
        return rho * math.sin(theta), self._rho0 - rho * math.cos(theta)  # type: ignore[attr-defined]


def project(shape: Shape, projection: Albers) -> Shape:
    return [[[projection(lon, lat) for lon, lat in ring] for ring in polygon] for polygon in shape]


def bbox(shapes: Iterable[Shape]) -> tuple[float, float, float, float]:
    """(min x, min y, max x, max y) of every point of ``shapes``."""
    xs, ys = [], []
    for shape in shapes:
        for polygon in shape:
            for ring in polygon:
                xs += [p[0] for p in ring]
                ys += [p[1] for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def label_point(shape: Shape) -> Point:
    """Where a unit's label goes: the centroid of its largest polygon's outer ring, or, where
    that falls outside it (a crescent), the middle of the widest horizontal run through the
    polygon at the centroid's height."""
    outer = max((polygon[0] for polygon in shape), key=lambda r: abs(ring_area(r)))
    area = ring_area(outer)
    if area == 0:
        return outer[0]
    cx = cy = 0.0
    for (x0, y0), (x1, y1) in zip(outer, [*outer[1:], outer[0]]):
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    cx, cy = cx / (6 * area), cy / (6 * area)
    runs = scanline_runs([outer], cy)
    if not runs or any(a <= cx <= b for a, b in runs):
        return cx, cy
    a, b = max(runs, key=lambda run: run[1] - run[0])
    return (a + b) / 2, cy


def scanline_runs(rings: Sequence[Ring], y: float) -> list[tuple[float, float]]:
    """The x-intervals of the horizontal line at ``y`` inside ``rings`` (even–odd rule, so holes
    are left out)."""
    xs = []
    for ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, [*ring[1:], ring[0]]):
            if (y0 <= y < y1) or (y1 <= y < y0):
                xs.append(x0 + (y - y0) * (x1 - x0) / (y1 - y0))
    xs.sort()
    return [(xs[i], xs[i + 1]) for i in range(0, len(xs) - 1, 2)]


def hatch(shape: Shape, spacing: float) -> list[tuple[Point, Point]]:
    """Diagonal (45°) hatching of ``shape``: segments ``spacing`` apart, clipped to its polygons
    — the "no data" fill of a choropleth, drawn as plain lines (no clipping path needed)."""
    root = math.sqrt(0.5)

    def turn(p: Point) -> Point:  # rotate by −45°: the hatch lines become horizontal
        return (p[0] + p[1]) * root, (p[1] - p[0]) * root

    def back(x: float, y: float) -> Point:
        return (x - y) * root, (x + y) * root

    segments = []
    for polygon in shape:
        rings = [[turn(p) for p in ring] for ring in polygon]
        low = min(p[1] for p in rings[0])
        high = max(p[1] for p in rings[0])
        y = math.floor(low / spacing) * spacing + spacing / 2
        while y < high:
            segments += [(back(a, y), back(b, y)) for a, b in scanline_runs(rings, y)]
            y += spacing
    return segments
