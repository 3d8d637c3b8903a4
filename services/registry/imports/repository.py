"""Every query of import runs (the rows themselves are read and written by ``loader``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import ImportRun


async def get_import(session: AsyncSession, import_id: str, *, for_update: bool = False) -> ImportRun | None:
    statement = select(ImportRun).where(ImportRun.id == import_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()
