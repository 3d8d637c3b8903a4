"""The risk map's queries, scoped to a jurisdiction subtree and the filters asked for; the
located units its outlines are drawn around, and the names they carry."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import AlertRow, EnterpriseRow, EquipmentRow, GradeChange, JurisdictionRow
from shared.locality import jurisdiction_prefix
from shared.queries import among


async def units(session: AsyncSession, *, node: str | None, grades: list[str] | None, category: str | None,
                key_supervision: bool | None) -> list[EnterpriseRow]:
    query: Any = select(EnterpriseRow).where(EnterpriseRow.revision > 0).order_by(EnterpriseRow.uscc)
    if node:
        query = query.where(EnterpriseRow.jurisdiction_code.like(jurisdiction_prefix(node) + "%"))
    if grades:
        named = [g for g in grades if g != "ungraded"]
        query = query.where(or_(EnterpriseRow.grade.in_(named), *(
            [EnterpriseRow.grade.is_(None)] if "ungraded" in grades else [])))
    if key_supervision is not None:
        query = query.where(EnterpriseRow.key_supervision.is_(key_supervision))
    if category:
        family = category.endswith("000")
        match = EquipmentRow.category.like(category[0] + "%") if family else EquipmentRow.category == category
        query = query.where(exists().where(EquipmentRow.uscc == EnterpriseRow.uscc, EquipmentRow.status == "in_use",
                                           match))
    return list((await session.execute(query)).scalars())


async def located(session: AsyncSession, node: str | None) -> list[tuple[str | None, str | None, float, float]]:
    """(jurisdiction_code, grid_code, lat, lon) of every located unit in the subtree, whatever
    the map's other filters: an outline does not shrink with a grade asked for."""
    query: Any = select(EnterpriseRow.jurisdiction_code, EnterpriseRow.grid_code, EnterpriseRow.lat,
                        EnterpriseRow.lon).where(EnterpriseRow.revision > 0, EnterpriseRow.lat.is_not(None),
                                                 EnterpriseRow.lon.is_not(None))
    if node:
        query = query.where(EnterpriseRow.jurisdiction_code.like(jurisdiction_prefix(node) + "%"))
    return [tuple(row) for row in (await session.execute(query)).all()]  # type: ignore[misc]


async def jurisdiction_names(session: AsyncSession, codes: list[str]) -> dict[str, str]:
    """The names registry gave these nodes (a node not announced yet has none)."""
    if not codes:
        return {}
    rows = await session.execute(select(JurisdictionRow.code, JurisdictionRow.name).where(
        among(session, JurisdictionRow.code, codes), JurisdictionRow.revision > 0))
    return {code: name for code, name in rows.all()}


async def open_alert_counts(session: AsyncSession, usccs: list[str]) -> dict[str, int]:
    rows = await session.execute(select(AlertRow.uscc).where(AlertRow.uscc.in_(usccs), AlertRow.status != "resolved"))
    found: dict[str, int] = {}
    for (uscc,) in rows:
        found[uscc] = found.get(uscc, 0) + 1
    return found


async def unit(session: AsyncSession, uscc: str) -> EnterpriseRow | None:
    row = await session.get(EnterpriseRow, uscc)
    return row if row is not None and row.revision > 0 else None


async def history(session: AsyncSession, uscc: str, limit: int = 50) -> list[GradeChange]:
    rows = await session.execute(select(GradeChange).where(GradeChange.uscc == uscc)
                                 .order_by(GradeChange.since.desc(), GradeChange.id.desc()).limit(limit))
    return list(rows.scalars())


async def open_alerts(session: AsyncSession, uscc: str) -> list[AlertRow]:
    rows = await session.execute(select(AlertRow).where(AlertRow.uscc == uscc, AlertRow.status != "resolved")
                                 .order_by(AlertRow.raised_at.desc()))
    return list(rows.scalars())


async def categories(session: AsyncSession, uscc: str) -> list[str]:
    rows = await session.execute(select(EquipmentRow.category).where(
        EquipmentRow.uscc == uscc, EquipmentRow.status == "in_use").distinct().order_by(EquipmentRow.category))
    return list(rows.scalars())
