"""The consumer runner against the real broker: exactly-once effects from at-least-once delivery."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from shared.app import start_runtime, stop_runtime
from shared.contracts.registry import ENTERPRISE_REGISTERED, EnterpriseSnapshot
from shared.events.envelope import OutgoingEvent, to_kafka
from shared.testing.services import eventually
from tests.integration.shared import toy

pytestmark = pytest.mark.broker
TOPIC = ENTERPRISE_REGISTERED.topic


def message(uscc: str, revision: int, name: str = "ok", event_id: str | None = None):  # type: ignore[no-untyped-def]
    data = EnterpriseSnapshot(uscc=uscc, revision=revision, name=name, jurisdiction_code="371102",
                              venue_type="other").model_dump(mode="json")
    event = OutgoingEvent(type=ENTERPRISE_REGISTERED.type, source="/safegrid/registry", subject=uscc, data=data,
                          **({"id": event_id} if event_id else {}))
    return to_kafka(event.attributes(), data, uscc), event.id


async def produce(bootstrap: str, messages, topic: str = TOPIC) -> None:  # type: ignore[no-untyped-def]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for m in messages:
            await producer.send_and_wait(topic, m.value, key=m.key.encode() if isinstance(m.key, str) else m.key,
                                         headers=list(m.headers.items()))
    finally:
        await producer.stop()


def toy_runtime(database_url: str, bootstrap: str, group: str, handler):  # type: ignore[no-untyped-def]
    return toy.build(
        toy.toy_settings(database_url, bootstrap, relay_enabled=False), [toy.subscription(handler, name=group)]
    )


async def test_the_same_event_delivered_twice_is_applied_once(empty_database_url, broker, unique):
    database_url = empty_database_url
    uscc = unique.ljust(18, "0")
    first, event_id = message(uscc, 1)
    again, _ = message(uscc, 1, event_id=event_id)
    other, _ = message(uscc, 2)
    runtime = toy_runtime(database_url, broker.bootstrap_servers, f"dup{unique}", toy.recording_handler())
    await toy.create_schema(runtime)
    await produce(broker.bootstrap_servers, [first, again, other])
    before = toy.outcome_count("duplicate", f"dup{unique}")
    await start_runtime(runtime)
    try:
        await eventually(lambda: _applied(runtime, unique, 2), what="two distinct events applied")
        await eventually(lambda: _async(toy.outcome_count("duplicate", f"dup{unique}") - before >= 1),
                         what="the redelivery to be seen and dropped")
        rows, distinct = await toy.count_applied(runtime, unique)
    finally:
        await stop_runtime(runtime)
    assert (rows, distinct) == (2, 2)


async def test_a_poison_message_goes_to_the_dlq_after_its_retries_and_does_not_block(
        sqlite_database_url, broker, unique):
    uscc = unique.ljust(18, "0")
    group = f"poison{unique}"
    good_before, _ = message(uscc, 1)
    poison, poison_id = message(uscc, 2, name="poison")
    good_after, _ = message(uscc, 3)
    garbage = type(good_before)(headers={"ce_id": b"x"}, key=uscc, value=b"\xff not json")  # not a CloudEvent
    attempts: list[str] = []
    inner = toy.recording_handler(poison_names=frozenset({"poison"}))

    async def handler(ctx, event):  # type: ignore[no-untyped-def]
        attempts.append(event.id)
        await inner(ctx, event)

    runtime = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group, handler)
    await toy.create_schema(runtime)
    await produce(broker.bootstrap_servers, [good_before, poison, garbage, good_after])
    await start_runtime(runtime)
    try:
        await eventually(lambda: _applied(runtime, unique, 2), what="both good events applied")
        dead = await _read_dlq(broker.bootstrap_servers, uscc, expected=2)
    finally:
        await stop_runtime(runtime)
    assert attempts.count(poison_id) == runtime.settings.consumer_max_retries + 1
    reasons = {dict(h).get("x-dlq-reason", b"").decode() for h in dead}
    assert any("ValueError: cannot apply poison" in r for r in reasons)
    assert any(r.startswith("malformed") for r in reasons)
    assert all(dict(h)["x-dlq-consumer"].decode().endswith(group) for h in dead)


async def test_a_consumer_killed_mid_batch_and_restarted_loses_and_duplicates_nothing(
        sqlite_database_url, broker, unique, tmp_path):
    """A real process, SIGKILLed while it works through a batch, then a fresh one resumes."""
    total = 300
    messages = [message(f"{unique}{i % 7:02d}".ljust(18, "0"), i + 1)[0] for i in range(total)]
    await produce(broker.bootstrap_servers, messages)
    check = toy_runtime(sqlite_database_url, broker.bootstrap_servers, "unused", toy.recording_handler())
    await toy.create_schema(check)
    args = [sys.executable, "-m", "tests.integration.shared.toy", sqlite_database_url, broker.bootstrap_servers]
    victim_log, survivor_log = tmp_path / "victim.log", tmp_path / "survivor.log"
    env = {**os.environ, "SAFEGRID_TOY_DELIVERY_LOG": str(victim_log)}
    victim = subprocess.Popen([*args, "0.01", "60", unique, str(total)], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    try:  # kill once it has handled 60 deliveries: inside a batch whose transaction is still open
        await eventually(lambda: _async(victim_log.exists() and len(victim_log.read_text().split()) >= 60),
                         timeout_s=30, what="the first consumer to get going")
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    applied_at_kill = (await toy.count_applied(check, unique))[0]
    assert applied_at_kill < total, "the consumer finished before it could be killed"

    env["SAFEGRID_TOY_DELIVERY_LOG"] = str(survivor_log)
    survivor = subprocess.run([*args, "0", "45", unique, str(total)], env=env, capture_output=True, text=True,
                              timeout=90)
    outcomes = json.loads(survivor.stdout.strip().splitlines()[-1])
    rows, distinct = await toy.count_applied(check, unique)
    await check.engine.dispose()
    assert (rows, distinct) == (total, total), "an event was lost or applied twice"
    # Redelivered: handled again after a rolled-back batch, or dropped by the inbox after an
    # applied message whose offset was not yet committed.
    handled_twice = set(victim_log.read_text().split()) & set(survivor_log.read_text().split())
    assert handled_twice or outcomes["duplicate"] > 0, "no redelivery was observed: the kill missed the batch"
    assert outcomes["applied"] >= total - applied_at_kill


async def _applied(runtime, prefix: str, at_least: int) -> bool:  # type: ignore[no-untyped-def]
    return (await toy.count_applied(runtime, prefix))[1] >= at_least


async def _async(value: bool) -> bool:
    return value


async def _read_dlq(bootstrap: str, uscc: str, expected: int):  # type: ignore[no-untyped-def]
    consumer = AIOKafkaConsumer(f"{TOPIC}.dlq", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found = []
    try:
        async def more() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(r.headers for r in records if (r.key or b"").decode() == uscc)
            return len(found) >= expected
        await eventually(more, timeout_s=15, what="dead letters")
    finally:
        await consumer.stop()
    await asyncio.sleep(0)
    return found


async def test_two_members_of_a_group_share_the_work_across_rebalances_without_loss_or_double_apply(
        sqlite_database_url, broker, unique):
    """A second member joins mid-stream and later leaves: partitions move twice."""
    total = 400
    group = f"rebalance{unique}"
    await produce(broker.bootstrap_servers,
                  [message(f"{unique}{i % 11:02d}".ljust(18, "0"), i + 1)[0] for i in range(total)])
    handler = toy.recording_handler(delay_s=0.005)
    first = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group, handler)
    second = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group, handler)
    await toy.create_schema(first)
    await start_runtime(first)
    try:
        await eventually(lambda: _applied(first, unique, 50), timeout_s=30, what="the first member to start")
        await start_runtime(second)  # joins: the group rebalances
        await eventually(lambda: _applied(first, unique, 200), timeout_s=60, what="progress with two members")
        await stop_runtime(second)  # leaves gracefully: rebalances again
        await eventually(lambda: _applied(first, unique, total), timeout_s=60, what="every event applied")
        rows, distinct = await toy.count_applied(first, unique)
    finally:
        await stop_runtime(first)
    assert (rows, distinct) == (total, total)
    assert second.consumers[0].assigned.is_set(), "the second member never got a partition"


async def _dead_letters_of(bootstrap: str, uscc: str, group: str) -> list[str]:
    """The event ids of every dead letter ``group`` wrote for ``uscc`` so far (to the DLQ's end)."""
    from aiokafka import TopicPartition

    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(f"{TOPIC}.dlq", p) for p in consumer.partitions_for_topic(f"{TOPIC}.dlq")
                      or await _partitions(consumer, f"{TOPIC}.dlq")]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[str] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found += [dict(r.headers)["ce_id"].decode() for r in records if (r.key or b"").decode() == uscc
                          and dict(r.headers)["x-dlq-consumer"].decode().endswith(group)]
        return found
    finally:
        await consumer.stop()


