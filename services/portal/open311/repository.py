"""Every query behind Open311: reports by id, by receipt (token) and by the list's filters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import EnterpriseRow, Report


async def get_report(session: AsyncSession, report_id: str) -> Report | None:
    return await session.get(Report, report_id)


async def by_receipt(session: AsyncSession, receipt: str) -> Report | None:
    return (await session.execute(select(Report).where(Report.receipt == receipt))).scalar_one_or_none()


async def get_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow | None:
    return await session.get(EnterpriseRow, uscc)


async def find_reports(session: AsyncSession, *, ids: list[str] | None, codes: list[str] | None,
                       statuses: list[str] | None, start: datetime, end: datetime, limit: int) -> list[Report]:
    query = select(Report).order_by(Report.submitted_at.desc(), Report.id).limit(limit)
    if ids:
        query = query.where(Report.id.in_(ids))
    else:
        query = query.where(Report.submitted_at >= start, Report.submitted_at < end)
    if codes:
        query = query.where(Report.category.in_(codes))
    if statuses:
        query = query.where(Report.status.in_(statuses))
    return list((await session.execute(query)).scalars())
