"""Fixtures of the scoring service's integration tests: the service on SQLite and PostgreSQL
with a settable clock and its broker unreachable (events go through the consumer runner)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from services.scoring.main import create_app as create_scoring_app
from shared.testing.services import running_service
from tests.scoring.support import Clock, Scoring


@pytest.fixture
async def scoring(database_url: str) -> AsyncIterator[Scoring]:
    """The scoring service with its broker unreachable: events are delivered through `deliver`."""
    clock = Clock()
    async with running_service(
        create_scoring_app, database_url, consumers_enabled=False, relay_enabled=False, nightly_rescore_enabled=False
    ) as svc:
        svc.runtime.clock = clock
        yield Scoring(svc, clock)


@pytest.fixture
def usccs(unique: str):  # type: ignore[no-untyped-def]
    """usccs(n) → this test's n-th USCC (18 characters of the USCC alphabet)."""
    return lambda n=0: f"{unique}{n:02d}".ljust(18, "0")
