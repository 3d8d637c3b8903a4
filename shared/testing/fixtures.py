"""pytest plugin: the embedded broker (one per test session), databases on SQLite and
PostgreSQL, and running services. Enable with ``pytest_plugins = ["shared.testing.fixtures"]``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from shared.broker import EmbeddedBroker, free_port
from shared.testing import databases


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """A real Kafka-protocol broker on a free port, for the whole test session."""
    import asyncio

    from shared.events.kafka import ensure_topics

    embedded = EmbeddedBroker(port=free_port()).start()
    asyncio.run(ensure_topics(embedded.bootstrap_servers))
    try:
        yield embedded
    finally:
        embedded.stop()


BOTH_DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", autouse=True)
async def _database_templates() -> AsyncIterator[None]:
    """Each service's migrated template, made on first use (``databases.materialise``) and
    dropped when the session ends."""
    yield
    await databases.drop_templates()


@pytest.fixture(params=BOTH_DATABASES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database for a service: each test runs once on SQLite and once on PostgreSQL. It
    is made when the service starts on it, as a copy of its migrated schema."""
    async with databases.fresh_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=BOTH_DATABASES)
async def two_database_urls(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[tuple[str, str]]:
    """Two fresh databases of one kind, on SQLite and on PostgreSQL: for tests that compare what
    two runs of a service leave (each is made when its service starts on it)."""
    async with databases.fresh_database(request.param, tmp_path, "one") as one, \
            databases.fresh_database(request.param, tmp_path, "two") as two:
        yield one, two


@pytest.fixture(params=BOTH_DATABASES)
async def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database that exists at once, on SQLite and on PostgreSQL: for tests that
    make their own schema or run migrations themselves."""
    async with databases.fresh_database(request.param, tmp_path, unmade=False) as url:
        yield url


@pytest.fixture
async def sqlite_database_url(tmp_path: Path) -> str:
    """A fresh SQLite database, for tests whose subject is not the database."""
    return databases.sqlite_url(tmp_path)


@pytest.fixture
def broker_factory() -> Iterator[object]:
    """A private broker a test may stop and restart (the shared one must stay up). It starts
    without topics: await ``ensure_topics`` after each start."""
    started: list[EmbeddedBroker] = []

    def make() -> EmbeddedBroker:
        embedded = EmbeddedBroker(port=free_port()).start()
        started.append(embedded)
        return embedded

    yield make
    for embedded in started:
        embedded.stop()


@pytest.fixture
def unique() -> str:
    """A short unique prefix (digits and capitals) to tell this test's rows and events apart."""
    import uuid

    return uuid.uuid4().hex[:8].upper()
