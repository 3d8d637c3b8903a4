"""Every query of jurisdictions, enterprises, management facts and accidents, row scoping
included (``ListScope``). Services call these; routers never touch the session."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.access import ListScope
from services.registry.enterprises.schemas import EnterpriseFilters
from services.registry.models import (
    Accident,
    Enterprise,
    Jurisdiction,
    ManagementFactRecord,
)
from shared.locality import jurisdiction_prefix


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def under(column: Any, code: str) -> ColumnElement[bool]:
    """``column`` holds a division code in the subtree of ``code``."""
    return column.like(_escape_like(jurisdiction_prefix(code)) + "%", escape="\\")


# --- jurisdictions -----------------------------------------------------------------------------

async def get_jurisdiction(session: AsyncSession, code: str, *, for_update: bool = False) -> Jurisdiction | None:
    statement = select(Jurisdiction).where(Jurisdiction.code == code)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def child_codes(session: AsyncSession, code: str) -> list[str]:
    rows = await session.execute(select(Jurisdiction.code).where(Jurisdiction.parent_code == code)
                                 .order_by(Jurisdiction.code))
    return list(rows.scalars())


async def grids_under(session: AsyncSession, code: str) -> Sequence[Jurisdiction]:
    rows = await session.execute(select(Jurisdiction).where(Jurisdiction.level == "grid",
                                                            under(Jurisdiction.code, code)))
    return rows.scalars().all()


async def list_jurisdictions(session: AsyncSession, *, parent: str | None = None,
                             within: str | None = None, level: str | None = None) -> Sequence[Jurisdiction]:
    statement = select(Jurisdiction).order_by(Jurisdiction.code)
    if parent is not None:
        statement = statement.where(Jurisdiction.parent_code == parent)
    if within is not None:
        statement = statement.where(under(Jurisdiction.code, within))
    if level is not None:
        statement = statement.where(Jurisdiction.level == level)
    return (await session.execute(statement)).scalars().all()


async def count_jurisdictions(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Jurisdiction))).scalar_one())


# --- enterprises -------------------------------------------------------------------------------

async def get_enterprise(session: AsyncSession, uscc: str, *, for_update: bool = False) -> Enterprise | None:
    """``for_update`` locks the row on PostgreSQL, so that two writers with the same If-Match
    queue and the second sees the first's revision (SQLite serialises writers anyway)."""
    if not for_update:
        return await session.get(Enterprise, uscc)  # the identity map answers repeated reads
    statement = select(Enterprise).where(Enterprise.uscc == uscc).with_for_update()
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()


async def count_enterprises(session: AsyncSession) -> int:
    return int((await session.execute(select(func.count()).select_from(Enterprise))).scalar_one())


def _enterprise_conditions(filters: EnterpriseFilters, scope: ListScope) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if scope.enterprise is not None:
        conditions.append(Enterprise.uscc == scope.enterprise)
    if scope.jurisdiction is not None:
        conditions.append(under(Enterprise.division_code, scope.jurisdiction))
    if filters.jurisdiction:
        conditions.append(under(Enterprise.division_code, filters.jurisdiction))
    if filters.grid:
        conditions.append(Enterprise.grid_code == filters.grid)
    if filters.kind:
        conditions.append(Enterprise.kinds_tags.like(f"%|{_escape_like(filters.kind)}|%", escape="\\"))
    if filters.venue_type:
        conditions.append(Enterprise.venue_type == filters.venue_type)
    if filters.key_supervision is not None:
        conditions.append(Enterprise.key_supervision == filters.key_supervision)
    if filters.operating_status:
        conditions.append(Enterprise.operating_status == filters.operating_status)
    if filters.q:
        conditions.append(Enterprise.name.ilike(f"%{_escape_like(filters.q)}%", escape="\\"))
    return conditions


async def search_enterprises(session: AsyncSession, filters: EnterpriseFilters, scope: ListScope, *,
                             limit: int, after: str | None) -> Sequence[Enterprise]:
    """Keyset page ordered by USCC; fetches ``limit + 1`` rows (the extra one says "more")."""
    statement = select(Enterprise).where(*_enterprise_conditions(filters, scope)).order_by(Enterprise.uscc)
    if after is not None:
        statement = statement.where(Enterprise.uscc > after)
    return (await session.execute(statement.limit(limit + 1))).scalars().all()


async def enterprise_points(session: AsyncSession, filters: EnterpriseFilters, scope: ListScope) -> Sequence[Any]:
    """The located enterprises for the map, lightest columns only."""
    statement = (
        select(Enterprise.uscc, Enterprise.name, Enterprise.lat, Enterprise.lon, Enterprise.jurisdiction_code,
               Enterprise.grid_code, Enterprise.venue_type, Enterprise.kinds_tags, Enterprise.key_supervision,
               Enterprise.location_verified_at, Enterprise.operating_status)
        .where(Enterprise.lat.is_not(None), Enterprise.lon.is_not(None), *_enterprise_conditions(filters, scope))
        .order_by(Enterprise.uscc)
    )
    return (await session.execute(statement)).all()


async def management_history(session: AsyncSession, uscc: str, limit: int = 200) -> Sequence[ManagementFactRecord]:
    statement = (select(ManagementFactRecord).where(ManagementFactRecord.uscc == uscc)
                 .order_by(ManagementFactRecord.as_of.desc(), ManagementFactRecord.id.desc()).limit(limit))
    return (await session.execute(statement)).scalars().all()


async def enterprises_with_lapsed_accidents(session: AsyncSession, lapsed_on_or_before: date) -> Sequence[Enterprise]:
    """Key-supervision units whose last accident has left the window (the daily job releases them)."""
    statement = (select(Enterprise).where(Enterprise.last_accident_date <= lapsed_on_or_before,
                                          Enterprise.key_supervision.is_(True))
                 .order_by(Enterprise.uscc).with_for_update())
    rows = (await session.execute(statement)).scalars().all()
    return [row for row in rows if "accident" in (row.key_supervision_causes or [])]


# --- accidents ---------------------------------------------------------------------------------

async def list_accidents(session: AsyncSession, uscc: str) -> Sequence[Accident]:
    statement = select(Accident).where(Accident.uscc == uscc).order_by(Accident.occurred_date.desc(), Accident.id)
    return (await session.execute(statement)).scalars().all()
