"""The map's jurisdiction outlines (domain/outlines.py): the hull, its padding on the ground, the
degenerate cases (no point, one, two, points on a line, the same point twice) and the grouping
by district or grid."""

from __future__ import annotations

import math
import random

import pytest

from services.portal.domain.outlines import (
    METRES_PER_DEGREE,
    SIDES,
    convex_hull,
    cross,
    district_of,
    outlines,
    padded_hull,
)

RIZHAO = (119.52, 35.42)


def _metres(points, middle_lat):  # type: ignore[no-untyped-def]
    """Local metres east and north of RIZHAO (the same scaling the padding uses)."""
    scale = math.cos(math.radians(middle_lat))
    return [((lon - RIZHAO[0]) * METRES_PER_DEGREE * scale, (lat - RIZHAO[1]) * METRES_PER_DEGREE)
            for lon, lat in points]


def _clearance(ring, points):  # type: ignore[no-untyped-def]
    """The least distance, in metres, from any point to any edge of the ring (negative: outside)."""
    middle = sum(lat for _, lat in points) / len(points)
    corners, inside = _metres(ring, middle), _metres(points, middle)
    least = math.inf
    for (ax, ay), (bx, by) in zip(corners, corners[1:], strict=False):
        length = math.hypot(bx - ax, by - ay)
        for px, py in inside:  # signed: positive on the left of a counter-clockwise edge
            least = min(least, ((bx - ax) * (py - ay) - (by - ay) * (px - ax)) / length)
    return least


def _area(ring):  # type: ignore[no-untyped-def]
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(ring, ring[1:], strict=False)) / 2


def test_the_hull_keeps_the_corners_and_drops_what_lies_inside_or_on_an_edge():
    square = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    assert convex_hull([*square, (1.0, 1.0), (1.0, 0.0), (0.0, 0.0)]) == square  # counter-clockwise
    assert convex_hull([(0.0, 0.0), (1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]) == [(0.0, 0.0), (3.0, 3.0)]
    assert convex_hull([(5.0, 5.0), (5.0, 5.0)]) == [(5.0, 5.0)] and convex_hull([]) == []
    assert cross((0, 0), (1, 0), (1, 1)) > 0 > cross((0, 0), (1, 0), (1, -1))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_point_lies_inside_the_padded_ring_at_least_the_margin_from_its_edge(seed):
    rng = random.Random(seed)
    points = [(RIZHAO[0] + rng.uniform(-0.3, 0.3), RIZHAO[1] + rng.uniform(-0.2, 0.2)) for _ in range(60)]
    ring = padded_hull(points, 800.0)
    assert ring[0] == ring[-1] and _area(ring) > 0  # closed, counter-clockwise (RFC 7946)
    assert 800.0 - 1e-6 <= _clearance(ring, points) <= 800.0 / math.cos(math.pi / SIDES) + 1e-6
    assert all(cross(a, b, c) > 0 for a, b, c in zip(ring, ring[1:], ring[2:] + ring[1:2], strict=False))  # convex


@pytest.mark.parametrize("points", [
    pytest.param([RIZHAO], id="one point"),
    pytest.param([RIZHAO, RIZHAO, RIZHAO], id="one point thrice"),
    pytest.param([RIZHAO, (RIZHAO[0] + 0.01, RIZHAO[1])], id="two points"),
    pytest.param([(RIZHAO[0] + k * 0.002, RIZHAO[1] + k * 0.001) for k in range(6)], id="points on a line"),
])
def test_degenerate_sets_still_get_a_rounded_outline_around_them(points):
    ring = padded_hull(points, 120.0)
    assert len(ring) >= SIDES + 1 and ring[0] == ring[-1] and _area(ring) > 0
    assert _clearance(ring, points) >= 120.0 - 1e-6


def test_a_lone_point_gets_a_regular_polygon_of_the_margin():
    ring = padded_hull([RIZHAO], 100.0)
    distances = [math.hypot(x, y) for x, y in _metres(ring, RIZHAO[1])]
    assert len(ring) == SIDES + 1 and max(distances) - min(distances) < 1e-6
    assert distances[0] == pytest.approx(100.0 / math.cos(math.pi / SIDES))
    assert padded_hull([], 100.0) == []


@pytest.mark.parametrize(("code", "district"), [
    ("371102", "371102"), ("371102001", "371102"), ("371102001001", "371102"), ("371100", "371100"),
    ("370000", "370000"),
])
def test_a_unit_counts_in_the_district_its_jurisdiction_lies_in(code, district):
    assert district_of(code) == district


def test_units_are_outlined_by_district_or_by_grid():
    units = [("371102", "371102001001", 35.42, 119.52), ("371102001", "371102001002", 35.43, 119.53),
             ("371103", None, 35.10, 119.35), (None, None, 35.0, 119.0)]
    by_district = outlines(units, "jurisdiction")
    assert [(o.code, o.units) for o in by_district] == [("371102", 2), ("371103", 1)]
    assert by_district[0].centre == pytest.approx((119.525, 35.425))
    assert [(o.code, o.units) for o in outlines(units, "grid")] == [("371102001001", 1), ("371102001002", 1)]
    assert outlines([], "grid") == []
