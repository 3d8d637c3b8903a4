"""Use cases of the risk map: the units as GeoJSON or as a clustered SVG picture, and one unit."""

from __future__ import annotations

from typing import Any

from services.portal import access
from services.portal.context import PortalContext
from services.portal.domain.mapping import GRADE_COLOURS, WORST_FIRST, Frame, Point, cluster, frame_around
from services.portal.errors import forbidden, not_found
from services.portal.map import repository as repo
from services.portal.models import EnterpriseRow


async def _units(ctx: PortalContext, filters: dict[str, Any]) -> list[EnterpriseRow]:
    node = access.regulator_node(ctx.principal, filters.get("jurisdiction"))
    return await repo.units(ctx.session, node=node, grades=filters.get("grades"), category=filters.get("category"),
                            key_supervision=filters.get("key_supervision"))


async def features(ctx: PortalContext, filters: dict[str, Any]) -> dict[str, Any]:
    rows = await _units(ctx, filters)
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


async def picture(ctx: PortalContext, filters: dict[str, Any], *, bbox: str | None, width: int,
                  cell_px: int) -> str:
    """The map as SVG: a circle per unit (or per cluster, sized by its count and coloured by
    its riskiest grade), each linking to the unit's detail; the riskiest drawn last, on top."""
    rows = await _units(ctx, filters)
    points = [Point(r.uscc, r.lat, r.lon, r.grade, r.name or r.uscc) for r in rows
              if r.lat is not None and r.lon is not None]
    frame = _frame(bbox, points, width)
    clusters = sorted(cluster(points, frame, cell_px), key=lambda c: WORST_FIRST.index(c.worst), reverse=True)
    return ctx.render("map.svg", frame=frame, clusters=clusters, colours=GRADE_COLOURS, legend=[
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
