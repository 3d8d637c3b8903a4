"""Run a real service app in-process for tests: migrated database, real lifespan (relay,
consumers), an httpx client on the ASGI transport, and tokens."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from fastapi import FastAPI

from shared.app import ServiceDefinition, ServiceRuntime
from shared.auth import issue_token
from shared.migrations import upgrade
from shared.testing import databases

T = TypeVar("T")


@dataclass
class RunningService:
    name: str
    app: FastAPI
    client: httpx.AsyncClient

    @property
    def runtime(self) -> ServiceRuntime:
        return self.app.state.runtime

    def token(self, role: str, **claims: Any) -> str:
        return issue_token(self.runtime.settings, role=role, **claims)

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **claims)}"}


AppFactory = Callable[..., FastAPI]

# The embedded broker holds a new member's join for about half the session timeout and a group's
# rejoin after a member left for about twice it: the default 10 s cost a consumer 5 s before its
# first message and 18 s after a restart. 3 s keeps aiokafka's 1 s heartbeat at a third of it.
SESSION_TIMEOUT_MS = 3000


def test_settings(create_app: AppFactory, database_url: str, bootstrap_servers: str = "127.0.0.1:1",
                  **overrides: Any) -> Any:
    """The service's own settings class, for a test: its database, its broker, environment test,
    and a short consumer session (``SESSION_TIMEOUT_MS``)."""
    settings_cls = type(create_app().state.definition.settings)
    return settings_cls(database_url=database_url, kafka_bootstrap_servers=bootstrap_servers,
                        environment="test", **{"kafka_session_timeout_ms": SESSION_TIMEOUT_MS, **overrides})


async def migrated_service_app(create_app: AppFactory, database_url: str, bootstrap_servers: str = "127.0.0.1:1",
                               **overrides: Any) -> FastAPI:
    """The app ``create_app`` builds, on a migrated ``database_url``, not started: whoever serves
    it runs its lifespan (``running_service`` does; so does an ASGI client such as schemathesis')."""
    app = create_app(test_settings(create_app, database_url, bootstrap_servers, **overrides))
    definition: ServiceDefinition = app.state.definition
    if not await databases.materialise(database_url, definition.migrations):
        await upgrade(definition.migrations, definition.settings.effective_database_url)
    return app


@asynccontextmanager
async def running_service(create_app: AppFactory, database_url: str, bootstrap_servers: str = "127.0.0.1:1",
                          **overrides: Any) -> AsyncIterator[RunningService]:
    """The app ``create_app`` builds, migrated and started (its real lifespan: relay, consumers,
    jobs). ``bootstrap_servers`` defaults to a closed port: the service runs with the broker down."""
    app = await migrated_service_app(create_app, database_url, bootstrap_servers, **overrides)
    name = app.state.definition.settings.service_name
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{name}") as client:
            yield RunningService(name=name, app=app, client=client)


async def eventually(probe: Callable[[], Awaitable[T]], *, timeout_s: float = 10.0,
                     interval_s: float = 0.05, what: str = "condition") -> T:
    """Poll ``probe`` until it returns a truthy value, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while True:
        last = await probe()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval_s)


async def apply_in_fetches(runner: Any, records: list[Any], seed: int) -> None:
    """Hand ``records`` to a consumer runner's batch path in fetches of seeded sizes, as a broker
    would; fails when a fetch falls back to one message at a time (a fetch of one record is
    applied alone, so none is left at the end)."""
    rng, start = random.Random(seed), 0
    while start < len(records):
        size = rng.choice([2, 5, 17, 60])
        if len(records) - start - size == 1:
            size += 1
        assert await runner.process_batch(records[start:start + size]), "the batch fell back to one message at a time"
        start += size
