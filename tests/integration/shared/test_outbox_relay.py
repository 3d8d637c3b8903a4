"""The outbox and its relay against the real broker: events leave only with their transaction,
in order per key, once per lease holder, and survive a broker outage."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select

from shared.app import start_runtime, stop_runtime
from shared.contracts.registry import ENTERPRISE_REGISTERED, EnterpriseSnapshot
from shared.events.envelope import MalformedEvent, ReceivedEvent
from shared.events.kafka import ensure_topics
from shared.events.relay import PARKED
from shared.testing.services import eventually
from tests.integration.shared import toy

pytestmark = pytest.mark.broker


def snapshot(uscc: str, revision: int) -> EnterpriseSnapshot:
    return EnterpriseSnapshot(uscc=uscc, revision=revision, name=f"企业{revision}", jurisdiction_code="371102",
                              venue_type="other")


async def read_topic(bootstrap: str, subject_prefix: str, expected: int, timeout_s: float = 15) -> list[ReceivedEvent]:
    consumer = AIOKafkaConsumer("registry.enterprises", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[ReceivedEvent] = []
    try:
        async def more() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    try:
                        event = ReceivedEvent.from_kafka(r.headers, r.key, r.value, topic=r.topic)
                    except MalformedEvent:  # other tests put poison on this shared topic
                        continue
                    if (event.subject or "").startswith(subject_prefix):
                        found.append(event)
            return len(found) >= expected
        await eventually(more, timeout_s=timeout_s, what=f"{expected} events for {subject_prefix}")
    finally:
        await consumer.stop()
    return found


async def write_events(runtime, uscc_prefix: str, count: int, keys: int = 3) -> None:  # type: ignore[no-untyped-def]
    for i in range(count):
        async with runtime.session_factory() as session, session.begin():
            uscc = f"{uscc_prefix}{i % keys:02d}".ljust(18, "0")
            await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=uscc, data=snapshot(uscc, i + 1))


async def test_committed_events_are_published_as_cloudevents_in_order_per_key(empty_database_url, broker, unique):
    runtime = toy.build(toy.toy_settings(empty_database_url, broker.bootstrap_servers, consumers_enabled=False))
    await toy.create_schema(runtime)
    await start_runtime(runtime)
    try:
        await write_events(runtime, unique, 30)
        async with runtime.session_factory() as session:  # a rolled-back write leaves nothing behind
            async with session.begin():
                await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=unique.ljust(18, "9"),
                                             data=snapshot(unique.ljust(18, "9"), 1))
                await session.rollback()
        events = await read_topic(broker.bootstrap_servers, unique, 30)
    finally:
        await stop_runtime(runtime)
    assert len(events) == 30
    assert all(e.source == "/safegrid/registry" and e.type == ENTERPRISE_REGISTERED.type for e in events)
    assert all(e.correlation_id == e.id and e.traceparent for e in events)
    assert not any(e.subject.endswith("9" * 5) for e in events)
    for key in {e.subject for e in events}:
        revisions = [e.data["revision"] for e in events if e.subject == key]
        assert revisions == sorted(revisions), f"events of {key} arrived out of order"


async def test_events_wait_in_the_outbox_while_the_broker_is_down_and_drain_when_it_returns(
        sqlite_database_url, broker_factory, unique):
    broker = broker_factory()
    await ensure_topics(broker.bootstrap_servers)
    runtime = toy.build(
        toy.toy_settings(
            sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False, relay_poll_interval_s=0.02
        )
    )
    await toy.create_schema(runtime)
    await start_runtime(runtime)
    try:
        broker.stop()
        await write_events(runtime, unique, 20)
        await asyncio.sleep(1.0)  # the relay tries, fails and backs off meanwhile
        async with runtime.session_factory() as session:
            assert await runtime.outbox.backlog(session) == 20
        broker.start()
        await ensure_topics(broker.bootstrap_servers)  # the embedded broker forgets topics on restart

        async def drained() -> bool:
            async with runtime.session_factory() as session:
                return await runtime.outbox.backlog(session) == 0
        await eventually(drained, timeout_s=20, what="the outbox to drain")
        events = await read_topic(broker.bootstrap_servers, unique, 20)
    finally:
        await stop_runtime(runtime)
    assert sorted(e.data["revision"] for e in events) == list(range(1, 21))


async def test_only_one_of_two_relays_holds_the_lease(sqlite_database_url, broker, unique):
    settings = toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False)
    first, second = toy.build(settings), toy.build(settings)
    await toy.create_schema(first)
    try:
        assert await first.relay.hold_lease() is True
        assert await second.relay.hold_lease() is False
        assert await first.relay.hold_lease() is True  # renewal by the holder
        await first.relay.release_lease()
        assert await second.relay.hold_lease() is True  # released: the other takes over
        await start_runtime(first)
        await start_runtime(second)
        await write_events(second, unique, 40)
        events = await read_topic(broker.bootstrap_servers, unique, 40)
        async with first.session_factory() as session:
            published = (await session.execute(select(func.count()).select_from(toy.tables.outbox)
                                               .where(toy.tables.outbox.c.published_at.is_not(None)))).scalar_one()
    finally:
        await stop_runtime(first)
        await stop_runtime(second)
    assert published == 40
    assert len({e.id for e in events}) == 40


async def test_an_event_kafka_refuses_is_parked_and_the_rest_flow_on(sqlite_database_url, broker, unique):
    """A row over the producer's size limit must not block every row behind it."""
    runtime = toy.build(toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False))
    await toy.create_schema(runtime)
    huge_uscc = f"{unique}99".ljust(18, "0")
    async with runtime.session_factory() as session, session.begin():
        await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=huge_uscc, data=EnterpriseSnapshot(
            uscc=huge_uscc, revision=1, name="巨" * 600_000, jurisdiction_code="371102", venue_type="other"))
    await write_events(runtime, unique, 5)
    await start_runtime(runtime)
    try:
        events = await read_topic(broker.bootstrap_servers, unique, 5)

        async def parked() -> bool:
            async with runtime.session_factory() as session:
                row = (await session.execute(select(toy.tables.outbox.c.attempts, toy.tables.outbox.c.published_at)
                                             .where(toy.tables.outbox.c.key == huge_uscc))).one()
            return row.attempts >= PARKED and row.published_at is None
        await eventually(parked, what="the oversized event to be parked, unpublished")
    finally:
        await stop_runtime(runtime)
    assert sorted(e.data["revision"] for e in events) == [1, 2, 3, 4, 5]
    assert huge_uscc not in {e.subject for e in events}


