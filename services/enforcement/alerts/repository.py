"""Every query about alerts: by cause (the merge key), by id (locked for a transition), the
filtered, scoped list, overdue ones for the SLA sweep, and the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.access import AlertScope
from services.enforcement.domain.lifecycle import OPEN
from services.enforcement.models import Alert, AlertStep, MissingRecordsDay
from services.enforcement.projection.repository import members_of
from shared.locality import jurisdiction_prefix


async def by_cause(session: AsyncSession, uscc: str, kind: str, cause_key: str) -> Alert | None:
    return (await session.execute(select(Alert).where(
        Alert.enterprise_uscc == uscc, Alert.kind == kind, Alert.cause_key == cause_key).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()


async def get(session: AsyncSession, alert_id: str, *, for_update: bool = False) -> Alert | None:
    return await session.get(Alert, alert_id, with_for_update=for_update, populate_existing=for_update)


def _in_subtree(code: str) -> Any:
    return Alert.location_code.startswith(jurisdiction_prefix(code), autoescape=True)


async def search(session: AsyncSession, scope: AlertScope, filters: dict[str, Any], *, limit: int,
                 after: tuple[datetime, str] | None) -> list[Alert]:
    """Newest first, keyset by (raised_at, id)."""
    statement = select(Alert)
    if scope.node:
        statement = statement.where(_in_subtree(scope.node))
    if scope.enterprise:
        statement = statement.where(Alert.enterprise_uscc == scope.enterprise)
    if scope.addressed_to:
        statement = statement.where(Alert.addressed_to == scope.addressed_to)
    if scope.association:
        statement = statement.where(Alert.enterprise_uscc.in_(members_of(scope.association)))
    if filters.get("jurisdiction"):
        statement = statement.where(_in_subtree(filters["jurisdiction"]))
    for name, column in (("enterprise", Alert.enterprise_uscc), ("status", Alert.status), ("kind", Alert.kind),
                         ("action", Alert.action), ("grade", Alert.grade)):
        if filters.get(name) is not None:
            statement = statement.where(column == filters[name])
    if after is not None:
        moment, last_id = after
        statement = statement.where(or_(Alert.raised_at < moment, and_(Alert.raised_at == moment, Alert.id < last_id)))
    statement = statement.order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


async def open_of_enterprise(session: AsyncSession, uscc: str) -> list[Alert]:
    return list((await session.execute(select(Alert).where(
        Alert.enterprise_uscc == uscc, Alert.status.in_(OPEN)).with_for_update())).scalars())


async def waiting_for_inspectors(session: AsyncSession, grid_code: str) -> list[Alert]:
    """Open alerts of a grid addressed to its inspectors that nobody was dispatched to yet."""
    return list((await session.execute(select(Alert).where(
        Alert.grid_code == grid_code, Alert.status == "raised", Alert.addressed_to == "grid_inspectors",
        Alert.escalation_level == 0).with_for_update())).scalars())


MISSING_RECORDS = "filling_records_missing"  # the alert kind a missing-records day raises


async def overdue(session: AsyncSession, now: datetime, limit: int) -> list[Alert]:
    """Open alerts whose SLA passed, oldest due first, locked (skipped when another replica holds them)."""
    return list((await session.execute(select(Alert).where(
        Alert.status.in_(OPEN), Alert.due_at.is_not(None), Alert.due_at <= now)
        .order_by(Alert.due_at, Alert.id).limit(limit).with_for_update(skip_locked=True))).scalars())


async def unalerted_missing_days(session: AsyncSession, found_before: datetime, limit: int
                                 ) -> list[MissingRecordsDay]:
    """Missing-records days the cut-off found before ``found_before``, still without records and
    without their alert: the score.updated that raises it has not come."""
    day = MissingRecordsDay
    alerted = select(Alert.id).where(
        Alert.enterprise_uscc == day.uscc, Alert.kind == MISSING_RECORDS,
        Alert.cause_key == cast(day.business_date, String)).exists()
    return list((await session.execute(select(day).where(
        day.missing_event_id.is_not(None), day.arrived_at.is_(None), day.withdrawn_at.is_(None),
        day.cutoff_at < found_before, ~alerted)
        .order_by(day.cutoff_at, day.uscc).limit(limit))).scalars())


async def history(session: AsyncSession, alert_id: str) -> list[AlertStep]:
    return list((await session.execute(select(AlertStep).where(AlertStep.alert_id == alert_id)
                                       .order_by(AlertStep.id))).scalars())
