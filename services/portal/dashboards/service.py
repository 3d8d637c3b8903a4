"""Use cases of the dashboards: each answers for the caller's subtree (or a node inside it)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from services.portal import access
from services.portal.context import PortalContext
from services.portal.dashboards import repository as repo
from services.portal.domain.statistics import empty_counts, held_on, last_days, rate, tally
from shared.locality import BUSINESS_TIMEZONE, business_date, child_node


def scope(ctx: PortalContext, jurisdiction: str | None) -> str | None:
    return access.regulator_node(ctx.principal, jurisdiction)


def _nodes(node: str | None, rows: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return [(child_node(node, code) if code else "unknown", value) for code, value in rows]


async def grade_distribution(ctx: PortalContext, jurisdiction: str | None) -> dict[str, Any]:
    node = scope(ctx, jurisdiction)
    rows = await repo.grades(ctx.session, node)
    total = tally(("all", g) for _, g in rows).get("all", empty_counts())
    return {"jurisdiction": node, "total": total,
            "nodes": [{"jurisdiction_code": c, "counts": n} for c, n in tally(_nodes(node, rows)).items()]}


async def grade_trend(ctx: PortalContext, jurisdiction: str | None, months: int) -> dict[str, Any]:
    node = scope(ctx, jurisdiction)
    today = ctx.today()
    until = datetime.combine(today + timedelta(days=1), time(), tzinfo=BUSINESS_TIMEZONE)
    changes = [(u, g, business_date(since)) for u, g, _, since in await repo.grade_changes(ctx.session, node, until)]
    points = []
    for month, day in last_days(today, months):
        grades = held_on(changes, day)
        points.append({"month": month, "on_date": day,
                       "counts": tally(("all", g) for g in grades.values()).get("all", empty_counts())})
    return {"jurisdiction": node, "points": points}


async def alert_summary(ctx: PortalContext, jurisdiction: str | None) -> dict[str, Any]:
    node = scope(ctx, jurisdiction)
    return {"jurisdiction": node, "items": [{"kind": k, "status": s, "count": n}
                                            for k, s, n in await repo.alert_counts(ctx.session, node)]}


async def self_inspection(ctx: PortalContext, jurisdiction: str | None, start: date | None,
                          end: date | None) -> dict[str, Any]:
    node = scope(ctx, jurisdiction)
    end = end or ctx.today()
    start = start or end - timedelta(days=29)
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for bucket, done in _nodes(node, await repo.task_outcomes(ctx.session, node, start, end)):
        per[bucket][0] += 1
        per[bucket][1] += done
    due, completed = sum(v[0] for v in per.values()), sum(v[1] for v in per.values())
    return {"jurisdiction": node, "from_date": start, "to_date": end, "due": due, "completed": completed,
            "rate": rate(completed, due),
            "nodes": [{"jurisdiction_code": c, "due": d, "completed": k, "rate": rate(k, d)}
                      for c, (d, k) in sorted(per.items())]}
