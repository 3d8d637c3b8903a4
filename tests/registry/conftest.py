"""Fixtures of the registry's tests: the service on SQLite and PostgreSQL (``database_url``),
with its daily job and relay off so that tests decide when things happen and read the outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.registry.main import create_app as create_registry_app
from shared.testing.services import RunningService, running_service


@pytest.fixture
async def registry(database_url: str) -> AsyncIterator[RunningService]:
    async with running_service(
        create_registry_app, database_url, daily_job_enabled=False, relay_enabled=False, log_level="WARNING"
    ) as svc:
        yield svc
