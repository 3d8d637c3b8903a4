"""Every query of ratings and reports; the moderation queue is scoped to the moderator's subtree."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import EnterpriseRow, Rating, Report, ReportPhoto
from shared.locality import jurisdiction_prefix


async def get_report(session: AsyncSession, receipt: str) -> Report | None:
    return (await session.execute(select(Report).where(Report.receipt == receipt))).scalar_one_or_none()


async def get_report_by_id(session: AsyncSession, report_id: str) -> Report | None:
    return await session.get(Report, report_id)


async def get_photo(session: AsyncSession, report_id: str) -> ReportPhoto | None:
    return await session.get(ReportPhoto, report_id)


async def lock_rating(session: AsyncSession, rating_id: str) -> tuple[Rating, EnterpriseRow | None] | None:
    row = (await session.execute(select(Rating).where(Rating.id == rating_id).with_for_update()
                                 .execution_options(populate_existing=True))).scalar_one_or_none()
    if row is None:
        return None
    return row, await session.get(EnterpriseRow, row.uscc)


async def list_ratings(session: AsyncSession, *, node: str | None, status: str | None,
                       after: tuple[datetime, str] | None, limit: int) -> list[Any]:
    """Oldest first (a queue), with the unit's name; only units under ``node`` when given."""
    query = (select(Rating, EnterpriseRow.name, EnterpriseRow.jurisdiction_code)
             .join(EnterpriseRow, EnterpriseRow.uscc == Rating.uscc, isouter=node is None)
             .order_by(Rating.submitted_at, Rating.id).limit(limit + 1))
    if node is not None:
        query = query.where(EnterpriseRow.jurisdiction_code.like(jurisdiction_prefix(node) + "%"))
    if status is not None:
        query = query.where(Rating.status == status)
    if after is not None:
        query = query.where(tuple_(Rating.submitted_at, Rating.id) > tuple_(*after))
    return list((await session.execute(query)).all())
