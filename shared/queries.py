"""SQL helpers every service's repositories share, on both dialects the platform runs on:
INSERT … ON CONFLICT (upsert, insert-or-ignore), ``column IN values`` as one parameter, bulk
inserts bound by the driver, and a row of the audit log. Functions take the caller's session and
never commit."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any

from pydantic_core import to_json
from sqlalchemy import JSON, String, Table, any_, bindparam, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
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


# --- bulk inserts bound by the driver ----------------------------------------------------------
# A bulk path writes thousands of rows a statement. SQLAlchemy's executemany converts every value
# of every row through its bind processors and encodes JSON with ``json.dumps``; here each column's
# converter is looked up once, a value repeated from the row before (a chunk's one timestamp) is
# converted once, JSON is encoded by pydantic-core (compact UTF-8: a third of the time and fewer
# bytes to write), and the driver binds the result: executemany on SQLite, a binary COPY on
# PostgreSQL.


def _json_text(value: Any) -> str:
    return to_json(value, inf_nan_mode="constants").decode()


@functools.lru_cache(maxsize=256)
def _bulk_plan(dialect: Dialect, table: Table, columns: tuple[str, ...]) -> tuple[
        str, tuple[str, ...], tuple[Callable[[Any], Any] | None, ...], tuple[tuple[str, Callable[[], Any]], ...]]:
    """The SQLite statement, every column written, each one's converter, and the defaults of
    the table's columns that ``columns`` leave out (Python-side scalars and callables, as Core's
    insert applies them)."""
    defaults: list[tuple[str, Callable[[], Any]]] = []
    for column in table.columns:
        default = column.default
        if column.name in columns or default is None:
            continue
        if getattr(default, "is_scalar", False):
            defaults.append((column.name, lambda d=default: d.arg))
        elif getattr(default, "is_callable", False):
            defaults.append((column.name, lambda d=default: d.arg(None)))  # Core wraps it to take a context
    names = columns + tuple(name for name, _ in defaults)
    converters = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, JSON):
            converters.append(_json_nullable if kind.none_as_null else _json_text)
        else:
            converters.append(kind.dialect_impl(dialect).bind_processor(dialect))  # as Core converts it
    quote = dialect.identifier_preparer.quote
    statement = (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
                 f"({', '.join(quote(n) for n in names)}) VALUES ({', '.join('?' * len(names))})")
    return statement, names, tuple(converters), tuple(defaults)


def _json_nullable(value: Any) -> str | None:
    return None if value is None else _json_text(value)


async def insert_rows(session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``session.execute(insert(table), rows)`` bound by the driver: every row has the first
    row's keys; columns they leave out get their Python-side defaults, or the database's. A
    failure raises as Core's would (``sqlalchemy.exc.IntegrityError`` for a duplicate key)."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    columns = tuple(rows[0])
    statement, names, converters, defaults = _bulk_plan(dialect, table, columns)
    # Column by column (transposed in C): a row missing a key raises KeyError, as Core would.
    values: list[Sequence[Any]] = list(zip(*map(itemgetter(*columns), rows), strict=True)) if len(columns) > 1 \
        else [[row[columns[0]] for row in rows]]
    values += [[make() for _ in rows] for _, make in defaults]
    for n, convert in enumerate(converters):
        if convert is not None:
            values[n] = _converted(values[n], convert)
    if dialect.name == "postgresql":
        await _copy(connection, table, names, values)
    else:
        await connection.exec_driver_sql(statement, list(zip(*values, strict=True)))


async def _copy(connection: AsyncConnection, table: Table, names: tuple[str, ...],
                values: list[Sequence[Any]]) -> None:
    """COPY … FROM STDIN (binary) through asyncpg, in the connection's transaction: a third of
    the client's time of an INSERT … SELECT FROM unnest(arrays), whose arrays asyncpg checks
    value by value, and less of the server's. JSON columns take their text, as SQLAlchemy's
    codec for them does."""
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    if not driver.is_in_transaction():
        await connection.exec_driver_sql("SELECT 1")  # SQLAlchemy begins its transaction on first use
    try:
        await driver.copy_records_to_table(table.name, schema_name=table.schema, columns=list(names),
                                           records=zip(*values, strict=True))
    except Exception as exc:
        # Raise what Core raises for the same failure: the adapter translates asyncpg's error into
        # its DB-API error (with ``sqlstate``), which SQLAlchemy wraps by its DB-API class.
        try:
            raw.dbapi_connection._handle_exception(exc)  # type: ignore[union-attr]
        except Exception as translated:
            raise DBAPIError.instance(f"COPY {table.name}", None, translated,
                                      connection.dialect.loaded_dbapi.Error) from exc
        raise


def _converted(values: Sequence[Any], convert: Callable[[Any], Any]) -> list[Any]:
    out: list[Any] = []
    last_in: Any = out  # a sentinel no value is
    last_out: Any = None
    for value in values:
        if value is not last_in:
            last_in, last_out = value, convert(value)
        out.append(last_out)
    return out


class WriteBehind:
    """Statements of one transaction run in order behind the code that builds them: on
    PostgreSQL a task runs each job (a coroutine function and its arguments) while the caller
    builds the next rows, so the server stores one batch while Python builds the next. On
    SQLite each job runs at once: the driver's thread takes the interpreter lock back for every
    row it binds, and would queue behind the builder instead of working beside it.

    Use it as ``async with WriteBehind(session) as writes: await writes.put(fn, *args)``; the
    block ends when every job has run, and the first job that failed raises, from ``put`` or
    from the end of the block. The caller must not use the session itself meanwhile."""

    def __init__(self, session: AsyncSession) -> None:
        self.behind = session.get_bind().dialect.name == "postgresql"
        self._queue: asyncio.Queue[tuple[Callable[..., Awaitable[Any]], tuple[Any, ...]] | None] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def __aenter__(self) -> WriteBehind:
        if self.behind:
            self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb: Any) -> None:
        if self._task is None:
            return
        if kind is not None:
            self._stopped = True  # the transaction rolls back: skip what waits, let the running job end
        self._queue.put_nowait(None)
        try:
            await self._task
        except Exception:
            if kind is None:
                raise

    async def put(self, job: Callable[..., Awaitable[Any]], *args: Any) -> None:
        if self._task is None:
            await job(*args)
            return
        if self._task.done():
            await self._task  # a job failed: raise its error here
            raise RuntimeError("WriteBehind.put after the block ended")
        self._queue.put_nowait((job, args))
        await asyncio.sleep(0)  # let the task send it before the caller goes on building

    async def _run(self) -> None:
        while (item := await self._queue.get()) is not None:
            if not self._stopped:
                job, args = item
                await job(*args)
