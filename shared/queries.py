"""SQL helpers every service's repositories share, on both dialects the platform runs on:
INSERT … ON CONFLICT (upsert, insert-or-ignore), ``column IN values`` as one parameter, and a
row of the audit log. Functions take the caller's session and never commit."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import String, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine

from shared.events.context import current_cause


def insert_for(session: AsyncSession, table: Table):  # type: ignore[no-untyped-def]
    """INSERT with ON CONFLICT support, for the two dialects the platform runs on."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(table)


# Statements run for every event are built once: building one and computing its cache key cost
# more than running it on SQLite. Per-call values travel as bound parameters.
@functools.lru_cache(maxsize=128)
def _upsert_statement(dialect: str, table: Table, key: tuple[str, ...], update_columns: tuple[str, ...],
                      where: Callable[[Any], Any] | None):  # type: ignore[no-untyped-def]
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    if not update_columns:
        return statement.on_conflict_do_nothing(index_elements=list(key))
    return statement.on_conflict_do_update(
        index_elements=list(key), set_={c: statement.excluded[c] for c in update_columns},
        where=where(statement.excluded) if where is not None else None)


def upsert_statement(session: AsyncSession, table: Table, key: Sequence[str], update_columns: Sequence[str],
                     where: Callable[[Any], Any] | None = None):  # type: ignore[no-untyped-def]
    """The (cached) statement ``upsert`` runs, for callers that add to it (RETURNING)."""
    return _upsert_statement(session.get_bind().dialect.name, table, tuple(key), tuple(update_columns), where)


async def upsert(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str],
                 update_columns: Iterable[str] | None = None, where: Callable[[Any], Any] | None = None) -> Any:
    """Insert rows, or update ``update_columns`` (default: all but the key) of the rows already
    there, only where ``where(excluded)`` holds when given (a module-level function keeps the
    statement cached); no update columns: insert-or-ignore."""
    if not rows:
        return None
    columns = tuple(update_columns) if update_columns is not None else tuple(c for c in rows[0] if c not in key)
    statement = _upsert_statement(session.get_bind().dialect.name, table, tuple(key), columns, where)
    return await session.execute(statement, list(rows) if len(rows) > 1 else rows[0])


async def insert_missing(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]],
                         key: Sequence[str]) -> None:
    """Insert rows whose key is not there yet; leave the others alone."""
    await upsert(session, table, rows, key, update_columns=())


def among(session: AsyncSession, column: Any, values: Sequence[str] | Sequence[int],
          item_type: type[TypeEngine[Any]] = String) -> Any:
    """``column IN values`` as one parameter however many values (an array on PostgreSQL, a JSON
    list on SQLite): a thousand bound values cost more to expand and send than the rows they find.
    ``item_type`` is the values' SQL type (``BigInteger`` for ids)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(item_type)))
    return column.in_(select(literal_column("value")).select_from(func.json_each(json.dumps(list(values)))))


async def write_audit(session: AsyncSession, audit_log: Table, *, actor: str, action: str, subject: str | None,
                      detail: dict[str, Any]) -> None:
    """A row in the service's audit log, tied to the request that caused it."""
    await session.execute(audit_log.insert().values(
        actor=actor, action=action, subject=subject, detail=detail, request_id=current_cause.get().request_id))
