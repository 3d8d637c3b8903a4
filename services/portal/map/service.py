"""Use cases of the risk map: the units as GeoJSON or as a clustered SVG picture over the
outlines of their jurisdictions, the outlines as GeoJSON, and one unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.portal import access
from services.portal.context import PortalContext
from services.portal.domain.mapping import GRADE_COLOURS, WORST_FIRST, Frame, Point, cluster, frame_around
from services.portal.domain.outlines import Outline, outlines
from services.portal.errors import forbidden, not_found
from services.portal.map import repository as repo
from services.portal.models import EnterpriseRow
from shared.locality import level_of

GRID_VIEW_M = 15_000.0  # a view this narrow (a town's streets) outlines grids rather than districts


@dataclass(frozen=True)
class DrawnOutline:
    """An outline as the SVG draws it: its path and where its name goes, in pixels."""

    code: str
    name: str
    units: int
    d: str
    label_x: float
    label_y: float


async def _units(ctx: PortalContext, filters: dict[str, Any], node: str | None) -> list[EnterpriseRow]:
    return await repo.units(ctx.session, node=node, grades=filters.get("grades"), category=filters.get("category"),
                            key_supervision=filters.get("key_supervision"))


async def _outlines(ctx: PortalContext, node: str | None, level: str) -> tuple[list[Outline], dict[str, str]]:
    found = outlines(await repo.located(ctx.session, node), level)
    return found, await repo.jurisdiction_names(ctx.session, [o.code for o in found])


async def outline_features(ctx: PortalContext, level: str, jurisdiction: str | None) -> dict[str, Any]:
    """The outlines of the districts (or grids) of the caller's subtree, as GeoJSON polygons."""
    node = access.regulator_node(ctx.principal, jurisdiction)
    found, names = await _outlines(ctx, node, level)
    return {"type": "FeatureCollection", "level": level, "features": [{
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [[[round(lon, 6), round(lat, 6)] for lon, lat in o.ring]]},
        "properties": {"code": o.code, "name": names.get(o.code), "level": level_of(o.code), "units": o.units,
                       "label_point": [round(o.centre[0], 6), round(o.centre[1], 6)]}} for o in found]}


async def features(ctx: PortalContext, filters: dict[str, Any]) -> dict[str, Any]:
    rows = await _units(ctx, filters, access.regulator_node(ctx.principal, filters.get("jurisdiction")))
    located = [r for r in rows if r.lat is not None and r.lon is not None]
    alerts = await repo.open_alert_counts(ctx.session, [r.uscc for r in located])
    return {"type": "FeatureCollection", "tile_url": ctx.settings.map_tile_url or None,
            "unlocated": len(rows) - len(located),
            "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
                          "properties": {"uscc": r.uscc, "name": r.name, "grade": r.grade,
                                         "colour": GRADE_COLOURS.get(r.grade, GRADE_COLOURS[None]),
                                         "key_supervision": r.key_supervision,
                                         "jurisdiction_code": r.jurisdiction_code,
                                         "open_alerts": alerts.get(r.uscc, 0),
                                         "detail": f"/api/v1/units/{r.uscc}"}} for r in located]}


def _frame(bbox: str | None, points: list[Point], width: int) -> Frame:
    """The view asked for (its pattern checked by the route): each pair put in order and held to
    the earth's ranges, a view of no extent widened a little."""
    if not bbox:
        return frame_around(points, width)
    lon_a, lat_a, lon_b, lat_b = (float(v) for v in bbox.split(","))
    west, east = sorted(max(-180.0, min(180.0, v)) for v in (lon_a, lon_b))
    south, north = sorted(max(-90.0, min(90.0, v)) for v in (lat_a, lat_b))
    if east - west < 1e-6 or north - south < 1e-6:
        return frame_around([Point("", (south + north) / 2, (west + east) / 2, None)], width)
    return Frame(west, south, east, north, width)


def _drawn(frame: Frame, found: list[Outline], names: dict[str, str]) -> list[DrawnOutline]:
    """Each outline in view in pixels, its name just above its top, outside it (kept inside the
    picture): the points, drawn over the names, rarely reach there."""
    drawn = []
    for o in found:
        if not frame.overlaps(o.ring):
            continue
        x, _ = frame.xy(o.centre[1], o.centre[0])
        top = min(frame.xy(lat, lon)[1] for lon, lat in o.ring)
        drawn.append(DrawnOutline(code=o.code, name=names.get(o.code, o.code), units=o.units, d=frame.path(o.ring),
                                  label_x=min(max(x, 60.0), frame.width - 60.0),
                                  label_y=min(max(top - 5, 14.0), frame.height - 4.0)))
    return drawn


async def picture(ctx: PortalContext, filters: dict[str, Any], *, bbox: str | None, width: int,
                  cell_px: int, outline_level: str = "auto") -> str:
    """The map as SVG: a circle per unit (or per cluster, sized by its count and coloured by
    its riskiest grade), each linking to the unit's detail; the riskiest drawn last, on top.
    Under them the outlines of the districts, or of the grids when the view is a town's
    (``outline_level`` "auto"), each with its name."""
    node = access.regulator_node(ctx.principal, filters.get("jurisdiction"))
    rows = await _units(ctx, filters, node)
    points = [Point(r.uscc, r.lat, r.lon, r.grade, r.name or r.uscc) for r in rows
              if r.lat is not None and r.lon is not None]
    frame = _frame(bbox, points, width)
    clusters = sorted(cluster(points, frame, cell_px), key=lambda c: WORST_FIRST.index(c.worst), reverse=True)
    if outline_level == "auto":
        outline_level = "grid" if frame.span_m <= GRID_VIEW_M else "jurisdiction"
    drawn = [] if outline_level == "none" else _drawn(frame, *await _outlines(ctx, node, outline_level))
    return ctx.render("map.svg", frame=frame, clusters=clusters, colours=GRADE_COLOURS, outlines=drawn,
                      outline_level=outline_level, legend=[
                          ("A", "低风险"), ("B", "一般风险"), ("C", "较高风险"), ("D", "高风险"), (None, "暂未评级")])


async def unit(ctx: PortalContext, uscc: str) -> dict[str, Any]:
    row = await repo.unit(ctx.session, uscc)
    if row is None:
        raise not_found("unit", uscc)
    access.regulator_node(ctx.principal, None)
    if not ctx.principal.covers(row.jurisdiction_code):
        raise forbidden(f"this unit lies outside your jurisdiction ({ctx.principal.jurisdiction})")
    return {"uscc": row.uscc, "name": row.name, "jurisdiction_code": row.jurisdiction_code, "grid_code": row.grid_code,
            "venue_type": row.venue_type, "kinds": row.kinds, "key_supervision": row.key_supervision,
            "location": {"lat": row.lat, "lon": row.lon} if row.lat is not None and row.lon is not None else None,
            "grade": row.grade, "score": row.score, "scored_at": row.scored_at,
            "grade_history": [{"grade": h.grade, "since": h.since} for h in await repo.history(ctx.session, uscc)],
            "open_alerts": [{"alert_id": a.alert_id, "kind": a.kind, "action": a.action, "status": a.status,
                             "raised_at": a.raised_at} for a in await repo.open_alerts(ctx.session, uscc)],
            "equipment_categories": await repo.categories(ctx.session, uscc)}
