"""Every query of the association pages; each starts from the association's own members, so
nothing about a non-member can be read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import AlertRow, EnterpriseAssociation, EnterpriseRow, Notice, NoticeRecipient


def _members(association: str) -> Any:
    return select(EnterpriseAssociation.uscc).where(EnterpriseAssociation.association == association)


async def members(session: AsyncSession, association: str, after: str | None, limit: int) -> list[EnterpriseRow]:
    query = (select(EnterpriseRow).where(EnterpriseRow.uscc.in_(_members(association)))
             .order_by(EnterpriseRow.uscc).limit(limit + 1))
    if after is not None:
        query = query.where(EnterpriseRow.uscc > after)
    return list((await session.execute(query)).scalars())


async def member_usccs(session: AsyncSession, association: str) -> set[str]:
    return set((await session.execute(_members(association))).scalars())


async def open_alerts(session: AsyncSession, usccs: list[str]) -> dict[str, list[str]]:
    rows = await session.execute(select(AlertRow.uscc, AlertRow.kind).where(
        AlertRow.uscc.in_(usccs), AlertRow.status != "resolved").order_by(AlertRow.raised_at))
    found: dict[str, list[str]] = {}
    for uscc, kind in rows:
        found.setdefault(uscc, []).append(kind)
    return found


async def notices_for(session: AsyncSession, uscc: str, after: tuple[datetime, str] | None,
                      limit: int) -> list[Any]:
    query = (select(Notice, func.count(NoticeRecipient.uscc).label("n"))
             .join(NoticeRecipient, NoticeRecipient.notice_id == Notice.id)
             .where(Notice.id.in_(select(NoticeRecipient.notice_id).where(NoticeRecipient.uscc == uscc)))
             .group_by(Notice.id).order_by(Notice.sent_at.desc(), Notice.id.desc()).limit(limit + 1))
    if after is not None:
        query = query.where(tuple_(Notice.sent_at, Notice.id) < tuple_(*after))
    return list((await session.execute(query)).all())
