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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: each test runs once on SQLite and once on PostgreSQL."""
    async with databases.fresh_database(request.param, tmp_path) as url:
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