async def _partitions(consumer, topic: str) -> set[int]:  # type: ignore[no-untyped-def]
    await consumer._client.force_metadata_update()  # noqa: SLF001 - a fresh client knows no topics yet
    return consumer.partitions_for_topic(topic) or set()


def _stalling_handler(unique: str, seen: list[str], stall: dict[str, object]):  # type: ignore[no-untyped-def]
    """Poison fails for good; "stuck" meets an outage (or hangs) while ``stall["how"]`` says so.
    The topic is shared by the session: other tests' events are skipped."""
    inner = toy.recording_handler(poison_names=frozenset({"poison"}))

    async def handle(ctx, event):  # type: ignore[no-untyped-def]
        if not event.subject.startswith(unique):
            return
        seen.append(event.id)
        if event.data["name"] == "stuck" and stall["how"] == "outage":
            raise ConnectionRefusedError("the database is down")
        if event.data["name"] == "stuck" and stall["how"] == "hang":
            await asyncio.Event().wait()  # ignores the stop signal: only cancellation ends it
        await inner(ctx, event)
    return handle


async def _restart_and_count_dead_letters(database_url, broker, group, unique, poison_id, seen):  # type: ignore[no-untyped-def]
    """A fresh member of the group picks up where the first left off: "stuck" is applied now."""
    uscc = unique.ljust(18, "0")
    handler = _stalling_handler(unique, seen, {"how": None})
    restarted = toy_runtime(database_url, broker.bootstrap_servers, group, handler)
    await start_runtime(restarted)
    try:
        await eventually(lambda: _applied(restarted, unique, 1), timeout_s=30, what="the stuck event applied")
    finally:
        await stop_runtime(restarted)
    return (await _dead_letters_of(broker.bootstrap_servers, uscc, group)).count(poison_id)


