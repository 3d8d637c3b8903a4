"""Every query about patrols: one patrol (locked for a change), its marks and findings, the
scoped, filtered list."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.access import Scope
from services.enforcement.models import Finding, Patrol, PatrolMark
from shared.locality import jurisdiction_prefix


async def get(session: AsyncSession, patrol_id: str, *, for_update: bool = False) -> Patrol | None:
    return await session.get(Patrol, patrol_id, with_for_update=for_update, populate_existing=for_update)


async def marks(session: AsyncSession, patrol_id: str) -> list[PatrolMark]:
    return list((await session.execute(select(PatrolMark).where(PatrolMark.patrol_id == patrol_id)
                                       .order_by(PatrolMark.item))).scalars())


async def mark(session: AsyncSession, patrol_id: str, item: int) -> PatrolMark | None:
    return await session.get(PatrolMark, (patrol_id, item))


async def findings(session: AsyncSession, patrol_id: str) -> list[Finding]:
    return list((await session.execute(select(Finding).where(Finding.patrol_id == patrol_id)
                                       .order_by(Finding.created_at, Finding.id))).scalars())


async def get_finding(session: AsyncSession, finding_id: str, *, for_update: bool = False) -> Finding | None:
    return await session.get(Finding, finding_id, with_for_update=for_update, populate_existing=for_update)


async def search(session: AsyncSession, scope: Scope, filters: dict[str, Any], *, limit: int,
                 after: tuple[datetime, str] | None) -> list[Patrol]:
    statement = select(Patrol)
    if scope.node:
        statement = statement.where(Patrol.location_code.startswith(jurisdiction_prefix(scope.node), autoescape=True))
    if scope.enterprise:
        statement = statement.where(Patrol.enterprise_uscc == scope.enterprise)
    if filters.get("jurisdiction"):
        statement = statement.where(Patrol.location_code.startswith(jurisdiction_prefix(filters["jurisdiction"]),
                                                                    autoescape=True))
    for name, column in (("enterprise", Patrol.enterprise_uscc), ("status", Patrol.status), ("mode", Patrol.mode)):
        if filters.get(name) is not None:
            statement = statement.where(column == filters[name])
    if after is not None:
        moment, last = after
        statement = statement.where(or_(Patrol.started_at < moment,
                                        and_(Patrol.started_at == moment, Patrol.id < last)))
    statement = statement.order_by(Patrol.started_at.desc(), Patrol.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())
