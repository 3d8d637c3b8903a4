"""Fixtures of the inspection service's tests: the service on SQLite and PostgreSQL with a
settable clock, its broker unreachable (events go through the consumer runner) and its daily jobs
off (tests run them)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.inspection.main import create_app as create_inspection_app
from shared.testing.services import running_service
from tests.inspection.support import Clock, Inspection

QUIET = {"consumers_enabled": False, "relay_enabled": False, "cutoff_enabled": False,
         "maintenance_check_enabled": False}


@pytest.fixture
async def inspection(database_url: str) -> AsyncIterator[Inspection]:
    clock = Clock()
    async with running_service(create_inspection_app, database_url, **QUIET) as svc:
        svc.runtime.clock = clock
        yield Inspection(svc, clock)


@pytest.fixture
def usccs(unique: str):  # type: ignore[no-untyped-def]
    """usccs(n) → this test's n-th USCC (18 characters of the USCC alphabet)."""
    return lambda n=0: f"{unique}{n:02d}".ljust(18, "0")
