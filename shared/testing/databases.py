"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg

POSTGRES_ADMIN_URL = os.environ.get("SAFEGRID_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
POSTGRES_REQUIRED = os.environ.get("SAFEGRID_TEST_POSTGRES_REQUIRED") == "1"


async def postgres_available() -> str | None:
    """None when PostgreSQL answers, else the reason it does not."""
    try:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}"
    await connection.close()
    return None


async def create_postgres_database() -> str:
    name = f"safegrid_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


async def drop_postgres_database(url: str) -> None:
    name = url.rpartition("/")[2]
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def sqlite_url(directory: Path, name: str = "test") -> str:
    return f"sqlite+aiosqlite:///{directory / (name + '.db')}"


@asynccontextmanager
async def fresh_database(kind: str, directory: Path, name: str = "test") -> AsyncIterator[str]:
    """A fresh, empty database of ``kind`` ("sqlite" or "postgres"), dropped afterwards.
    PostgreSQL skips the test when it is not running, or fails it where it is required (CI)."""
    if kind == "sqlite":
        yield sqlite_url(directory, name)
        return
    import pytest

    reason = await postgres_available()
    if reason:
        if POSTGRES_REQUIRED:
            pytest.fail(f"PostgreSQL is required here (SAFEGRID_TEST_POSTGRES_REQUIRED=1): {reason}")
        pytest.skip(reason)
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)
