"""Every query of import runs (the rows themselves are read and written by ``loader``)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import ImportRun


async def get_import(session: AsyncSession, import_id: str, *, for_update: bool = False) -> ImportRun | None:
    return await session.get(ImportRun, import_id, with_for_update=for_update, populate_existing=for_update)
