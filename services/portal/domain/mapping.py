"""The risk map's geometry (一图可知), pure: WGS-84 points projected onto a picture of the area
(equirectangular, longitudes scaled by the cosine of the middle latitude: true enough at a
city's or a province's scale), and clustered by picture cell when the view is zoomed out.
Coordinates are WGS-84 as registry stores them; GCJ-02 input (Chinese web maps' offset datum)
is registry's to convert on the way in, so no offset is applied here."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

GRADE_COLOURS = {"A": "#1a7f37", "B": "#0b5cad", "C": "#d4a72c", "D": "#cf222e", None: "#8c959f"}
WORST_FIRST = ("D", "C", "B", "A", None)


@dataclass(frozen=True)
class Point:
    key: str
    lat: float
    lon: float
    grade: str | None
    label: str = ""


@dataclass
class Cluster:
    x: float
    y: float
    points: list[Point] = field(default_factory=list)

    @property
    def worst(self) -> str | None:
        """A cluster shows its riskiest grade: a D among many As must not vanish."""
        grades = {p.grade for p in self.points}
        return next(g for g in WORST_FIRST if g in grades)

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for p in self.points:
            found[p.grade or "ungraded"] = found.get(p.grade or "ungraded", 0) + 1
        return found


@dataclass(frozen=True)
class Frame:
    """What part of the earth the picture shows, and its size in pixels."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    width: int

    @property
    def height(self) -> int:
        middle = math.radians((self.min_lat + self.max_lat) / 2)
        span_x = (self.max_lon - self.min_lon) * math.cos(middle)
        return max(1, round(self.width * (self.max_lat - self.min_lat) / span_x)) if span_x > 0 else self.width

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        x = (lon - self.min_lon) / (self.max_lon - self.min_lon) * self.width
        y = (self.max_lat - lat) / (self.max_lat - self.min_lat) * self.height
        return x, y

    def holds(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon

    def overlaps(self, ring: Sequence[tuple[float, float]]) -> bool:
        """Whether the box around a ring of (lon, lat) reaches into the view."""
        if not ring:
            return False
        lons, lats = [lon for lon, _ in ring], [lat for _, lat in ring]
        return (min(lons) <= self.max_lon and max(lons) >= self.min_lon
                and min(lats) <= self.max_lat and max(lats) >= self.min_lat)

    @property
    def span_m(self) -> float:
        """How wide the view is on the ground, in metres."""
        middle = math.radians((self.min_lat + self.max_lat) / 2)
        return (self.max_lon - self.min_lon) * 111_320.0 * math.cos(middle)

    def path(self, ring: Sequence[tuple[float, float]]) -> str:
        """A ring of (lon, lat) as SVG path data in the picture's pixels."""
        corners = [self.xy(lat, lon) for lon, lat in ring]
        return "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in corners) + "Z" if corners else ""


def frame_around(points: Sequence[Point], width: int, margin: float = 0.05, least_deg: float = 0.01) -> Frame:
    """The smallest frame holding every point, with a margin (a lone point gets ``least_deg``),
    between square and twice as wide as tall."""
    if not points:
        return Frame(119.0, 35.0, 119.8, 35.8, width)  # 日照市, when there is nothing to show
    lats, lons = [p.lat for p in points], [p.lon for p in points]
    span_lat = max(max(lats) - min(lats), least_deg)
    span_lon = max(max(lons) - min(lons), least_deg)
    scale = math.cos(math.radians((max(lats) + min(lats)) / 2))
    span_lon = max(span_lon, span_lat / scale)  # never taller than wide: a screen's shape
    span_lat = max(span_lat, span_lon * scale / 2)  # nor more than twice as wide as tall
    pad_lat, pad_lon = span_lat * margin, span_lon * margin
    mid_lat, mid_lon = (max(lats) + min(lats)) / 2, (max(lons) + min(lons)) / 2
    return Frame(mid_lon - span_lon / 2 - pad_lon, mid_lat - span_lat / 2 - pad_lat,
                 mid_lon + span_lon / 2 + pad_lon, mid_lat + span_lat / 2 + pad_lat, width)


def cluster(points: Sequence[Point], frame: Frame, cell_px: int) -> list[Cluster]:
    """Points inside the frame, grouped by ``cell_px`` square cells (0: every point alone); each
    cluster sits at its points' mean position."""
    cells: dict[tuple[int, int] | int, list[tuple[float, float, Point]]] = {}
    for n, p in enumerate(points):
        if not frame.holds(p.lat, p.lon):
            continue
        x, y = frame.xy(p.lat, p.lon)
        key: tuple[int, int] | int = (int(x // cell_px), int(y // cell_px)) if cell_px > 0 else n
        cells.setdefault(key, []).append((x, y, p))
    return [Cluster(x=sum(x for x, _, _ in members) / len(members), y=sum(y for _, y, _ in members) / len(members),
                    points=[p for _, _, p in members]) for members in cells.values()]
