"""Fixtures of the portal's tests: the portal with a settable clock and its broker unreachable
(events go through the consumer runner), and for the public pages a real registry app, in
process, that resolves tokens through its public API as it would over the network."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from services.portal.main import create_app as create_portal_app
from services.registry.main import create_app as create_registry_app
from shared.testing.databases import sqlite_url
from shared.testing.services import RunningService, running_service
from tests.portal.support import Clock, Portal


async def _portal(database_url: str, registry: RunningService | None = None) -> AsyncIterator[Portal]:
    clock = Clock()
    async with running_service(create_portal_app, database_url, consumers_enabled=False, relay_enabled=False,
                               log_level="WARNING") as svc:
        svc.runtime.clock = clock
        if registry is not None:
            svc.runtime.resources.registry_transport = httpx.ASGITransport(app=registry.app)
        yield Portal(svc, clock)


@pytest.fixture
async def portal(database_url: str) -> AsyncIterator[Portal]:
    """The portal alone, on SQLite and PostgreSQL: its read model and its own tables."""
    async for p in _portal(database_url):
        yield p


@pytest.fixture
async def registry(tmp_path: Path) -> AsyncIterator[RunningService]:
    async with running_service(create_registry_app, sqlite_url(tmp_path, "registry"), daily_job_enabled=False,
                               relay_enabled=False, consumers_enabled=False, log_level="WARNING") as svc:
        yield svc


@pytest.fixture
async def public(sqlite_database_url: str, registry: RunningService) -> AsyncIterator[Portal]:
    """The portal on SQLite (the database is not the subject) beside a real registry."""
    async for p in _portal(sqlite_database_url, registry):
        yield p


@pytest.fixture
async def lone(sqlite_database_url: str) -> AsyncIterator[Portal]:
    """The portal alone on SQLite, where neither registry nor the database is the subject."""
    async for p in _portal(sqlite_database_url):
        yield p
