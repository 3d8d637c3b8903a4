"""The consumer runner's own cost: the runner against a hand-written loop doing the same useful
work, on the same broker and database, in this same run.

- raw consume: aiokafka getmany and an offset commit per fetch, nothing applied (context);
- hand loop: getmany, the same insert per message as the runner's handler, one transaction and
  one offset commit per fetch, no inbox, no retries, no DLQ: the floor of applying events;
- consumer runner: the platform's runner (CloudEvent parsing, inbox check and insert, the
  handler's insert, one transaction and one offset commit per fetch, metrics).

Run: .venv/bin/python tests/bench/bench_consumer.py [N] (default 20,000 events). Prints events/s
on SQLite and, when it is reachable, PostgreSQL; the ratio is the runner over the hand loop."""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.app import start_runtime, stop_runtime  # noqa: E402
from shared.broker import EmbeddedBroker, free_port  # noqa: E402
from shared.contracts.registry import ENTERPRISE_REGISTERED, EnterpriseSnapshot  # noqa: E402
from shared.db import new_uuid  # noqa: E402
from shared.events.envelope import OutgoingEvent, to_kafka  # noqa: E402
from shared.events.kafka import ensure_topics  # noqa: E402
from tests.bench.postgres import postgres_database  # noqa: E402
from tests.integration.shared import toy  # noqa: E402

TOPIC = ENTERPRISE_REGISTERED.topic
FETCH = 500  # records per fetch, as the runner asks for


async def produce(bootstrap: str, n: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    futures = []
    for i in range(n):
        uscc = f"{i % 997:018d}"
        data = EnterpriseSnapshot(uscc=uscc, revision=i + 1, name=f"企业{i}", jurisdiction_code="371102",
                                  venue_type="other").model_dump(mode="json")
        event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data)
        message = to_kafka(event.attributes(), data, uscc)
        futures.append(await producer.send(TOPIC, message.value, key=uscc.encode(),
                                           headers=list(message.headers.items())))
    await asyncio.gather(*futures)
    await producer.stop()


def raw_consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"raw-{new_uuid()}",
                            auto_offset_reset="earliest", enable_auto_commit=False, max_poll_records=FETCH)


async def raw_consume(bootstrap: str, n: int) -> float:
    consumer = raw_consumer(bootstrap)
    await consumer.start()
    seen, started = 0, 0.0
    while seen < n:
        batches = await consumer.getmany(timeout_ms=500, max_records=FETCH)
        if batches:
            started = started or time.perf_counter()
            seen += sum(len(records) for records in batches.values())
            await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
    elapsed = time.perf_counter() - started
    await consumer.stop()
    return n / elapsed


async def hand_loop(bootstrap: str, database_url: str, n: int) -> float:
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(toy.metadata.create_all)
    consumer = raw_consumer(bootstrap)
    await consumer.start()
    seen, started = 0, 0.0
    while seen < n:
        batches = await consumer.getmany(timeout_ms=500, max_records=FETCH)
        if not batches:
            continue
        started = started or time.perf_counter()
        async with engine.begin() as connection:
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    revision = json.loads(record.value)["revision"]
                    await connection.execute(insert(toy.applied).values(
                        event_id=headers["ce_id"].decode(), uscc=record.key.decode(), revision=revision))
                    seen += 1
        await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
    elapsed = time.perf_counter() - started
    await consumer.stop()
    await engine.dispose()
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
    elapsed = time.perf_counter() - first_at
    await stop_runtime(runtime)
    return n / elapsed


async def main(n: int) -> None:
    broker = EmbeddedBroker(port=free_port()).start()
    bootstrap = broker.bootstrap_servers
    lines = []
    try:
        await ensure_topics(bootstrap)
        await produce(bootstrap, n)
        lines.append(f"  raw aiokafka consume      {await raw_consume(bootstrap, n):10.0f} events/s   "
                     "(context: nothing applied)")
        with tempfile.TemporaryDirectory() as tmp:
            async with postgres_database() as hand_pg, postgres_database() as runner_pg:
                backends = [("SQLite", f"sqlite+aiosqlite:///{tmp}/hand.db", f"sqlite+aiosqlite:///{tmp}/runner.db")]
                if hand_pg and runner_pg:
                    backends.append(("PostgreSQL", hand_pg, runner_pg))
                for name, hand_url, runner_url in backends:
                    floor = await hand_loop(bootstrap, hand_url, n)
                    runner = await runner_consume(bootstrap, runner_url, n)
                    lines.append(f"  {name:10} hand loop      {floor:10.0f} events/s")
                    lines.append(f"  {name:10} runner         {runner:10.0f} events/s   "
                                 f"ratio {runner / floor:.2f} of the hand loop")
    finally:
        broker.stop()
    print(f"consumer runner: {n} events, one insert each, fetches of up to {FETCH}, embedded broker")
    print("\n".join(lines))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
