"""Jurisdiction outlines for the risk map, pure. Registry's jurisdiction nodes carry no boundary
(their rectangles only check coordinates, and are not published), so a jurisdiction is outlined
by where its units are: the convex hull of their points, padded on the ground by a margin. An
outline says where a jurisdiction's units lie, not its legal boundary: neighbours' outlines may
overlap, and land without units is left out."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shared.locality import level_of

METRES_PER_DEGREE = 111_320.0  # of latitude; of longitude times the cosine of the latitude
SIDES = 16  # each point padded by a regular 16-gon: round enough at a map's scale
MARGIN_M = {"jurisdiction": 800.0, "grid": 120.0}  # a district spans tens of km, a grid a few

LonLat = tuple[float, float]


@dataclass(frozen=True)
class Outline:
    code: str
    ring: list[LonLat]  # closed (first == last), counter-clockwise: RFC 7946's exterior ring
    units: int
    centre: LonLat  # the mean of its units' points: always inside the outline


def cross(o: LonLat, a: LonLat, b: LonLat) -> float:
    """Positive when o → a → b turns left (counter-clockwise)."""
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def convex_hull(points: Iterable[LonLat]) -> list[LonLat]:
    """The hull's corners, counter-clockwise from the lowest-leftmost, not closed (Andrew's
    monotone chain); points on an edge are dropped. Fewer than three distinct points, or points
    on one line, give the extreme points only."""
    unique = sorted(set(points))
    if len(unique) < 3:
        return unique
    lower: list[LonLat] = []
    for p in unique:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[LonLat] = []
    for p in reversed(unique):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def padded_hull(points: Sequence[LonLat], margin_m: float) -> list[LonLat]:
    """A closed counter-clockwise ring holding every point at least ``margin_m`` metres inside:
    the hull of a regular polygon around each point (so one point, two, or points on a line get
    a rounded outline too). Degrees of longitude are scaled at the points' middle latitude. No
    points: no ring."""
    if not points:
        return []
    middle = math.radians(sum(lat for _, lat in points) / len(points))
    radius = margin_m / math.cos(math.pi / SIDES)  # the polygon's inner radius is the margin
    d_lat = radius / METRES_PER_DEGREE
    d_lon = d_lat / max(math.cos(middle), 1e-6)
    corners = [(math.cos(2 * math.pi * k / SIDES), math.sin(2 * math.pi * k / SIDES)) for k in range(SIDES)]
    ring = convex_hull((lon + d_lon * cx, lat + d_lat * cy) for lon, lat in points for cx, cy in corners)
    return ring + ring[:1]


def district_of(jurisdiction_code: str) -> str:
    """The district or county (6 digits) a unit's jurisdiction lies in; a city or province
    itself when the unit is registered that high."""
    below_city = level_of(jurisdiction_code) in ("district", "township", "grid")
    return jurisdiction_code[:6] if below_city else jurisdiction_code


def outlines(units: Iterable[tuple[str | None, str | None, float, float]], level: str) -> list[Outline]:
    """One outline per district (``level`` "jurisdiction") or per grid ("grid") holding units,
    from (jurisdiction_code, grid_code, lat, lon); units without a grid have no grid outline.
    Ordered by code."""
    groups: dict[str, list[LonLat]] = {}
    for jurisdiction_code, grid_code, lat, lon in units:
        code = grid_code if level == "grid" else district_of(jurisdiction_code) if jurisdiction_code else None
        if code:
            groups.setdefault(code, []).append((lon, lat))
    return [Outline(code=code, ring=padded_hull(points, MARGIN_M[level]), units=len(points),
                    centre=(sum(lon for lon, _ in points) / len(points), sum(lat for _, lat in points) / len(points)))
            for code, points in sorted(groups.items())]
