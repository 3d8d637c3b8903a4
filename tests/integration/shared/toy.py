"""A toy service for testing the shared machinery on its own: one table, one event type, one
consumer that records what it applied. Also runnable as a process (``python -m``) so that tests
can kill a consumer with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import ClassVar

from sqlalchemy import Column, Integer, String, Table, func, insert, select

from shared.app import ServiceDefinition, ServiceRuntime, build_runtime, start_runtime, stop_runtime
from shared.config import ServiceSettings
from shared.context import ServiceContext
from shared.contracts.registry import ENTERPRISE_REGISTERED
from shared.db import PlatformTables, new_metadata
from shared.events.consumer import Subscription
from shared.events.envelope import ReceivedEvent
from shared.observability import metrics
from shared.testing.services import SESSION_TIMEOUT_MS

metadata = new_metadata()
tables = PlatformTables(metadata)
applied = Table(
    "applied", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36), nullable=False),  # deliberately not unique: a double apply shows
    Column("uscc", String(18), nullable=False),
    Column("revision", Integer, nullable=False),
)


DELIVERY_LOG = os.environ.get("SAFEGRID_TOY_DELIVERY_LOG")


class ToySettings(ServiceSettings):
    service_name: ClassVar[str] = "toy"


def toy_settings(database_url: str, bootstrap: str, **overrides: object) -> ToySettings:
    """The toy's settings, with the short consumer session of every test (``SESSION_TIMEOUT_MS``)."""
    return ToySettings(database_url=database_url, kafka_bootstrap_servers=bootstrap, environment="test",
                       consumer_retry_backoff_s=0.05, **{"kafka_session_timeout_ms": SESSION_TIMEOUT_MS, **overrides})


def definition(settings: ToySettings, subscriptions: list[Subscription] | None = None) -> ServiceDefinition:
    """The toy service as the app factory would declare it (it has no migrations: tests create
    its schema directly)."""
    return ServiceDefinition(
        settings=settings, tables=tables, migrations=Path(__file__).parent, subscriptions=tuple(subscriptions or ())
    )


def build(settings: ToySettings, subscriptions: list[Subscription] | None = None) -> ServiceRuntime:
    return build_runtime(definition(settings, subscriptions))


async def create_schema(runtime: ServiceRuntime) -> None:
    async with runtime.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)


def recording_handler(delay_s: float = 0.0, poison_names: frozenset[str] = frozenset()):  # type: ignore[no-untyped-def]
    async def handle(ctx: ServiceContext, event: ReceivedEvent) -> None:
        session = ctx.session
        if event.data.get("name") in poison_names:
            raise ValueError(f"cannot apply {event.data['name']}")
        if delay_s:
            await asyncio.sleep(delay_s)
        if DELIVERY_LOG:  # every delivery the handler saw, committed or not
            with open(DELIVERY_LOG, "a") as log:
                log.write(event.id + "\n")
        await session.execute(insert(applied).values(event_id=event.id, uscc=event.subject,
                                                     revision=event.data["revision"]))
    return handle


def subscription(handler, name: str = "recorder") -> Subscription:  # type: ignore[no-untyped-def]
    return Subscription(name=name, handlers_by_spec={ENTERPRISE_REGISTERED: handler})


async def count_applied(runtime: ServiceRuntime, uscc_prefix: str) -> tuple[int, int]:
    """(rows, distinct event ids) applied for enterprises whose USCC starts with the prefix: the
    topic is shared by the whole test session, so each test counts only its own events."""
    async with runtime.session_factory() as session:
        row = (await session.execute(select(func.count(), func.count(func.distinct(applied.c.event_id)))
                                     .where(applied.c.uscc.startswith(uscc_prefix)))).one()
        return int(row[0]), int(row[1])


def outcome_count(outcome: str, consumer: str = "recorder") -> float:
    total = 0.0
    for family in metrics.consumer_events.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("outcome") == outcome \
                    and sample.labels.get("consumer") == consumer and sample.labels.get("service") == "toy":
                total += sample.value
    return total


async def _main(database_url: str, bootstrap: str, delay_s: float, seconds: float, prefix: str, until: int) -> None:
    """Consume until ``until`` events of ``prefix`` are applied or ``seconds`` pass (or until
    killed), then print the outcome counts as JSON."""
    runtime = build(
        toy_settings(database_url, bootstrap, relay_enabled=False),
        [subscription(recording_handler(delay_s))],
    )
    await create_schema(runtime)
    await start_runtime(runtime)
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline and (await count_applied(runtime, prefix))[1] < until:
        await asyncio.sleep(0.1)
    await stop_runtime(runtime)
    print(json.dumps({o: outcome_count(o) for o in ("applied", "duplicate", "dead_lettered")}), flush=True)


if __name__ == "__main__":
    database_url, bootstrap, delay_s, seconds, prefix, until = sys.argv[1:7]
    asyncio.run(_main(database_url, bootstrap, float(delay_s), float(seconds), prefix, int(until)))
