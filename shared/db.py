"""Database plumbing shared by every service: engines, sessions, metadata conventions and the
platform tables (outbox, inbox, idempotency keys, relay lease) that each service keeps in its
own schema beside its business tables."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    TypeDecorator,
    event,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no 64-bit autoincrement BIGINT; INTEGER PRIMARY KEY is its rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


# SQLSTATEs that say "the database cannot serve this now, try again", not "this is wrong":
# serialization failure, deadlock, too many connections, shutdown/crash/cannot-connect-now, and
# class 08 (connection exceptions).
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "53300", "57P01", "57P02", "57P03"})


def sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE of a driver error, raised raw (asyncpg while connecting) or wrapped by SQLAlchemy."""
    orig = getattr(exc, "orig", None)
    for candidate in (exc, orig, getattr(orig, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(state, str):
            return state
    return None


def database_unavailable(exc: BaseException) -> bool:
    """The database could not be reached, or asked to be tried again (a restart, a deadlock, a
    lock timeout), rather than refusing what was asked of it."""
    if isinstance(exc, IntegrityError):
        return False
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if (state := sqlstate(exc)) is not None:
        return state in RETRYABLE_SQLSTATES or state.startswith("08")
    return isinstance(exc, (OperationalError, InterfaceError, ConnectionError, TimeoutError))


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_uuid() -> str:
    return str(uuid.uuid4())


def new_uuids(n: int) -> list[str]:
    """``n`` of ``new_uuid()`` (random, version 4) from one read of the system's randomness: a
    quarter of the time, for bulk paths."""
    raw = bytearray(os.urandom(16 * n))
    raw[6::16] = bytes(b & 0x0F | 0x40 for b in raw[6::16])  # version 4
    raw[8::16] = bytes(b & 0x3F | 0x80 for b in raw[8::16])  # RFC 4122 variant
    h = raw.hex()
    return [f"{h[k:k + 8]}-{h[k + 8:k + 12]}-{h[k + 12:k + 16]}-{h[k + 16:k + 20]}-{h[k + 20:k + 32]}"
            for k in range(0, 32 * n, 32)]


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


_SQLITE_DATETIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"  # sqlalchemy.dialects.sqlite.DATETIME's default format


class AwareDateTime(TypeDecorator[datetime]):
    """Timestamps that come back timezone-aware (UTC) on SQLite too, which stores them naive."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a timezone-aware column")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, ``process_bind_param`` and then SQLite's DATETIME text (its default storage
        format) in one call: bulk inserts convert thousands of timestamps a statement, and the
        three calls of the general path took three times as long."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a timezone-aware column")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return _SQLITE_DATETIME % (value.year, value.month, value.day, value.hour, value.minute, value.second,
                                       value.microsecond)

        return process



class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class PlatformTables:
    """Tables the shared machinery needs inside every service's own database."""

    def __init__(self, metadata: MetaData) -> None:
        self.outbox = Table(
            "outbox",
            metadata,
            Column("id", BigId, primary_key=True, autoincrement=True),
            Column("event_id", String(36), nullable=False, unique=True),
            Column("topic", String(200), nullable=False),
            Column("key", String(100), nullable=True),
            Column("event_type", String(200), nullable=False),
            Column("attributes", JSON, nullable=False),  # CloudEvents attributes and extensions
            Column("data", JSON, nullable=False),
            Column("created_at", AwareDateTime(), nullable=False, default=utcnow),
            Column("published_at", AwareDateTime(), nullable=True),
            Column("attempts", Integer, nullable=False, default=0),
            # Bumped by each replay (`safegrid outbox replay`): a relay marks a row published only
            # in the epoch it read it in, so a send to a broker that was lost, acknowledged before
            # the replay and marked after it, cannot cancel the replay's send.
            Column("epoch", Integer, nullable=False, default=0, server_default="0"),
            Index("ix_outbox_unpublished", "published_at", "id"),
        )
        self.inbox = Table(
            "inbox",
            metadata,
            Column("consumer", String(100), primary_key=True),
            Column("event_id", String(100), primary_key=True),
            Column("event_type", String(200), nullable=False),
            Column("applied_at", AwareDateTime(), nullable=False, default=utcnow),
        )
        self.idempotency_keys = Table(
            "idempotency_keys",
            metadata,
            Column("principal", String(200), primary_key=True),
            Column("key", String(200), primary_key=True),
            Column("request_fingerprint", String(64), nullable=False),
            Column("state", String(20), nullable=False),  # processing | completed
            Column("status_code", Integer, nullable=True),
            Column("response_body", LargeBinary, nullable=True),
            Column("response_headers", JSON, nullable=True),
            Column("created_at", AwareDateTime(), nullable=False, default=utcnow),
            Column("locked_until", AwareDateTime(), nullable=True),
            Index("ix_idempotency_keys_created_at", "created_at"),  # the prune of expired keys
        )
        self.relay_lease = Table(
            "outbox_relay_lease",
            metadata,
            Column("name", String(50), primary_key=True),
            Column("holder", String(100), nullable=False),
            Column("expires_at", AwareDateTime(), nullable=False),
        )
        self.audit_log = Table(
            "audit_log",
            metadata,
            Column("id", BigId, primary_key=True, autoincrement=True),
            Column("at", AwareDateTime(), nullable=False, default=utcnow),
            Column("actor", String(200), nullable=False),
            Column("action", String(100), nullable=False),
            Column("subject", String(200), nullable=True),
            Column("detail", JSON, nullable=False),
            Column("request_id", String(64), nullable=True),
            Index("ix_audit_log_subject", "subject", "at"),
        )


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def build_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Build the engine in the lifespan, never at import time."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL for concurrent readers, and BEGIN IMMEDIATE so that two writers queue on the busy
    timeout instead of one failing with 'database is locked' when it upgrades its lock."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection):  # type: ignore[no-untyped-def]
        read_only = connection.get_execution_options().get(READ_ONLY_OPTION)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# Execution option for probes that only read: on SQLite they then never queue behind a writer.
READ_ONLY_OPTION = "safegrid_read_only"


def build_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One transaction: commit on success, roll back on error. The only place that commits."""
    async with factory() as session, session.begin():
        yield session
