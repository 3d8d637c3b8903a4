"""Query helpers every aggregate of the portal shares: INSERT … ON CONFLICT for both dialects.
Each aggregate's own queries live in its ``repository.py``; functions never commit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_missing(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                         key: Sequence[str]) -> None:
    """Insert rows whose key is not there yet; leave the others alone."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    await session.execute(statement.on_conflict_do_nothing(index_elements=list(key)), list(rows))
