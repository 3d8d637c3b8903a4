"""Outbox relay throughput against raw aiokafka produce on the same broker, on SQLite and, when
it is reachable, PostgreSQL (the consumer runner's figures: bench_consumer.py).

Run: .venv/bin/python tests/bench/bench_events.py [N]. Prints events/s and ratios; a ratio is
the platform's figure over the raw client's, measured in this same run (1.0 = no overhead).

The raw produce baseline sends the very messages the relay sends (the same CloudEvents, encoded
before its clock starts), to the same topic, with the producer settings the relay's producer
uses (``shared.events.kafka.producer_options``: acks="all", the same linger and batch size), one
``send`` per message and then waits for every acknowledgement. The relay's figure includes what
the baseline does not do: reading the rows, encoding the envelope and marking the rows published.
Produce figures are the best of ``ROUNDS`` rounds of each side taken alternately, so that other
load on the machine hits both alike. On a small machine the database (the SQLite thread, the
PostgreSQL server) and the broker compete with the publishing thread for the same cores, so the
bench also prints each side's CPU time of the publishing thread per event: the relay's own cost.
PostgreSQL runs on a fresh database of the server at ``SAFEGRID_TEST_POSTGRES_URL`` (default
postgres@127.0.0.1:5432), dropped afterwards."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

from aiokafka import AIOKafkaProducer
from sqlalchemy import delete, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from shared.app import stop_runtime  # noqa: E402
from shared.broker import EmbeddedBroker, free_port  # noqa: E402
from shared.contracts.registry import ENTERPRISE_REGISTERED, EnterpriseSnapshot  # noqa: E402
from shared.events.envelope import OutgoingEvent, to_kafka  # noqa: E402
from shared.events.kafka import ensure_topics, producer_options  # noqa: E402
from shared.testing import databases  # noqa: E402
from tests.bench.postgres import fresh_database  # noqa: E402
from tests.integration.shared import toy  # noqa: E402

TOPIC = ENTERPRISE_REGISTERED.topic
ROUNDS = 3


def payload(i: int) -> tuple[str, dict[str, object]]:
    uscc = f"{i % 997:018d}"
    return uscc, EnterpriseSnapshot(uscc=uscc, revision=i + 1, name=f"企业{i}", jurisdiction_code="371102",
                                    venue_type="other").model_dump(mode="json")


async def raw_produce(bootstrap: str, n: int) -> tuple[float, float]:
    """(events/s, CPU seconds of this thread per event)."""
    messages = []
    for i in range(n):
        uscc, data = payload(i)
        event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data)
        messages.append(to_kafka(event.attributes(), data, uscc))
    settings = toy.toy_settings("sqlite+aiosqlite://", bootstrap)
    producer = AIOKafkaProducer(**producer_options(settings, "bench-raw"))  # the relay's settings, acks="all"
    await producer.start()
    started, cpu = time.perf_counter(), time.thread_time()
    futures = [await producer.send(TOPIC, m.value, key=m.key.encode(), headers=list(m.headers.items()))
               for m in messages]
    await asyncio.gather(*futures)
    elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
    await producer.stop()
    return n / elapsed, cpu / n


async def relay_throughput(runtime, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The relay of a runtime whose outbox is emptied, then holds ``n`` rows: (events/s draining
    them, CPU seconds of this thread per event)."""
    rows = []
    for i in range(n):
        uscc, data = payload(i)
        event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data)
        rows.append({"event_id": event.id, "topic": TOPIC, "key": uscc, "event_type": event.type,
                     "attributes": event.attributes(), "data": data})
    async with runtime.session_factory() as session, session.begin():
        await session.execute(delete(toy.tables.outbox))
        await session.execute(insert(toy.tables.outbox), rows)
    started, cpu = time.perf_counter(), time.thread_time()
    published = 0
    while published < n:
        published += await runtime.relay.drain_once()
    return n / (time.perf_counter() - started), (time.thread_time() - cpu) / n


async def produce(bootstrap: str, database_url: str, n: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """((raw produce events/s, CPU per event), (relay's)): the best of ROUNDS alternate rounds each."""
    runtime = toy.build(toy.toy_settings(database_url, bootstrap, consumers_enabled=False, relay_enabled=False))
    await toy.create_schema(runtime)
    raw = relay = (0.0, 1.0)
    try:
        for _ in range(ROUNDS):
            rate, cpu = await raw_produce(bootstrap, n)
            raw = (max(raw[0], rate), min(raw[1], cpu))
            rate, cpu = await relay_throughput(runtime, n)
            relay = (max(relay[0], rate), min(relay[1], cpu))
    finally:
        await stop_runtime(runtime)
    return raw, relay


async def main(n: int) -> None:
    kinds = ["sqlite"]
    reason = await databases.postgres_available()
    if reason is None:
        kinds.append("postgres")
    broker = EmbeddedBroker(port=free_port()).start()
    figures: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    try:
        await ensure_topics(broker.bootstrap_servers)
        with tempfile.TemporaryDirectory() as tmp:
            for kind in kinds:
                async with fresh_database(kind, Path(tmp), "relay") as url:
                    figures[kind] = await produce(broker.bootstrap_servers, url, n)
    finally:
        broker.stop()
    print(f"events: {n} published by each producer (best of {ROUNDS} alternate rounds; embedded broker, acks=all)")
    for kind, ((produce_raw, raw_cpu), (relay, relay_cpu)) in figures.items():
        print(f"{kind}:")
        print(f"  raw aiokafka produce   {produce_raw:10.0f} events/s   (the relay's producer settings)")
        print(f"  outbox relay           {relay:10.0f} events/s   ratio {relay / produce_raw:.2f} of raw produce")
        print(f"    CPU of the publishing thread: raw {raw_cpu * 1e6:.1f} us/event, relay {relay_cpu * 1e6:.1f} "
              f"us/event (ratio {raw_cpu / relay_cpu:.2f}; the database's and the broker's CPU not counted)")
    if reason is not None:
        print(f"postgres: skipped ({reason})")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000))
