"""Queries of photo blobs: which enterprise holds which hash (the bytes are in the blob store)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.models import Blob, LedgerEnterprise
from shared.queries import upsert

blobs = Blob.__table__
enterprises = LedgerEnterprise.__table__


async def hold(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Record that the enterprise holds the blob; False when it already did."""
    result = await upsert(session, blobs, [values], key=["sha256", "enterprise_uscc"], update_columns=[])
    return bool(result.rowcount)


async def get(session: AsyncSession, sha256: str, uscc: str) -> RowMapping | None:
    return (await session.execute(select(blobs).where(blobs.c.sha256 == sha256, blobs.c.enterprise_uscc == uscc)
                                  )).mappings().first()


async def holders(session: AsyncSession, sha256: str) -> list[RowMapping]:
    """Each enterprise holding the blob, with its jurisdiction (from the ledger)."""
    query = select(blobs, enterprises.c.jurisdiction_code).select_from(
        blobs.outerjoin(enterprises, enterprises.c.uscc == blobs.c.enterprise_uscc)).where(blobs.c.sha256 == sha256)
    return list((await session.execute(query.order_by(blobs.c.enterprise_uscc))).mappings())


async def held_of(session: AsyncSession, uscc: str, hashes: Sequence[str]) -> set[str]:
    if not hashes:
        return set()
    rows = await session.execute(select(blobs.c.sha256).where(
        blobs.c.enterprise_uscc == uscc, blobs.c.sha256.in_(list(hashes))))
    return set(rows.scalars())
