"""Queries of the ledger projection and the closed days. A snapshot applies only when newer than
the revision held; a removal deletes only what is not newer than it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, not_, or_, select, update
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.domain.cutoff import EVERY_UNIT, Coverage
from services.inspection.models import (
    ClosedDay,
    LedgerCylinder,
    LedgerEnterprise,
    LedgerEquipment,
    LedgerOperator,
    new_facts_stamp,
)
from shared.queries import among, upsert

enterprises = LedgerEnterprise.__table__
equipment = LedgerEquipment.__table__
cylinders = LedgerCylinder.__table__
operators = LedgerOperator.__table__
closed_days = ClosedDay.__table__
IN_CHUNK = 1000  # values per IN (...) list: far below either database's parameter limit


async def save_enterprise(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = await upsert(session, enterprises, [values], key=["uscc"],
                          update_columns=[c for c in values if c not in ("uscc", "first_seen_at")],
                          where=lambda excluded: enterprises.c.revision < excluded.revision)
    return bool(result.rowcount)


async def save_equipment(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = await upsert(session, equipment, [values], key=["uscc", "equipment_id"],
                          update_columns=[c for c in values if c not in ("uscc", "equipment_id", "first_seen_at")],
                          where=lambda excluded: equipment.c.revision < excluded.revision)
    return bool(result.rowcount)


async def save_cylinder(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = await upsert(session, cylinders, [values], key=["uscc", "cylinder_id"],
                          where=lambda excluded: cylinders.c.revision < excluded.revision)
    return await _facts_changed(session, values["uscc"], bool(result.rowcount))


async def save_operator(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = await upsert(session, operators, [values], key=["uscc", "operator_id"],
                          where=lambda excluded: operators.c.revision < excluded.revision)
    return await _facts_changed(session, values["uscc"], bool(result.rowcount))


async def _facts_changed(session: AsyncSession, uscc: str, changed: bool) -> bool:
    """A new ``facts_stamp`` for the enterprise when its cylinders or operators ``changed``."""
    if changed:
        await session.execute(update(enterprises).where(enterprises.c.uscc == uscc).values(
            facts_stamp=new_facts_stamp()))
    return changed


async def delete_item(session: AsyncSession, kind: str, uscc: str, item_id: str, revision: int) -> bool:
    table, column = {"equipment": (equipment, "equipment_id"), "cylinder": (cylinders, "cylinder_id"),
                     "operator": (operators, "operator_id")}[kind]
    result = await session.execute(table.delete().where(
        table.c.uscc == uscc, table.c[column] == item_id, table.c.revision <= revision))
    changed = bool(result.rowcount)
    return changed if kind == "equipment" else await _facts_changed(session, uscc, changed)


async def get_enterprise(session: AsyncSession, uscc: str) -> RowMapping | None:
    return (await session.execute(select(enterprises).where(enterprises.c.uscc == uscc))).mappings().first()


async def enterprises_by_uscc(session: AsyncSession, usccs: Sequence[str]) -> dict[str, RowMapping]:
    found: dict[str, RowMapping] = {}
    for n in range(0, len(usccs), IN_CHUNK):
        rows = await session.execute(select(enterprises.c.uscc, enterprises.c.jurisdiction_code,
                                            enterprises.c.name).where(enterprises.c.uscc.in_(usccs[n:n + IN_CHUNK])))
        found.update({r["uscc"]: r for r in rows.mappings()})
    return found


async def facts_stamp(session: AsyncSession, uscc: str) -> int | None:
    """The enterprise's ``facts_stamp`` (ledger/facts.py), None when the ledger does not hold it."""
    return (await session.execute(select(enterprises.c.facts_stamp).where(enterprises.c.uscc == uscc))).scalar()


async def cylinders_by_number(session: AsyncSession, uscc: str, numbers: Sequence[str]) -> dict[str, Row[Any]]:
    """The enterprise's cylinders with these numbers (an in-use one wins over a scrapped twin):
    rows of cylinder_no, next_inspection_date, scrap_date, status (fetched at once, read by
    attribute: a mapping per row was half the lookup's time for a batch's thousand)."""
    found: dict[str, Row[Any]] = {}
    rows = await session.execute(select(
        cylinders.c.cylinder_no, cylinders.c.next_inspection_date, cylinders.c.scrap_date, cylinders.c.status,
    ).where(cylinders.c.uscc == uscc, among(session, cylinders.c.cylinder_no, numbers)))
    for row in rows.all():
        held = found.get(row.cylinder_no)
        if held is None or held.status == "scrapped":
            found[row.cylinder_no] = row
    return found


