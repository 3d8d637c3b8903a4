"""Every query of QR tokens."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Enterprise, Equipment, QrToken


async def active_token(session: AsyncSession, subject: str, *, for_update: bool = False) -> QrToken | None:
    statement = select(QrToken).where(QrToken.active_subject == subject)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def get_token(session: AsyncSession, token: str) -> QrToken | None:
    return (await session.execute(select(QrToken).where(QrToken.token == token))).scalar_one_or_none()


async def lock_subject(session: AsyncSession, kind: str, key: str) -> None:
    """Lock the enterprise or equipment row a code stands for (FOR NO KEY UPDATE: rows that
    reference it may still be inserted meanwhile); nothing happens when it does not exist."""
    statement = (select(Equipment.id).where(Equipment.id == key) if kind == "equipment"
                 else select(Enterprise.uscc).where(Enterprise.uscc == key))
    await session.execute(statement.with_for_update(key_share=True))
