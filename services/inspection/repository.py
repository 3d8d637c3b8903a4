"""Query helpers every aggregate of the inspection service shares: INSERT … ON CONFLICT for both
dialects, the audit log. Each aggregate's own queries live in its ``repository.py``; functions
take the caller's session and never commit."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import String, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.models import platform
from shared.events.context import current_cause


def among(session: AsyncSession, column: Any, values: Sequence[str]) -> Any:
    """``column IN values`` as one parameter however many values (an array on PostgreSQL, a JSON
    list on SQLite): a thousand bound values cost more to expand and send than the rows they find."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(String)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(list(values)))))


def insert_for(session: AsyncSession, table: Table):  # type: ignore[no-untyped-def]
    """INSERT with ON CONFLICT, for the two dialects the platform runs on."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str],
                 update_columns: Iterable[str] | None = None, where: Any = None) -> Any:
    """Insert rows, or update ``update_columns`` (default: all but the key) of the rows already
    there, only where ``where(excluded)`` holds when given; no update columns: insert-or-ignore."""
    if not rows:
        return None
    statement = insert_for(session, table)
    columns = tuple(update_columns) if update_columns is not None else tuple(c for c in rows[0] if c not in key)
    if not columns:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    else:
        statement = statement.on_conflict_do_update(
            index_elements=list(key), set_={c: statement.excluded[c] for c in columns},
            where=where(statement.excluded) if where is not None else None)
    return await session.execute(statement, list(rows) if len(rows) > 1 else rows[0])


async def audit(session: AsyncSession, *, actor: str, action: str, subject: str | None,
                detail: dict[str, Any]) -> None:
    """A row in the platform audit log, tied to the request that caused it."""
    await session.execute(platform.audit_log.insert().values(
        actor=actor, action=action, subject=subject, detail=detail, request_id=current_cause.get().request_id))
