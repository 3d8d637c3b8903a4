"""SLA deadlines and escalation up the jurisdiction tree (三级网络: grid → township → district →
city). An alert whose SLA passes unresolved moves to the node above the one responsible, with
the escalation SLA, until the policy's top level."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from services.enforcement.domain.policy import Due
from shared.locality import BUSINESS_TIMEZONE, level_of, parent_of

LEVELS = ("grid", "township", "district", "city", "province")


def due_at(due: Due, start: datetime) -> datetime:
    """When an SLA that starts at ``start`` runs out: after its hours, or at the end of the
    business day (Asia/Shanghai midnight) ``start`` falls in."""
    if due.end_of_day:
        local = start.astimezone(BUSINESS_TIMEZONE)
        return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=BUSINESS_TIMEZONE)
    assert due.hours is not None
    return start + timedelta(hours=due.hours)


def is_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and now >= due


def first_responsible(grid_code: str | None, jurisdiction_code: str | None) -> str | None:
    """The node an alert is first addressed to: the enterprise's grid, else its jurisdiction."""
    return grid_code or jurisdiction_code


def escalation_target(node: str | None, top: str) -> str | None:
    """The node above ``node``, or None when ``node`` is already at (or above) ``top``."""
    if node is None:
        return None
    level = level_of(node)
    if level is None or level not in LEVELS or LEVELS.index(level) >= LEVELS.index(top):
        return None
    return parent_of(node)
