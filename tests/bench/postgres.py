"""PostgreSQL for benchmarks: a fresh database on the machine's server when it answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from shared.testing import databases


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A fresh, empty database's URL, dropped afterwards; None (and why, printed) when
    PostgreSQL is not reachable, so that a benchmark reports SQLite alone."""
    if reason := await databases.postgres_available():
        print(f"PostgreSQL figures skipped: {reason}")
        yield None
        return
    url = await databases.create_postgres_database()
    try:
        yield url
    finally:
        await databases.drop_postgres_database(url)
