"""Throwaway databases for tests: a SQLite file, or a fresh PostgreSQL database per test.

Running a service's migrations costs about half a second, and nearly every test starts a service
on a fresh database. So a service's schema is migrated once per test session into a template (a
SQLite file, a PostgreSQL template database), and each test's database is a copy of it: a fresh
database is handed out *unmade*, and ``materialise`` makes it, from the template of the migrations
about to run on it, or empty. A test that opens an unmade PostgreSQL database itself fails at once
("database does not exist"): ask for an empty one (``fresh_database(..., unmade=False)``)."""

from __future__ import annotations

import asyncio
import os
import shutil
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


def postgres_url(name: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{name}"


async def create_postgres_database(name: str | None = None, template: str | None = None) -> str:
    name = name or f"safegrid_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    finally:
        await connection.close()
    return postgres_url(name)


async def drop_postgres_database(url: str) -> None:
    name = url.rpartition("/")[2]
    connection = await asyncpg.connect(POSTGRES_ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def sqlite_url(directory: Path, name: str = "test") -> str:
    return f"sqlite+aiosqlite:///{directory / (name + '.db')}"


# --- templates: each service's migrations run once per session --------------------------------

_unmade: set[str] = set()  # PostgreSQL URLs handed out whose database is not created yet
_templates: dict[tuple[str, Path], str] = {}  # (kind, migrations) -> template file or database
_template_lock = asyncio.Lock()


async def materialise(database_url: str, migrations: Path) -> bool:
    """Make a database handed out unmade, as a copy of ``migrations``' template; True if it was
    unmade (the copy is already at head), False if it existed and the caller must migrate it."""
    from shared.migrations import upgrade

    sqlite_file = _sqlite_file(database_url)
    if sqlite_file is None and database_url not in _unmade:
        return False
    if sqlite_file is not None and sqlite_file.exists():
        return False
    kind = "sqlite" if sqlite_file is not None else "postgres"
    async with _template_lock:
        template = _templates.get((kind, migrations))
        if template is None:
            if sqlite_file is not None:
                template = str(_template_directory() / f"{migrations.parent.name}-{len(_templates)}.db")
                await upgrade(migrations, f"sqlite+aiosqlite:///{template}")
            else:
                template = f"safegrid_template_{os.getpid()}_{uuid.uuid4().hex[:8]}"
                await upgrade(migrations, await create_postgres_database(template))
            _templates[(kind, migrations)] = template
    if sqlite_file is not None:
        shutil.copyfile(template, sqlite_file)
    else:
        await create_postgres_database(database_url.rpartition("/")[2], template=template)
        _unmade.discard(database_url)
    return True


async def drop_templates() -> None:
    """Remove every template this session made (at the end of the session)."""
    for (kind, _), template in list(_templates.items()):
        if kind == "postgres":
            await drop_postgres_database(postgres_url(template))
        else:
            Path(template).unlink(missing_ok=True)
    _templates.clear()


def _sqlite_file(database_url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    return Path(database_url.removeprefix(prefix)) if database_url.startswith(prefix) else None


_template_root: Path | None = None


def _template_directory() -> Path:
    import tempfile

    global _template_root
    if _template_root is None:
        _template_root = Path(tempfile.mkdtemp(prefix="safegrid-templates-"))
    return _template_root


@asynccontextmanager
async def fresh_database(kind: str, directory: Path, name: str = "test", *, unmade: bool = True
                         ) -> AsyncIterator[str]:
    """A fresh database of ``kind`` ("sqlite" or "postgres"), dropped afterwards: unmade (see
    ``materialise``) unless ``unmade=False`` asks for an empty one at once. PostgreSQL skips the
    test when it is not running, or fails it where it is required (CI)."""
    if kind == "sqlite":
        yield sqlite_url(directory, name)
        return
    import pytest

    reason = await postgres_available()
    if reason:
        if POSTGRES_REQUIRED:
            pytest.fail(f"PostgreSQL is required here (SAFEGRID_TEST_POSTGRES_REQUIRED=1): {reason}")
        pytest.skip(reason)
    if unmade:
        url = postgres_url(f"safegrid_test_{uuid.uuid4().hex[:12]}")
        _unmade.add(url)
    else:
        url = await create_postgres_database()
    try:
        yield url
    finally:
        if url in _unmade:
            _unmade.discard(url)
        else:
            await drop_postgres_database(url)
