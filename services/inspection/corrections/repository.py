"""Queries of filling-record corrections: the versions of one fill, the current record of a fill's
key, the days with current records, the records correction links name."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.records.repository import CURRENT, IN_CHUNK, WITH_SUCCESSOR, days, filling


async def versions_of(session: AsyncSession, original_id: int) -> list[RowMapping]:
    """Every version of one fill, the upload first and the current one last."""
    rows = await session.execute(select(filling).where(
        (filling.c.id == original_id) | (filling.c.original_id == original_id)).order_by(filling.c.version))
    return list(rows.mappings())


async def current_holder_of_fill(session: AsyncSession, uscc: str, cylinder_no: str, filled_at: datetime,
                                 original_id: int) -> int | None:
    """The current version of another fill of the enterprise recorded with this cylinder and
    filled_at, if any."""
    query = WITH_SUCCESSOR.where(
        filling.c.enterprise_uscc == uscc, filling.c.filled_at == filled_at, filling.c.cylinder_no == cylinder_no,
        CURRENT, filling.c.id != original_id,
        or_(filling.c.original_id.is_(None), filling.c.original_id != original_id)).limit(1)
    row = (await session.execute(query)).mappings().first()
    return None if row is None else int(row["id"])


async def insert_correction(session: AsyncSession, values: dict[str, Any]) -> int:
    result = await session.execute(filling.insert().values(**values).returning(filling.c.id))
    return int(result.scalar_one())


async def has_current_records(session: AsyncSession, uscc: str, start: datetime, end: datetime) -> bool:
    """Whether a current version of the enterprise's records was filled in [start, end)."""
    query = WITH_SUCCESSOR.where(filling.c.enterprise_uscc == uscc, filling.c.filled_at >= start,
                                 filling.c.filled_at < end, CURRENT).limit(1)
    return (await session.execute(query)).first() is not None


async def unmark_day(session: AsyncSession, uscc: str, day: date) -> None:
    await session.execute(delete(days).where(days.c.uscc == uscc, days.c.business_date == day))


async def records_by_id(session: AsyncSession, uscc: str, ids: Sequence[int]) -> dict[int, RowMapping]:
    """The enterprise's records with these ids (by primary key: what correction links name)."""
    found: dict[int, RowMapping] = {}
    for n in range(0, len(ids), IN_CHUNK):
        rows = await session.execute(select(filling).where(
            filling.c.enterprise_uscc == uscc, filling.c.id.in_(list(ids[n:n + IN_CHUNK]))))
        found.update({r["id"]: r for r in rows.mappings()})
    return found


async def count_corrections(session: AsyncSession, uscc: str) -> int:
    return (await session.execute(select(func.count()).select_from(filling).where(
        filling.c.enterprise_uscc == uscc, filling.c.corrects_id.is_not(None)))).scalar_one()