async def operators_by_certificate(session: AsyncSession, uscc: str,
                                   certificates: Sequence[str]) -> dict[str, RowMapping]:
    """The enterprise's operators holding these certificates (an active, longest-valid one wins)."""
    found: dict[str, RowMapping] = {}
    for n in range(0, len(certificates), IN_CHUNK):
        rows = await session.execute(select(
            operators.c.certificate_no, operators.c.certificate_valid_until, operators.c.active,
        ).where(operators.c.uscc == uscc, operators.c.certificate_no.in_(certificates[n:n + IN_CHUNK])))
        for row in rows.mappings():
            held = found.get(row["certificate_no"])
            if held is None or (row["active"], row["certificate_valid_until"] or date.min) > (
                    held["active"], held["certificate_valid_until"] or date.min):
                found[row["certificate_no"]] = row
    return found


def covered(prefix: str | None, coverage: Coverage = EVERY_UNIT) -> list[Any]:
    """Conditions on ledger enterprises: in the subtree with this division-code prefix, and covered."""
    code = enterprises.c.jurisdiction_code
    conditions: list[Any] = [code.startswith(prefix)] if prefix else []
    if coverage.within:
        conditions.append(or_(*(code.startswith(p) for p in coverage.within)))
    conditions += [not_(code.startswith(p)) for p in coverage.outside]
    return conditions


async def filling_units(session: AsyncSession, prefix: str | None, after: str, limit: int,
                        coverage: Coverage = EVERY_UNIT) -> list[RowMapping]:
    """Filling units (by USCC, after ``after``) of the subtree with this division-code prefix
    that ``coverage`` covers (a city group of the cut-off)."""
    query = select(enterprises.c.uscc, enterprises.c.kinds, enterprises.c.operating, enterprises.c.first_seen_at,
                   enterprises.c.jurisdiction_code, enterprises.c.name).where(
        enterprises.c.filling_unit.is_(True), enterprises.c.uscc > after, *covered(prefix, coverage))
    return list((await session.execute(query.order_by(enterprises.c.uscc).limit(limit))).mappings())


async def equipment_after(session: AsyncSession, after: tuple[str, str], limit: int) -> list[RowMapping]:
    query = select(equipment).where(equipment.c.status == "in_use", (equipment.c.uscc > after[0]) | and_(
        equipment.c.uscc == after[0], equipment.c.equipment_id > after[1]))
    return list((await session.execute(query.order_by(equipment.c.uscc, equipment.c.equipment_id).limit(limit)
                                       )).mappings())


async def get_equipment(session: AsyncSession, uscc: str, equipment_id: str) -> RowMapping | None:
    return (await session.execute(select(equipment).where(
        equipment.c.uscc == uscc, equipment.c.equipment_id == equipment_id))).mappings().first()


# --- closed days ----------------------------------------------------------------------------

async def get_closed_day(session: AsyncSession, uscc: str, day: date, *, lock: bool = False) -> RowMapping | None:
    query = select(closed_days).where(closed_days.c.uscc == uscc, closed_days.c.business_date == day)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def save_closed_day(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, closed_days, [values], key=["uscc", "business_date"])


async def cancel_closed_day(session: AsyncSession, uscc: str, day: date, at: Any, by: str) -> None:
    await session.execute(update(closed_days).where(
        closed_days.c.uscc == uscc, closed_days.c.business_date == day).values(cancelled_at=at, cancelled_by=by))


async def list_closed_days(session: AsyncSession, uscc: str, start: date | None, end: date | None,
                           after: date | None, limit: int, include_cancelled: bool) -> list[RowMapping]:
    query = select(closed_days).where(closed_days.c.uscc == uscc)
    if not include_cancelled:
        query = query.where(closed_days.c.cancelled_at.is_(None))
    if start:
        query = query.where(closed_days.c.business_date >= start)
    if end:
        query = query.where(closed_days.c.business_date <= end)
    if after:
        query = query.where(closed_days.c.business_date > after)
    return list((await session.execute(query.order_by(closed_days.c.business_date).limit(limit))).mappings())


async def closed_on(session: AsyncSession, usccs: Sequence[str], day: date) -> set[str]:
    found: set[str] = set()
    for n in range(0, len(usccs), IN_CHUNK):
        rows = await session.execute(select(closed_days.c.uscc).where(
            closed_days.c.business_date == day, closed_days.c.cancelled_at.is_(None),
            closed_days.c.uscc.in_(usccs[n:n + IN_CHUNK])))
        found.update(rows.scalars())
    return found
