"""The one context every use case receives: ``fn(ctx, ...)``.

A context is who acts (``principal``), in which unit of work (``session``), with what the
running service holds (``runtime``: settings, outbox, the service's own resources, the clock).
Requests, consumed events, background jobs and CLI commands all get theirs the same way:
``runtime.context(session, principal)``, which calls the factory the service gave the app
factory. Use cases flush, never commit: whoever opened the unit of work commits it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import SYSTEM, Principal
from shared.locality import business_date

if TYPE_CHECKING:
    from shared.app import ServiceRuntime
    from shared.config import ServiceSettings
    from shared.db import PlatformTables
    from shared.events.outbox import Outbox

ContextT = TypeVar("ContextT", bound="ServiceContext")


@dataclass
class ServiceContext:
    """The base every service's context extends with typed access to its own resources."""

    runtime: ServiceRuntime
    session: AsyncSession
    principal: Principal

    @property
    def settings(self) -> ServiceSettings:
        return self.runtime.settings

    @property
    def tables(self) -> PlatformTables:
        return self.runtime.tables

    @property
    def outbox(self) -> Outbox:
        return self.runtime.outbox

    @property
    def resources(self) -> Any:
        """What the service built once per process (caches, policies): see ``create_service_app``."""
        return self.runtime.resources

    @property
    def actor(self) -> str:
        """Who acts, as audit logs record it."""
        return self.principal.sub

    def now(self) -> datetime:
        """The service's clock (tests move it instead of sleeping)."""
        return self.runtime.clock()

    def today(self) -> date:
        """The business date (Asia/Shanghai) of ``now()``."""
        return business_date(self.now())


@asynccontextmanager
async def unit_of_work(runtime: ServiceRuntime, principal: Principal = SYSTEM) -> AsyncIterator[Any]:
    """One transaction outside a request (a job, a CLI command, a start-up step): the context
    is committed when the block ends without error and rolled back otherwise; the relay is then
    told that events may be waiting."""
    async with runtime.session_factory() as session, session.begin():
        yield runtime.context(session, principal)
    runtime.relay.notify()
