"""Scoring throughput, each figure against the pure computation measured in this same run.

1. Rescoring from events: registry and cut-off events through the real consumer runner into a
   SQLite and a PostgreSQL database (projection, score, history, grade periods, outbox), on an embedded broker,
   against compute_score + decide_grade alone on the same facts.
2. A full rescore of 100,000 enterprises after a model change (target: under 30 s on 2 cores),
   against the pure computation of the same 100,000 scores.

Run: .venv/bin/python tests/bench/bench_scoring.py [ENTERPRISES] [EVENTS]   (defaults 100000 5000)
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from aiokafka import AIOKafkaProducer  # noqa: E402

from services.catalog import BY_NAME  # noqa: E402
from services.scoring import jobs  # noqa: E402
from services.scoring import models as t  # noqa: E402
from services.scoring.config import Settings  # noqa: E402
from services.scoring.domain import (  # noqa: E402
    DEFAULT_MODEL_PATH,
    GradePeriod,
    business_date,
    compute_score,
    decide_grade,
    facts_from_rows,
)
from services.scoring.main import create_app  # noqa: E402
from services.scoring.model_versions import service as model_versions  # noqa: E402
from services.scoring.models import platform  # noqa: E402
from services.scoring.scores import repository as repo  # noqa: E402
from shared.app import ServiceDefinition, build_runtime, start_runtime, stop_runtime  # noqa: E402
from shared.broker import EmbeddedBroker, free_port  # noqa: E402
from shared.context import unit_of_work  # noqa: E402
from shared.contracts import inspection, registry  # noqa: E402
from shared.contracts.common import MANAGEMENT_KEYS  # noqa: E402
from shared.events.consumer import Subscription  # noqa: E402
from shared.events.envelope import OutgoingEvent, to_kafka  # noqa: E402
from shared.events.kafka import ensure_topics  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from tests.bench.postgres import postgres_database  # noqa: E402

NOW = datetime.now(UTC)
TODAY = business_date(NOW)
JURISDICTIONS = ["371102", "371103", "371121", "371122"]


def uscc_of(i: int) -> str:
    return f"9137{i:014d}"


async def migrated(url: str) -> None:
    await upgrade(BY_NAME["scoring"].migrations, url)


# --- 1. rescoring from events ---------------------------------------------------------------

def event_stream(enterprises: int, events: int) -> list[tuple[Any, dict[str, Any]]]:
    """Registrations first, then a mix of cut-off results, equipment and snapshot updates."""
    rng = random.Random(7)
    stream: list[tuple[Any, dict[str, Any]]] = []
    revisions = {}
    for i in range(enterprises):
        uscc = uscc_of(i)
        revisions[uscc] = 1
        stream.append((registry.ENTERPRISE_REGISTERED, registry.EnterpriseSnapshot(
            uscc=uscc, revision=1, name=f"企业{i}", jurisdiction_code=JURISDICTIONS[i % 4], venue_type="other",
            kinds=["gas_filling"] if i % 3 == 0 else [], general_credit_grade="ABCD"[i % 4],
            management={k: {"in_place": (i + n) % 7 != 0, "source": "declared", "as_of": NOW - timedelta(days=40)}
                        for n, k in enumerate(MANAGEMENT_KEYS)}).model_dump(mode="json")))
    for n in range(events - enterprises):
        uscc = uscc_of(rng.randrange(enterprises))
        kind = n % 3
        if kind == 0:
            day = TODAY - timedelta(days=rng.randrange(80))
            stream.append((inspection.FILLING_RECORDS_MISSING, {
                "enterprise_uscc": uscc, "business_date": day.isoformat(), "cutoff_at": NOW.isoformat()}))
        elif kind == 1:
            stream.append((registry.EQUIPMENT_REGISTERED, {
                "uscc": uscc, "equipment_id": f"EQ{n}", "revision": 1, "category": "2300",
                "registration_no": None if n % 5 == 0 else "R", "status": "in_use",
                "next_inspection_due": (TODAY + timedelta(days=rng.randrange(-30, 300))).isoformat()}))
        else:
            revisions[uscc] += 1
            stream.append((registry.ENTERPRISE_UPDATED, registry.EnterpriseSnapshot(
                uscc=uscc, revision=revisions[uscc], name="企业", jurisdiction_code="371102", venue_type="mall",
                general_credit_grade="ABCD"[n % 4]).model_dump(mode="json")))
    return stream


async def produce(bootstrap: str, stream: list[tuple[Any, dict[str, Any]]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = []
        for spec, data in stream:
            subject = data.get("uscc") or data["enterprise_uscc"]
            event = OutgoingEvent(type=spec.type, source=spec.source, subject=subject, data=data)
            message = to_kafka(event.attributes(), data, subject)
            futures.append(await producer.send(spec.topic, message.value, key=subject.encode(),
                                               headers=list(message.headers.items())))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def rescoring_from_events(bootstrap: str, url: str, enterprises: int, events: int) -> tuple[float, float]:
    """(events/s through the consumer runner, rescorings/s of the pure computation on the same facts)."""
    await migrated(url)
    settings = Settings(database_url=url, kafka_bootstrap_servers=bootstrap, environment="test", relay_enabled=False,
                        nightly_rescore_enabled=False, projection_consumer=f"bench-{time.time_ns()}")
    definition: ServiceDefinition = create_app(settings).state.definition
    [subscription] = definition.subscriptions
    done, handled, first_at = asyncio.Event(), 0, 0.0

    def counted(handler):  # type: ignore[no-untyped-def]
        async def handle(ctx, event):  # type: ignore[no-untyped-def]
            nonlocal handled, first_at
            first_at = first_at or time.perf_counter()  # timed from the first event: the group join excluded
            await handler(ctx, event)
            handled += 1
            if handled >= events:
                done.set()
        return handle

    def counted_batch(apply):  # type: ignore[no-untyped-def]
        async def handle(ctx, events):  # type: ignore[no-untyped-def]
            nonlocal handled, first_at
            first_at = first_at or time.perf_counter()
            await apply(ctx, events)
            handled += len(events)
            if handled >= events_total:
                done.set()
        return handle

    events_total = events
    counting = Subscription(name=subscription.name,
                            handlers_by_spec={s: counted(h) for s, h in subscription.handlers_by_spec.items()},
                            batch=counted_batch(subscription.batch))
    await produce(bootstrap, event_stream(enterprises, events))
    runtime = build_runtime(dataclasses.replace(definition, subscriptions=(counting,)))
    await start_runtime(runtime)
    await done.wait()
    elapsed = time.perf_counter() - first_at
    consumed = events / elapsed

    # The pure computation, once per event, on the facts the projection ended with.
    async with unit_of_work(runtime) as ctx:
        model = await model_versions.in_effect(ctx, TODAY)
        rows = await repo.load_enterprise_state(ctx.session, [uscc_of(i) for i in range(enterprises)],
                                                ceiling_since=TODAY - timedelta(days=365))
    await stop_runtime(runtime)
    facts = [facts_from_rows(r) for r in rows.values()]
    started = time.perf_counter()
    for n in range(events):
        f = facts[n % len(facts)]
        result = compute_score(f, model, NOW)
        decide_grade(result.raw_grade, f, [GradePeriod(grade="C", from_date=TODAY - timedelta(days=30),
                                                       to_date=TODAY - timedelta(days=10))], None, NOW, model.policy)
    pure = events / (time.perf_counter() - started)
    return consumed, pure


# --- 2. a full rescore of many enterprises --------------------------------------------------

async def bulk_projection(url: str, enterprises: int) -> int:
    """Insert a realistic projection of `enterprises` quickly (executemany in chunks)."""
    rng = random.Random(11)
    runtime = build_runtime(create_app(Settings(database_url=url)).state.definition)
    sessions = runtime.session_factory
    facts = 0
    as_of = (NOW - timedelta(days=60)).isoformat()
    for start in range(0, enterprises, 10_000):
        tables: dict[Any, list[dict[str, Any]]] = {t: [] for t in (
            t.profiles, t.equipment, t.operators, t.tasks, t.hazards, t.missing_days, t.cases,
            t.penalties, t.accidents)}
        for i in range(start, min(start + 10_000, enterprises)):
            uscc, ev = uscc_of(i), f"ev-{i}"
            tables[t.profiles].append({
                "uscc": uscc, "revision": 1, "name": f"企业{i}", "jurisdiction_code": JURISDICTIONS[i % 4],
                "venue_type": "school" if i % 20 == 0 else "other", "kinds": ["gas_filling"] if i % 50 == 0 else [],
                "general_credit_grade": rng.choice(["A", "A", "A", "A", "B", "B", "C", "D", None]),
                "key_supervision": i % 20 == 0,
                "operating": True, "general_credit_event_id": ev, "profile_event_id": ev, "snapshot_event_id": ev,
                "management": {k: {"in_place": rng.random() > 0.08, "source": "declared", "as_of": as_of,
                                   "event_id": ev} for k in MANAGEMENT_KEYS}})
            for n in range(rng.randrange(1, 4)):
                tables[t.equipment].append({
                    "uscc": uscc, "equipment_id": f"E{n}", "revision": 1,
                    "category": rng.choice(["2300", "3000", "4000"]),
                    "registered": rng.random() > 0.03, "status": "in_use",
                    "next_inspection_due": TODAY + timedelta(days=rng.randrange(-20, 700)), "event_id": ev})
            for n in range(rng.randrange(0, 3)):
                tables[t.operators].append({
                    "uscc": uscc, "operator_id": f"O{n}", "revision": 1, "active": True, "event_id": ev,
                    "certificate_valid_until": TODAY + timedelta(days=rng.randrange(-60, 1500))})
            tables[t.tasks].append({"uscc": uscc, "task_id": "T1", "due_date": TODAY - timedelta(days=5),
                                       "completed": rng.random() > 0.1, "closed_at": NOW, "event_id": ev})
            if rng.random() < 0.05:
                tables[t.hazards].append({"uscc": uscc, "hazard_id": "H1", "raised_event_id": ev,
                                             "deadline_date": TODAY - timedelta(days=rng.randrange(-10, 10))})
            if i % 50 == 0:
                for d in range(rng.randrange(0, 4)):
                    tables[t.missing_days].append({"uscc": uscc, "event_id": f"m{d}-{i}",
                                                      "business_date": TODAY - timedelta(days=d * 7)})
            if rng.random() < 0.04:
                tables[t.cases].append({"uscc": uscc, "case_id": "C1", "event_id": ev,
                                           "opened_date": TODAY - timedelta(days=rng.randrange(1000))})
                tables[t.penalties].append({"uscc": uscc, "penalty_id": "F1", "event_id": ev,
                                               "decided_date": TODAY - timedelta(days=rng.randrange(1000))})
            if rng.random() < 0.005:
                tables[t.accidents].append({"uscc": uscc, "accident_id": "A1", "responsible": True, "event_id": ev,
                                               "severity": "general", "occurred_date": date(TODAY.year - 1, 3, 1)})
        async with sessions() as session, session.begin():
            for table, rows in tables.items():
                if rows:
                    await session.execute(table.insert(), rows)
                    facts += len(rows)
    await stop_runtime(runtime)
    return facts


def changed_model_text() -> str:
    document = yaml.safe_load(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))
    document["model_version"] = "bench-2026.2"
    document["effective_from"] = TODAY
    document["indicators"][0]["params"]["unknown"] = 5
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


async def full_rescore(url: str, enterprises: int) -> dict[str, float]:
    await migrated(url)
    started = time.perf_counter()
    facts = await bulk_projection(url, enterprises)
    loaded_s = time.perf_counter() - started
    runtime = build_runtime(create_app(Settings(database_url=url)).state.definition)

    started = time.perf_counter()
    first = await jobs.rescore_everyone(runtime, jobs.ADMIN_RESCORE, actor="bench")
    initial_s = time.perf_counter() - started

    async with unit_of_work(runtime) as ctx:
        await model_versions.store_model(ctx, changed_model_text(), "bench")
    started = time.perf_counter()
    after = await jobs.rescore_everyone(runtime, jobs.MODEL_LOADED, actor="bench")
    model_change_s = time.perf_counter() - started
    assert after["model_version"] == "bench-2026.2" and after["changed"] == enterprises, after

    # The pure computation of the same scores (facts loaded untimed, chunk by chunk).
    pure_s = 0.0
    async with unit_of_work(runtime) as ctx:
        session = ctx.session
        model = await model_versions.in_effect(ctx, TODAY)
        for start in range(0, enterprises, 5000):
            rows = await repo.load_enterprise_state(
                session, [uscc_of(i) for i in range(start, min(start + 5000, enterprises))],
                ceiling_since=TODAY - timedelta(days=365))
            facts_list = [(facts_from_rows(r), r.periods) for r in rows.values()]
            t = time.perf_counter()
            for f, held in facts_list:
                result = compute_score(f, model, NOW)
                decide_grade(result.raw_grade, f, [GradePeriod.model_validate(p) for p in held], None, NOW,
                             model.policy)
            pure_s += time.perf_counter() - t
        outbox = (await session.execute(select(func.count()).select_from(platform.outbox))).scalar_one()
    await stop_runtime(runtime)
    return {"facts": facts, "loaded_s": loaded_s, "initial_s": initial_s, "model_change_s": model_change_s,
            "pure_s": pure_s, "outbox": outbox, "grade_changes": after["grade_changes"],
            "initial_grade_changes": first["grade_changes"]}


async def main(enterprises: int, events: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        broker = EmbeddedBroker(port=free_port()).start()
        rescoring = []
        try:
            await ensure_topics(broker.bootstrap_servers)
            async with postgres_database() as pg:
                for name, url in [("SQLite", f"sqlite+aiosqlite:///{tmp}/events.db"), ("PostgreSQL", pg)]:
                    if url:
                        rescoring.append((name, *await rescoring_from_events(
                            broker.bootstrap_servers, url, min(1000, events // 2), events)))
        finally:
            broker.stop()
        full = await full_rescore(f"sqlite+aiosqlite:///{tmp}/full.db", enterprises)

    print(f"1. rescoring from events: {events} events (registrations, cut-off results, equipment, snapshots) "
          "through the consumer runner, embedded broker, one process")
    for name, consumed, pure_events in rescoring:
        print(f"  {name:10} consumer runner + rescoring  {consumed:8.0f} events/s   "
              f"ratio {consumed / pure_events:.2f} of the pure computation (goal >= 2,000 and >= 0.2)")
        print(f"  {name:10} pure compute + decide        {pure_events:8.0f} rescorings/s")
    rate = enterprises / full["model_change_s"]
    pure_rate = enterprises / full["pure_s"]
    print(f"2. full rescore of {enterprises} enterprises ({full['facts']} projection rows bulk-loaded in "
          f"{full['loaded_s']:.1f} s), SQLite")
    print(f"  first scoring of everyone    {full['initial_s']:10.1f} s   "
          f"({full['initial_grade_changes']} first grades, periods and grade.changed events)")
    print(f"  after a model change         {full['model_change_s']:10.1f} s   {rate:8.0f} enterprises/s  "
          f"(target < 30 s; {full['grade_changes']} grade changes)")
    print(f"  pure compute + decide        {full['pure_s']:10.1f} s   {pure_rate:8.0f} enterprises/s  "
          f"ratio {rate / pure_rate:.2f} of the pure computation")
    print(f"  outbox rows written          {full['outbox']:10d}   (score.updated for every enterprise, twice, "
          "plus grade.changed; bulk-inserted)")


if __name__ == "__main__":  # the guard matters: the full rescore's worker processes import this module
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [100_000, 5000][len(args):])))
