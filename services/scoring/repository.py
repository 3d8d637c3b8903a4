"""Query helpers every aggregate of the scoring service shares: INSERT … ON CONFLICT for both
dialects, and the audit log. Each aggregate's own queries live in its ``repository.py``;
functions take the caller's session and never commit."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import platform
from shared.events.context import current_cause

# Statements run for every event are built once: building a statement and computing its cache key
# cost more than running it on SQLite. Per-call values travel as bound parameters.


def insert_for(session: AsyncSession, table: Table):  # type: ignore[no-untyped-def]
    """INSERT with ON CONFLICT support, for the two dialects the platform runs on."""
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


@functools.lru_cache(maxsize=128)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], update_columns: tuple[str, ...],
                      where: Callable[[Any], Any] | None):  # type: ignore[no-untyped-def]
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    if not update_columns:
        return statement.on_conflict_do_nothing(index_elements=list(key))
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={c: statement.excluded[c] for c in update_columns},
        where=where(statement.excluded) if where is not None else None)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str],
                 update_columns: Iterable[str] | None = None, where: Callable[[Any], Any] | None = None) -> Any:
    """Insert rows, or update `update_columns` (default: all but the key) of the rows already there
    (only those matching `where`, a module-level function of the excluded row, when given)."""
    if not rows:
        return None
    columns = tuple(update_columns) if update_columns is not None else tuple(c for c in rows[0] if c not in key)
    statement = _upsert_statement(session.get_bind().dialect.name, table, tuple(key), columns, where)
    return await session.execute(statement, list(rows) if len(rows) > 1 else rows[0])


async def audit(session: AsyncSession, *, actor: str, action: str, subject: str | None,
                detail: dict[str, Any]) -> None:
    """A row in the platform audit log, tied to the request that caused it."""
    await session.execute(platform.audit_log.insert().values(
        actor=actor, action=action, subject=subject, detail=detail, request_id=current_cause.get().request_id))
