"""Which failures hold a partition (retried until they pass) and which send a message to the DLQ:
a database restart must never dead-letter good events."""

import asyncpg
import pytest
from sqlalchemy import exc
from sqlalchemy.ext.asyncio import create_async_engine

from shared.events.consumer import _is_transient


def as_sqlalchemy_error(error: Exception) -> exc.DBAPIError:
    """Wrap an asyncpg error exactly as SQLAlchemy's asyncpg dialect does."""
    dialect = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none").sync_engine.dialect
    dbapi = dialect.loaded_dbapi
    mapping = dbapi._asyncpg_error_translate
    translated_cls = next(mapping[c] for c in type(error).__mro__ if c in mapping)
    translated = translated_cls(error.args[0], error)
    return exc.DBAPIError.instance(None, None, translated, dbapi.Error, dialect=dialect,
                                   connection_invalidated=dialect.is_disconnect(translated, None, None))


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
], ids=lambda e: type(e).__name__)
def test_a_database_that_restarts_or_contends_is_a_transient_failure(error):
    assert _is_transient(as_sqlalchemy_error(error))


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.UniqueViolationError("duplicate key value"),
    asyncpg.exceptions.InvalidTextRepresentationError("invalid input syntax"),
], ids=lambda e: type(e).__name__)
def test_a_bad_event_is_not_transient(error):
    assert not _is_transient(as_sqlalchemy_error(error))


def test_plain_errors():
    assert _is_transient(ConnectionRefusedError())
    assert not _is_transient(ValueError("bad data"))