async def test_offsets_applied_before_a_shutdown_are_committed_so_nothing_is_dead_lettered_twice(
        sqlite_database_url, broker, unique):
    group = f"shutdown{unique}"
    poison, poison_id = message(unique.ljust(18, "0"), 1, name="poison")
    stuck, stuck_id = message(unique.ljust(18, "0"), 2, name="stuck")
    seen: list[str] = []
    runtime = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group,
                          _stalling_handler(unique, seen, {"how": "outage"}))
    await toy.create_schema(runtime)
    await produce(broker.bootstrap_servers, [poison, stuck])
    await start_runtime(runtime)
    try:  # "stuck" is tried one at a time only after the poison before it went to the DLQ
        await eventually(lambda: _async(seen.count(stuck_id) >= 2), timeout_s=30, what="the outage to hold stuck")
    finally:
        await stop_runtime(runtime)  # mid-retry: the poison's offset is applied but not yet committed
    assert await _restart_and_count_dead_letters(sqlite_database_url, broker, group, unique, poison_id, seen) == 1


async def test_a_consumer_cancelled_by_the_stop_timeout_commits_and_leaves_its_group(
        sqlite_database_url, broker, unique):
    """stop_runtime cancels a consumer that did not stop within its timeout: the close must still
    run, committing what was applied and leaving the group so its partitions move at once."""
    group = f"cancelled{unique}"
    poison, poison_id = message(unique.ljust(18, "0"), 1, name="poison")
    stuck, stuck_id = message(unique.ljust(18, "0"), 2, name="stuck")
    seen: list[str] = []
    runtime = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group,
                          _stalling_handler(unique, seen, {"how": "hang"}))
    await toy.create_schema(runtime)
    await produce(broker.bootstrap_servers, [poison, stuck])
    await start_runtime(runtime)
    try:
        await eventually(lambda: _async(stuck_id in seen), timeout_s=30, what="the handler to hang")
        task = runtime.tasks[0]
        underlying = runtime.consumers[0]._consumer  # noqa: SLF001
        task.cancel()  # what stop_runtime does after its timeout, without waiting 15 s for it
        await asyncio.gather(task, return_exceptions=True)
        closed = runtime.consumers[0]._consumer is None and _stopped(underlying)  # noqa: SLF001
    finally:
        await stop_runtime(runtime)
    assert await _restart_and_count_dead_letters(sqlite_database_url, broker, group, unique, poison_id, seen) == 1
    assert closed, "the cancelled consumer was not closed"


def _stopped(consumer: AIOKafkaConsumer | None) -> bool:
    """The aiokafka consumer's stop() ran to its end: it closed its client (the last step), not
    only marked itself closed (its first)."""
    return consumer is not None and consumer._closed and consumer._client._sync_task is None  # noqa: SLF001