class _WithoutAutoCreation:
    """The relay's producer as real Kafka with ``auto.create.topics.enable=false`` makes it: a send
    to a topic the broker lacks waits for its metadata (``metadata_wait_s`` here stands for
    request_timeout_ms) and fails with UnknownTopicOrPartitionError. The embedded broker creates
    any topic a send asks metadata for, so only that send is stood in for, and only while the
    broker's full metadata (which creates nothing) lacks the topic; everything else, the relay's
    own absence check and every real send, goes to the real broker."""

    def __init__(self, producer, absent: str, metadata_wait_s: float = 0.0) -> None:  # type: ignore[no-untyped-def]
        self._producer, self._absent, self._wait_s = producer, absent, metadata_wait_s

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._producer, name)

    async def send(self, topic: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if topic == self._absent and topic not in (await self._producer.client.fetch_all_metadata()).topics():
            from aiokafka.errors import UnknownTopicOrPartitionError

            await asyncio.sleep(self._wait_s)
            raise UnknownTopicOrPartitionError()
        return await self._producer.send(topic, *args, **kwargs)


async def test_an_event_for_a_topic_the_broker_lacks_is_parked_and_the_rest_flow_on(
        sqlite_database_url, broker, unique, monkeypatch):
    runtime = toy.build(toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False))
    await toy.create_schema(runtime)
    absent = f"toy.absent{unique.lower()}"
    handle = runtime.relay_producer
    real_get = handle.get

    async def get():  # type: ignore[no-untyped-def]
        return _WithoutAutoCreation(await real_get(), absent)

    monkeypatch.setattr(handle, "get", get)
    lost_uscc = f"{unique}98".ljust(18, "0")
    async with runtime.session_factory() as session, session.begin():
        await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=lost_uscc, data=snapshot(lost_uscc, 1))
        await session.execute(toy.tables.outbox.update().where(toy.tables.outbox.c.key == lost_uscc)
                              .values(topic=absent))
    await write_events(runtime, unique, 5)
    await start_runtime(runtime)
    try:
        events = await read_topic(broker.bootstrap_servers, unique, 5)
        async with runtime.session_factory() as session:
            row = (await session.execute(select(toy.tables.outbox.c.attempts, toy.tables.outbox.c.published_at)
                                         .where(toy.tables.outbox.c.key == lost_uscc))).one()
    finally:
        await stop_runtime(runtime)
    assert row.attempts >= PARKED and row.published_at is None
    assert sorted(e.data["revision"] for e in events) == [1, 2, 3, 4, 5]


