"""The dashboards' queries, each scoped to a jurisdiction subtree (None: everywhere)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import AlertRow, EnterpriseRow, GradeChange, TaskOutcome
from shared.locality import jurisdiction_prefix


def _within(query: Any, node: str | None) -> Any:
    query = query.where(EnterpriseRow.revision > 0)
    return query.where(EnterpriseRow.jurisdiction_code.like(jurisdiction_prefix(node) + "%")) if node else query


async def grades(session: AsyncSession, node: str | None) -> list[tuple[str, str | None]]:
    rows = await session.execute(_within(select(EnterpriseRow.jurisdiction_code, EnterpriseRow.grade), node))
    return [(r[0] or "", r[1]) for r in rows]


async def grade_changes(session: AsyncSession, node: str | None,
                        until: datetime) -> list[tuple[str, str, str, datetime]]:
    query = (select(GradeChange.uscc, GradeChange.grade, EnterpriseRow.jurisdiction_code, GradeChange.since)
             .join(EnterpriseRow, EnterpriseRow.uscc == GradeChange.uscc).where(GradeChange.since <= until))
    return [(r[0], r[1], r[2] or "", r[3]) for r in await session.execute(_within(query, node))]


async def alert_counts(session: AsyncSession, node: str | None) -> list[tuple[str, str, int]]:
    query = (select(AlertRow.kind, AlertRow.status, func.count())
             .join(EnterpriseRow, EnterpriseRow.uscc == AlertRow.uscc)
             .group_by(AlertRow.kind, AlertRow.status).order_by(AlertRow.kind, AlertRow.status))
    return [(r[0], r[1], int(r[2])) for r in await session.execute(_within(query, node))]


async def task_outcomes(session: AsyncSession, node: str | None, start: date, end: date) -> list[tuple[str, bool]]:
    query = (select(EnterpriseRow.jurisdiction_code, TaskOutcome.completed)
             .join(EnterpriseRow, EnterpriseRow.uscc == TaskOutcome.uscc)
             .where(TaskOutcome.due_date >= start, TaskOutcome.due_date <= end))
    return [(r[0] or "", bool(r[1])) for r in await session.execute(_within(query, node))]