async def test_a_consumer_stopping_with_its_broker_gone_gives_up_the_final_commit_and_stops(
        sqlite_database_url, broker_factory, unique):
    """The broker is unreachable at shutdown: aiokafka's commit would retry for as long as the
    coordinator is unknown; the final commit is bounded, what it leaves is redelivered (and dropped
    by the inbox), and the consumer is stopped well within stop_runtime's 15 s."""
    from shared.events.kafka import ensure_topics

    private = broker_factory()
    await ensure_topics(private.bootstrap_servers)
    group = f"brokergone{unique}"
    poison, _ = message(unique.ljust(18, "0"), 1, name="poison")
    stuck, stuck_id = message(unique.ljust(18, "0"), 2, name="stuck")
    seen: list[str] = []
    runtime = toy_runtime(sqlite_database_url, private.bootstrap_servers, group,
                          _stalling_handler(unique, seen, {"how": "outage"}))
    await toy.create_schema(runtime)
    await produce(private.bootstrap_servers, [poison, stuck])
    await start_runtime(runtime)
    try:  # the poison is dead-lettered (its offset applied, not committed); the outage holds "stuck"
        await eventually(lambda: _async(seen.count(stuck_id) >= 2), timeout_s=30, what="the outage to hold stuck")
        runner = runtime.consumers[0]
        underlying = runner._consumer  # noqa: SLF001
        assert runner._uncommitted, "nothing left to commit: the test would not test the final commit"  # noqa: SLF001
    finally:
        private.stop()
        started = asyncio.get_running_loop().time()
        await stop_runtime(runtime)
        took = asyncio.get_running_loop().time() - started
    assert took < 12, f"stopping took {took:.1f}s: the final commit was not bounded"
    assert _stopped(underlying), "the aiokafka consumer was never stopped"


async def test_a_message_failing_alternately_for_transient_and_permanent_reasons_still_reaches_the_dlq(
        sqlite_database_url, broker, unique):
    uscc = unique.ljust(18, "0")
    flaky, flaky_id = message(uscc, 1, name="flaky")
    good, _ = message(uscc, 2)
    attempts: list[str] = []
    inner = toy.recording_handler()

    async def handler(ctx, event):  # type: ignore[no-untyped-def]
        if not event.subject.startswith(unique):
            return
        if event.data["name"] == "flaky":
            attempts.append(event.id)
            if len(attempts) % 2:
                raise ConnectionRefusedError("a blip")
            raise ValueError("this event is bad")
        await inner(ctx, event)

    group = f"flaky{unique}"
    runtime = toy_runtime(sqlite_database_url, broker.bootstrap_servers, group, handler)
    await toy.create_schema(runtime)
    await produce(broker.bootstrap_servers, [flaky, good])
    await start_runtime(runtime)
    try:
        await eventually(lambda: _applied(runtime, unique, 1), timeout_s=20,
                         what="the event behind the flaky one (the flaky one dead-lettered)")
    finally:
        await stop_runtime(runtime)
    assert (await _dead_letters_of(broker.bootstrap_servers, uscc, group)).count(flaky_id) == 1
    permanent = len(attempts) // 2
    assert permanent <= runtime.settings.consumer_max_retries + 2, attempts


def record(kafka_message, offset: int = 0, *, cloud_event: bool = True) -> ConsumerRecord:  # type: ignore[no-untyped-def]
    headers = list(kafka_message.headers.items()) if cloud_event else []
    return ConsumerRecord(topic=TOPIC, partition=0, offset=offset, timestamp=0, timestamp_type=0,
                          key=kafka_message.key.encode(), value=kafka_message.value, checksum=None,
                          serialized_key_size=18, serialized_value_size=len(kafka_message.value), headers=headers)


async def test_a_transaction_that_applied_events_wakes_the_relay(sqlite_database_url, unique, monkeypatch):
    """What a handler published (the next link of a chain) is relayed at once, not at the
    relay's next poll; a duplicate or a rolled-back batch wakes nobody."""
    uscc = unique.ljust(18, "0")
    runtime = toy_runtime(sqlite_database_url, "127.0.0.1:1", f"wake{unique}", toy.recording_handler())
    await toy.create_schema(runtime)
    woken: list[int] = []
    monkeypatch.setattr(runtime.relay, "notify", lambda: woken.append(1))
    runner = runtime.consumers[0]
    first, event_id = message(uscc, 1)
    try:
        assert await runner.process(record(first)) == "applied" and len(woken) == 1
        assert await runner.process(record(message(uscc, 1, event_id=event_id)[0])) == "duplicate"
        assert len(woken) == 1
        assert await runner.process_batch([record(message(uscc, 2)[0], 1), record(message(uscc, 3)[0], 2)])
        assert len(woken) == 2  # one commit for the batch
        assert not await runner.process_batch([record(message(uscc, 4)[0], 3), record(first, 4, cloud_event=False)])
        # not a CloudEvent: the batch falls back (to one message at a time) before any commit
        assert len(woken) == 2
    finally:
        await runtime.engine.dispose()
