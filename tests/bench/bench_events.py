"""Outbox relay and consumer runner throughput against raw aiokafka on the same broker.

Run: .venv/bin/python tests/bench/bench_events.py [N]. Prints events/s and ratios; a ratio is
the platform's figure over the raw client's, measured in this same run (1.0 = no overhead)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.app import start_runtime, stop_runtime  # noqa: E402
from shared.broker import EmbeddedBroker, free_port  # noqa: E402
from shared.contracts.registry import ENTERPRISE_REGISTERED, EnterpriseSnapshot  # noqa: E402
from shared.db import new_uuid  # noqa: E402
from shared.events.envelope import OutgoingEvent, to_kafka  # noqa: E402
from shared.events.kafka import ensure_topics  # noqa: E402
from tests.integration.shared import toy  # noqa: E402

TOPIC = ENTERPRISE_REGISTERED.topic


def payload(i: int) -> tuple[str, dict[str, object]]:
    uscc = f"{i % 997:018d}"
    return uscc, EnterpriseSnapshot(uscc=uscc, revision=i + 1, name=f"企业{i}", jurisdiction_code="371102",
                                    venue_type="other").model_dump(mode="json")


async def raw_produce(bootstrap: str, n: int) -> float:
    messages = []
    for i in range(n):
        uscc, data = payload(i)
        event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data)
        messages.append(to_kafka(event.attributes(), data, uscc))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    futures = [await producer.send(TOPIC, m.value, key=m.key.encode(), headers=list(m.headers.items()))
               for m in messages]
    await asyncio.gather(*futures)
    elapsed = time.perf_counter() - started
    await producer.stop()
    return n / elapsed


async def relay_throughput(bootstrap: str, database_url: str, n: int) -> float:
    runtime = toy.build(toy.toy_settings(database_url, bootstrap, consumers_enabled=False, relay_enabled=False))
    await toy.create_schema(runtime)
    rows = []
    for i in range(n):
        uscc, data = payload(i)
        event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data)
        rows.append({"event_id": event.id, "topic": TOPIC, "key": uscc, "event_type": event.type,
                     "attributes": event.attributes(), "data": data})
    async with runtime.session_factory() as session, session.begin():
        await session.execute(insert(toy.tables.outbox), rows)
    started = time.perf_counter()
    published = 0
    while published < n:
        published += await runtime.relay.drain_once()
    elapsed = time.perf_counter() - started
    await stop_runtime(runtime)
    return n / elapsed


async def raw_consume(bootstrap: str, n: int) -> float:
    consumer = AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"raw-{new_uuid()}",
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    seen, started = 0, 0.0
    while seen < n:
        for tp, records in (await consumer.getmany(timeout_ms=500, max_records=200)).items():
            started = started or time.perf_counter()
            seen += len(records)
            await consumer.commit({tp: records[-1].offset + 1})
    elapsed = time.perf_counter() - started
    await consumer.stop()
    return n / elapsed


async def runner_consume(bootstrap: str, database_url: str, n: int) -> float:
    done = asyncio.Event()
    count = 0
    first_at = 0.0
    inner = toy.recording_handler()

    async def handler(ctx, event):  # type: ignore[no-untyped-def]
        nonlocal count, first_at
        first_at = first_at or time.perf_counter()  # timed from the first event: group join excluded
        await inner(ctx, event)
        count += 1
        if count >= n:
            done.set()

    runtime = toy.build(
        toy.toy_settings(database_url, bootstrap, relay_enabled=False),
        [toy.subscription(handler, name=f"bench-{new_uuid()[:8]}")],
    )
    await toy.create_schema(runtime)
    await start_runtime(runtime)
    await done.wait()
    await asyncio.sleep(0)  # let the last batch commit
    elapsed = time.perf_counter() - first_at
    await stop_runtime(runtime)
    return n / elapsed


async def main(n: int) -> None:
    broker = EmbeddedBroker(port=free_port()).start()
    try:
        await ensure_topics(broker.bootstrap_servers)
        with tempfile.TemporaryDirectory() as tmp:
            produce_raw = await raw_produce(broker.bootstrap_servers, n)
            relay = await relay_throughput(broker.bootstrap_servers, f"sqlite+aiosqlite:///{tmp}/relay.db", n)
            consume_raw = await raw_consume(broker.bootstrap_servers, 2 * n)
            runner = await runner_consume(broker.bootstrap_servers, f"sqlite+aiosqlite:///{tmp}/consume.db", 2 * n)
    finally:
        broker.stop()
    print(f"events: {n} published by each producer, {2 * n} consumed by each consumer (SQLite, embedded broker)")
    print(f"  raw aiokafka produce   {produce_raw:10.0f} events/s")
    print(f"  outbox relay           {relay:10.0f} events/s   ratio {relay / produce_raw:.2f} of raw produce")
    print(f"  raw aiokafka consume   {consume_raw:10.0f} events/s")
    print(f"  consumer runner        {runner:10.0f} events/s   ratio {runner / consume_raw:.2f} of raw consume "
          "(inbox check, handler insert and offset commit per partition batch, in one transaction)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