async def test_a_topic_counts_as_absent_only_when_the_broker_answers_without_it(broker_factory, unique):
    from aiokafka import AIOKafkaProducer

    from shared.events.relay import topic_absent

    private = broker_factory()
    await ensure_topics(private.bootstrap_servers)
    producer = AIOKafkaProducer(bootstrap_servers=private.bootstrap_servers, request_timeout_ms=2000)
    await producer.start()
    try:
        assert await topic_absent(producer, f"toy.absent{unique.lower()}") is True
        assert await topic_absent(producer, "registry.enterprises") is False
        private.stop()  # an outage: no answer, so nothing is absent and every row waits
        assert await topic_absent(producer, f"toy.absent{unique.lower()}") is False
    finally:
        await producer.stop()


async def test_a_relay_cancelled_at_shutdown_hands_its_lease_over_at_once(sqlite_database_url, broker, unique):
    settings = toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False)
    first, second = toy.build(settings), toy.build(settings)
    await toy.create_schema(first)
    stop = asyncio.Event()
    task = asyncio.create_task(first.relay.run(stop))
    try:
        await eventually(first.relay.hold_lease, what="the first relay to hold the lease")
        task.cancel()  # what stop_runtime does to a relay that did not stop within its timeout
        await asyncio.gather(task, return_exceptions=True)
        assert await second.relay.hold_lease() is True
    finally:
        for runtime in (first, second):
            await stop_runtime(runtime)


