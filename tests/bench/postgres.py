"""Databases for benchmarks: a fresh SQLite file, or a fresh database on the machine's
PostgreSQL server when it answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from shared.testing import databases


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str | None]:
    """A fresh, empty database's URL, dropped afterwards; None (and why, printed) when
    PostgreSQL is not reachable, so that a benchmark reports SQLite alone."""
    if reason := await databases.postgres_available():
        print(f"PostgreSQL figures skipped: {reason}")
        yield None
        return
    async with fresh_database("postgres", Path(), "") as url:
        yield url


@asynccontextmanager
async def fresh_database(kind: str, directory: Path, name: str) -> AsyncIterator[str]:
    """A fresh database of `kind` ("sqlite" or "postgres"; the caller checked it answers)."""
    if kind == "sqlite":
        yield databases.sqlite_url(directory, name)
        return
    url = await databases.create_postgres_database()
    try:
        yield url
    finally:
        await databases.drop_postgres_database(url)
