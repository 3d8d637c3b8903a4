"""Every query behind a scanned code: the token's row, the unit, its equipment and its ratings."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import EnterpriseRow, EquipmentRow, QrTokenRow, Rating


async def get_token(session: AsyncSession, token: str) -> QrTokenRow | None:
    return await session.get(QrTokenRow, token)


async def get_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow | None:
    return await session.get(EnterpriseRow, uscc)


async def equipment_of(session: AsyncSession, uscc: str) -> list[EquipmentRow]:
    rows = await session.execute(select(EquipmentRow)
                                 .where(EquipmentRow.uscc == uscc, EquipmentRow.status != "scrapped")
                                 .order_by(EquipmentRow.category, EquipmentRow.equipment_id))
    return list(rows.scalars())


async def rating_summary(session: AsyncSession, uscc: str) -> tuple[float | None, int]:
    row = (await session.execute(select(func.avg(Rating.stars), func.count()).where(
        Rating.uscc == uscc, Rating.status == "approved"))).one()
    return (float(row[0]) if row[0] is not None else None), int(row[1])


async def latest_comments(session: AsyncSession, uscc: str, limit: int = 5) -> list[Rating]:
    rows = await session.execute(select(Rating).where(
        Rating.uscc == uscc, Rating.status == "approved", Rating.comment.is_not(None))
        .order_by(Rating.submitted_at.desc()).limit(limit))
    return list(rows.scalars())


async def get_token_of(session: AsyncSession, uscc: str) -> QrTokenRow | None:
    """Any token kept for the unit (its name as registry gave it, before the read model has it)."""
    return (await session.execute(select(QrTokenRow).where(QrTokenRow.uscc == uscc).limit(1))).scalar_one_or_none()