async def test_a_missing_topic_parks_all_its_rows_at_once_and_unparking_sends_them_once_it_exists(
        sqlite_database_url, broker, unique, monkeypatch):
    """Many rows for a topic the broker lacks, written before rows of a present topic: each send to
    the absent topic waits for metadata, so parking them one per drain would hold every topic for
    rows x wait. They are parked together, the present topic's rows arrive at once, and once the
    topic exists `unpark` sends the parked ones."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    from shared.events.maintenance import outbox_status, unpark_outbox

    settings = toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False)
    runtime = toy.build(settings)
    await toy.create_schema(runtime)
    absent = f"toy.absent{unique.lower()}"
    handle = runtime.relay_producer
    real_get = handle.get

    async def get():  # type: ignore[no-untyped-def]
        return _WithoutAutoCreation(await real_get(), absent, metadata_wait_s=0.2)

    monkeypatch.setattr(handle, "get", get)
    outbox, lost = toy.tables.outbox, f"{unique}L"
    await write_events(runtime, lost, 300, keys=30)  # 300 x 0.2 s = a minute, one row per drain
    async with runtime.session_factory() as session, session.begin():
        await session.execute(outbox.update().where(outbox.c.key.startswith(lost)).values(topic=absent))
    await write_events(runtime, unique, 5)
    await start_runtime(runtime)
    try:
        events = await read_topic(broker.bootstrap_servers, unique + "0", 5, timeout_s=10)
        status = await outbox_status(toy.tables, settings)
        assert status["parked_by_topic"] == {absent: 300}, status

        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(absent, num_partitions=1, replication_factor=1)])
        finally:
            await admin.close()
        assert await unpark_outbox(toy.tables, settings, topic=absent) == 300
        runtime.relay.notify()

        async def all_sent() -> bool:
            async with runtime.session_factory() as session:
                return (await session.execute(select(func.count()).select_from(outbox).where(
                    outbox.c.topic == absent, outbox.c.published_at.is_(None)))).scalar_one() == 0
        await eventually(all_sent, timeout_s=20, what="the unparked rows to be published")
        arrived = await _count_on(broker.bootstrap_servers, absent)
    finally:
        await stop_runtime(runtime)
    assert sorted(e.data["revision"] for e in events) == [1, 2, 3, 4, 5]
    assert arrived == 300
    assert (await outbox_status(toy.tables, settings))["parked"] == 0


async def _count_on(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    seen = 0
    try:
        async def all_read() -> bool:
            nonlocal seen
            seen += sum(len(records) for records in (await consumer.getmany(timeout_ms=200)).values())
            return seen >= 300
        await eventually(all_read, timeout_s=15, what=f"300 events on {topic}")
    finally:
        await consumer.stop()
    return seen


async def test_a_replay_puts_parked_events_back_in_line_too(sqlite_database_url, unique):
    from datetime import UTC, datetime

    from shared.events.maintenance import replay_outbox

    settings = toy.toy_settings(sqlite_database_url, "127.0.0.1:1", consumers_enabled=False)
    runtime = toy.build(settings)
    await toy.create_schema(runtime)
    await write_events(runtime, unique, 2)
    outbox = toy.tables.outbox
    async with runtime.session_factory() as session, session.begin():
        await session.execute(outbox.update().values(attempts=PARKED))

    assert await replay_outbox(toy.tables, settings, datetime(2000, 1, 1, tzinfo=UTC)) == 2

    async with runtime.session_factory() as session:
        rows = (await session.execute(select(outbox.c.attempts, outbox.c.published_at))).all()
    await runtime.engine.dispose()
    assert [(r.attempts, r.published_at) for r in rows] == [(0, None), (0, None)]


class _FailingOnce:
    """The relay's producer, with the send of one key's first message failing once the broker
    answered (a timeout, as an outage mid-batch makes it)."""

    def __init__(self, producer, key: bytes) -> None:  # type: ignore[no-untyped-def]
        self._producer, self._key, self.failed = producer, key, False

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._producer, name)

    async def send(self, topic: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("key") == self._key and not self.failed:
            from aiokafka.errors import KafkaTimeoutError

            self.failed = True
            future = asyncio.get_running_loop().create_future()
            future.set_exception(KafkaTimeoutError())
            return future
        return await self._producer.send(topic, *args, **kwargs)


async def test_a_failed_send_mid_pipeline_marks_only_the_rows_before_it(sqlite_database_url, broker, unique,
                                                                         monkeypatch):
    """Batches of 4 are sent while the next is read: the 7th row fails, so rows 1-6 are marked and
    the rest wait for the next drain, which sends them in order."""
    from aiokafka.errors import KafkaTimeoutError

    runtime = toy.build(toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False,
                                         relay_enabled=False, relay_batch_size=4))
    await toy.create_schema(runtime)
    outbox = toy.tables.outbox
    for i in range(14):
        async with runtime.session_factory() as session, session.begin():
            uscc = f"{unique}{i:02d}".ljust(18, "0")
            await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=uscc, data=snapshot(uscc, i + 1))
    failing_key = f"{unique}06".ljust(18, "0").encode()
    handle = runtime.relay_producer
    real_get = handle.get
    wrapper: list[_FailingOnce] = []

    async def get():  # type: ignore[no-untyped-def]
        if not wrapper:
            wrapper.append(_FailingOnce(await real_get(), failing_key))
        return wrapper[0]

    monkeypatch.setattr(handle, "get", get)

    async def published_revisions() -> list[int]:
        async with runtime.session_factory() as session:
            rows = (await session.execute(select(outbox.c.data).where(outbox.c.published_at.is_not(None))
                                          .order_by(outbox.c.id))).scalars().all()
        return [row["revision"] for row in rows]

    try:
        with pytest.raises(KafkaTimeoutError):
            await runtime.relay.drain_once()
        assert await published_revisions() == [1, 2, 3, 4, 5, 6]
        assert await runtime.relay.drain_once() == 8
        assert await published_revisions() == list(range(1, 15))
        events = await read_topic(broker.bootstrap_servers, unique, 14)
    finally:
        await stop_runtime(runtime)
    assert {e.data["revision"] for e in events} == set(range(1, 15))


async def test_a_replay_after_a_broker_loss_sends_every_event_to_the_new_broker(
        sqlite_database_url, broker_factory, unique):
    """The embedded broker restarted has lost every topic and message: the operator's replay puts
    every event on the new broker, in the same process, with no restart of the service."""
    from datetime import UTC, datetime

    from shared.events.maintenance import replay_outbox

    broker = broker_factory()
    await ensure_topics(broker.bootstrap_servers)
    settings = toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False,
                                relay_enabled=False)
    runtime = toy.build(settings)
    await toy.create_schema(runtime)
    await start_runtime(runtime)
    try:
        await write_events(runtime, unique, 24, keys=24)  # keys over every partition
        assert await runtime.relay.drain_once() == 24
        broker.stop()
        broker.start()  # every topic gone
        assert await replay_outbox(toy.tables, settings, datetime(2000, 1, 1, tzinfo=UTC)) == 24
        assert await runtime.relay.drain_once() == 24
        events = await read_topic(broker.bootstrap_servers, unique, 24)
    finally:
        await stop_runtime(runtime)
    assert sorted(e.data["revision"] for e in events) == list(range(1, 25))


class _ReplayedInFlight:
    """The relay's producer, with an operator's `safegrid outbox replay` run while the first
    send is in flight (after the relay read its rows, before it marks them): the broker that
    acknowledged them is the one the replay is for (lost)."""

    replayed = 0  # rows the replay reset, once for all producers

    def __init__(self, producer, replay) -> None:  # type: ignore[no-untyped-def]
        self._producer, self._replay = producer, replay

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._producer, name)

    async def send(self, topic: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        future = await self._producer.send(topic, *args, **kwargs)
        if not _ReplayedInFlight.replayed:
            _ReplayedInFlight.replayed = await self._replay()
        return future


async def test_a_replay_while_rows_are_in_flight_sends_them_again(sqlite_database_url, broker, unique, monkeypatch):
    """Rows delivered before a replay and marked after it stay unpublished: the replay's send
    is not cancelled by the late mark of a send to the broker it replaces."""
    from datetime import UTC, datetime

    from shared.events.maintenance import replay_outbox

    settings = toy.toy_settings(sqlite_database_url, broker.bootstrap_servers, consumers_enabled=False,
                                relay_enabled=False)
    runtime = toy.build(settings)
    await toy.create_schema(runtime)
    await write_events(runtime, unique, 3)
    outbox = toy.tables.outbox
    handle = runtime.relay_producer
    real_get = handle.get
    monkeypatch.setattr(_ReplayedInFlight, "replayed", 0)

    async def get():  # type: ignore[no-untyped-def]
        return _ReplayedInFlight(await real_get(), lambda: replay_outbox(
            toy.tables, settings, datetime(2000, 1, 1, tzinfo=UTC)))

    monkeypatch.setattr(handle, "get", get)

    async def unpublished() -> list[int]:
        async with runtime.session_factory() as session:
            return list((await session.execute(select(outbox.c.epoch).where(outbox.c.published_at.is_(None))
                                               .order_by(outbox.c.id))).scalars())

    try:
        await runtime.relay.drain_once()
        assert _ReplayedInFlight.replayed == 3
        assert await unpublished() == [1, 1, 1], "the late mark cancelled the replay"
        assert await runtime.relay.drain_once() == 3
        assert await unpublished() == []
        events = await read_topic(broker.bootstrap_servers, unique, 6)
    finally:
        await stop_runtime(runtime)
    assert sorted(e.data["revision"] for e in events) == [1, 1, 2, 2, 3, 3]  # sent again: consumers drop repeats


async def test_rows_over_many_batches_leave_in_order_per_key_around_a_parked_one(empty_database_url, broker,
                                                                                 unique):
    """Small batches, so that the drain pipelines several: an oversized row in the third batch is
    parked and every other row is published once, each key's in order."""
    runtime = toy.build(toy.toy_settings(empty_database_url, broker.bootstrap_servers, consumers_enabled=False,
                                         relay_batch_size=5))
    await toy.create_schema(runtime)
    outbox = toy.tables.outbox
    await write_events(runtime, unique, 12)
    huge_uscc = f"{unique}99".ljust(18, "0")
    async with runtime.session_factory() as session, session.begin():
        await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=huge_uscc, data=EnterpriseSnapshot(
            uscc=huge_uscc, revision=1, name="巨" * 600_000, jurisdiction_code="371102", venue_type="other"))
    for i in range(12, 30):
        async with runtime.session_factory() as session, session.begin():
            uscc = f"{unique}{i % 3:02d}".ljust(18, "0")
            await runtime.outbox.publish(session, ENTERPRISE_REGISTERED, subject=uscc, data=snapshot(uscc, i + 1))
    await start_runtime(runtime)
    try:
        events = await read_topic(broker.bootstrap_servers, unique, 30)
        async with runtime.session_factory() as session:
            rows = (await session.execute(select(outbox.c.key, outbox.c.attempts, outbox.c.published_at))).all()
    finally:
        await stop_runtime(runtime)
    assert len(events) == 30 and len({e.id for e in events}) == 30
    for key in {e.subject for e in events}:
        revisions = [e.data["revision"] for e in events if e.subject == key]
        assert revisions == sorted(revisions), f"events of {key} arrived out of order"
    assert [(r.attempts >= PARKED, r.published_at is None) for r in rows if r.key == huge_uscc] == [(True, True)]
    assert all(r.published_at is not None for r in rows if r.key != huge_uscc)
