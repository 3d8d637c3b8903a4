"""The queries of credit repair (信用修复) and manual grade adjustment (人工调整)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import adjustments, cases, missing_days, penalties, repairs


async def unrepaired_items(session: AsyncSession, uscc: str) -> dict[str, list[RowMapping]]:
    """Cases, penalties and missing-record days not yet removed by a credit repair."""
    found = {}
    for name, table in (("cases", cases), ("penalties", penalties), ("missing_days", missing_days)):
        query = select(table).where(table.c.uscc == uscc, table.c.repair_id.is_(None))
        found[name] = list((await session.execute(query)).mappings())
    return found


async def mark_repaired(session: AsyncSession, uscc: str, repair_id: str, *, case_ids: Sequence[str],
                        penalty_ids: Sequence[str], missing_dates: Sequence[date]) -> list[str]:
    """Mark the items repaired; returns the event ids behind them (they stay, marked, in history)."""
    event_ids: list[str] = []
    for table, column, values in ((cases, "case_id", case_ids), (penalties, "penalty_id", penalty_ids),
                                  (missing_days, "business_date", missing_dates)):
        if not values:
            continue
        condition = and_(table.c.uscc == uscc, table.c[column].in_(values), table.c.repair_id.is_(None))
        event_ids += (await session.execute(select(table.c.event_id).where(condition))).scalars()
        await session.execute(update(table).where(condition).values(repair_id=repair_id))
    return sorted(event_ids)


async def insert_adjustment(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(adjustments.insert().values(**values))


async def lift_adjustments(session: AsyncSession, uscc: str, *, at: datetime, by: str, reason: str) -> int:
    result = await session.execute(
        update(adjustments).where(adjustments.c.uscc == uscc, adjustments.c.lifted_at.is_(None))
        .values(lifted_at=at, lifted_by=by, lift_reason=reason))
    return result.rowcount or 0


async def insert_repair(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(repairs.insert().values(**values))


async def get_repair(session: AsyncSession, uscc: str, repair_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(repairs).where(repairs.c.uscc == uscc, repairs.c.id == repair_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def pending_repair(session: AsyncSession, uscc: str) -> RowMapping | None:
    query = select(repairs).where(repairs.c.uscc == uscc, repairs.c.status == "pending")
    return (await session.execute(query)).mappings().first()


async def list_repairs(session: AsyncSession, uscc: str, after: tuple[str, str] | None,
                       limit: int) -> list[RowMapping]:
    query = select(repairs).where(repairs.c.uscc == uscc)
    if after is not None:
        applied_at, repair_id = datetime.fromisoformat(after[0]), after[1]
        query = query.where(or_(repairs.c.applied_at < applied_at,
                                and_(repairs.c.applied_at == applied_at, repairs.c.id < repair_id)))
    query = query.order_by(repairs.c.applied_at.desc(), repairs.c.id.desc()).limit(limit + 1)
    return list((await session.execute(query)).mappings())


async def decide_repair(session: AsyncSession, repair_id: str, values: dict[str, Any]) -> None:
    await session.execute(update(repairs).where(repairs.c.id == repair_id).values(**values))
