"""Fixtures of the enforcement service's integration tests: the service on SQLite and PostgreSQL
with a settable clock and its broker unreachable (events go through the consumer runner), its
background jobs off so that tests decide when the SLA sweep and webhook worker run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.enforcement.main import create_app as create_enforcement_app
from shared.testing.services import running_service
from tests.enforcement.support import Clock, Enforcement


@pytest.fixture
async def enforcement(database_url: str) -> AsyncIterator[Enforcement]:
    clock = Clock()
    async with running_service(
        create_enforcement_app, database_url, consumers_enabled=False, relay_enabled=False,
        sla_sweep_enabled=False, webhooks_enabled=False, plans_enabled=False, log_level="WARNING",
    ) as svc:
        svc.runtime.clock = clock
        yield Enforcement(svc, clock)


@pytest.fixture
async def enforcement_lite(sqlite_database_url: str) -> AsyncIterator[Enforcement]:
    """The same service on SQLite only, for tests whose subject is not the database."""
    clock = Clock()
    async with running_service(
        create_enforcement_app, sqlite_database_url, consumers_enabled=False, relay_enabled=False,
        sla_sweep_enabled=False, webhooks_enabled=False, plans_enabled=False, log_level="WARNING",
    ) as svc:
        svc.runtime.clock = clock
        yield Enforcement(svc, clock)


@pytest.fixture
def usccs(unique: str):  # type: ignore[no-untyped-def]
    """usccs(n) → this test's n-th USCC (18 characters of the USCC alphabet)."""
    return lambda n=0: f"{unique}{n:02d}".ljust(18, "0")
