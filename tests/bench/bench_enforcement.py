"""Enforcement's consumer: how fast it turns the headline chain's events into alerts, on SQLite
and, when it is reachable, PostgreSQL.

Each of N missing-records days (distinct station and date) arrives as inspection's
``filling_records.missing`` and scoring's ``score.updated`` caused by it, so each raises one
alert (with its history, its ``alert.raised`` and a webhook delivery to one subscription). The
records go through the platform's consumer runner as the broker hands them over, in fetches of
500; the baseline is the same runner applying the same fetches one event at a time (the path a
failed batch falls back to). Reported: events/s, SQL statements per event, and the ratio.

Run: .venv/bin/python tests/bench/bench_enforcement.py [N] (default 1,500 days: 3,000 events)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from sqlalchemy import event as sa_event

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.enforcement.main import create_app  # noqa: E402
from shared.contracts import inspection, registry, scoring  # noqa: E402
from shared.contracts.enforcement import ALERT_RAISED  # noqa: E402
from shared.events.spec import EventSpec  # noqa: E402
from shared.testing import databases  # noqa: E402
from shared.testing.events import consumer_record, event_id_of
from shared.testing.services import running_service  # noqa: E402
from tests.bench.postgres import fresh_database  # noqa: E402
from tests.enforcement.support import GRID, enterprise, inspectors, missing, score  # noqa: E402

FETCH = 500
STATIONS = 400
GRADES = "AAAAABBBCD"
BEFORE = datetime(2026, 6, 1, tzinfo=UTC)


def record(spec: EventSpec[Any], data: dict[str, Any], subject: str, offset: int) -> ConsumerRecord:
    return consumer_record(spec, data, offset=offset, subject=subject)


def uscc(n: int) -> str:
    return f"91371100{n:010d}"


def ledger() -> list[ConsumerRecord]:
    records = [record(registry.GRID_INSPECTORS_ASSIGNED, inspectors(), GRID, 0)]
    records += [record(registry.ENTERPRISE_REGISTERED, enterprise(uscc(n)), uscc(n), n + 1) for n in range(STATIONS)]
    # each station's grade before the chain, so that the chain's scores change none
    records += [record(scoring.SCORE_UPDATED, score(uscc(n), GRADES[n % 10], computed_at=BEFORE), uscc(n), n + 1)
                for n in range(STATIONS)]
    return records


def chain(days: int) -> list[ConsumerRecord]:
    """Per day: the missing-records event, then the score it caused (as scoring publishes it)."""
    records = []
    for i in range(days):
        unit, day = uscc(i % STATIONS), date(2026, 6, 15) - timedelta(days=i // STATIONS)
        gone = record(inspection.FILLING_RECORDS_MISSING, missing(unit, day), unit, 2 * i)
        event_id = event_id_of(gone)
        records.append(gone)
        scored = score(unit, GRADES[i % 10], trigger=inspection.FILLING_RECORDS_MISSING, trigger_id=event_id, day=day)
        records.append(record(scoring.SCORE_UPDATED, scored, unit, 2 * i + 1))
    return records


async def measure(url: str, days: int, together: bool) -> tuple[float, float]:
    """(events/s, statements per event) for applying the chain's records fetch by fetch."""
    async with running_service(create_app, url, consumers_enabled=False, relay_enabled=False, sla_sweep_enabled=False,
                               webhooks_enabled=False, plans_enabled=False, log_level="WARNING") as svc:
        runner = svc.runtime.consumers[0]
        admin = svc.auth("admin", sub="bench")
        subscribed = await svc.client.post("/api/v1/webhooks", headers=admin, json={
            "url": "https://hooks.example.org/alerts", "event_types": [ALERT_RAISED.type]})
        assert subscribed.status_code == 201, subscribed.text
        for record_ in ledger():
            await runner.process(record_)
        statements = 0

        def count(*_: object) -> None:
            nonlocal statements
            statements += 1

        engine = svc.runtime.engine.sync_engine
        sa_event.listen(engine, "before_cursor_execute", count)
        records = chain(days)
        started = time.perf_counter()
        for start in range(0, len(records), FETCH):
            fetch = records[start:start + FETCH]
            if not (together and await runner.process_batch(fetch)):
                for record_ in fetch:
                    await runner.process(record_)
        elapsed = time.perf_counter() - started
        sa_event.remove(engine, "before_cursor_execute", count)
        raised = await svc.client.get("/api/v1/alerts", headers=admin, params={"limit": 1})
        assert raised.status_code == 200, raised.text
        return len(records) / elapsed, statements / len(records)


async def compare(name: str, kind: str, directory: Path, days: int) -> None:
    figures = {}
    for together in (False, True):
        async with fresh_database(kind, directory, f"enforcement-{together}") as url:
            figures[together] = await measure(url, days, together)
    (one, one_cost), (batch, batch_cost) = figures[False], figures[True]
    print(f"{name:10} one at a time {one:8,.0f} events/s {one_cost:5.1f} statements/event | "
          f"in batches {batch:8,.0f} events/s {batch_cost:5.1f} statements/event | ratio {batch / one:.2f}")


async def main(days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await compare("SQLite", "sqlite", Path(tmp), days)
    if reason := await databases.postgres_available():
        print(f"PostgreSQL figures skipped: {reason}")
        return
    await compare("PostgreSQL", "postgres", Path(), days)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1500))
