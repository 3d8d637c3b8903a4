"""Rebuilding a service's database from its topics (``safegrid <service> rebuild``).

The rebuild runs the service's own consumer groups (``safegrid.<service>.<name>``, as configured)
through the real consumer runner, from the start of every partition of their topics, into an
empty database, and stops once every partition is caught up to its end offset measured at the
start. Why the service's own groups and not a fresh ``.rebuild-<timestamp>`` group:

- the inbox, which turns redelivery into exactly-once effects, is keyed by group id: rows written
  under another group would not stop the live group from applying the same events again;
- the group's committed offsets end where the rebuild ended, so the live service, started on the
  rebuilt database afterwards, continues from there: nothing skipped, nothing applied twice.

The runner's ``auto_offset_reset="earliest"`` only applies to a group without committed offsets;
a group the service already used (on the database being replaced) would resume where it was and
skip the history. So the rebuild first moves the group's committed offsets back to the start of
each partition, which Kafka allows only while the group has no members: the service must be
stopped (or the rebuild run under a new consumer name, which the service then keeps). It checks
that first: a replica still consuming with the group would take some of the partitions and apply
their events to its own database, and the rebuild would end with holes. (The embedded broker
lists a group's last member long after it left, so in development a group already used is
refused: rebuild under a new consumer name.)

It refuses a database whose inbox already holds applied events: replaying into it would mix two
histories (and a second rebuild would find nothing to do). Events the handlers write wait in
the outbox, as with every command; the service's relay publishes them once it runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from shared.events.consumer import ConsumerRunner
from shared.events.kafka import security_options
from shared.observability import metrics

log = structlog.get_logger(__name__)

POLL_S = 0.25
# How long the start's offset look-ups may take before the broker counts as unreachable.
LOOKUP_TIMEOUT_S = 15.0

# (events read so far, events to read, events applied so far)
Progress = Callable[[int, int, int], None]


class RebuildRefused(Exception):
    """The rebuild would not be safe; the message says why and what to do."""


@dataclass
class GroupPlan:
    """One consumer group's partitions: where the rebuild starts and the end it must reach."""

    runner: ConsumerRunner
    start: dict[TopicPartition, int]
    end: dict[TopicPartition, int]

    @property
    def total(self) -> int:
        return sum(self.end[tp] - self.start[tp] for tp in self.end)


@dataclass(frozen=True)
class RebuildResult:
    events: int  # messages read (each applied, a duplicate, or of a type the service ignores)
    applied: int
    elapsed_s: float
    joining_s: float  # of which before the first event was read: joining the consumer groups

    @property
    def rate(self) -> float:
        """Events/s once reading began."""
        reading = self.elapsed_s - self.joining_s
        return self.events / reading if reading > 0 else 0.0


async def applied_events(runtime: Any) -> int:
    """How many events the database's inbox holds (every consumer group's)."""
    async with runtime.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(runtime.tables.inbox))).scalar_one())


async def rebuild(runtime: Any, progress: Progress | None = None) -> RebuildResult:
    """Replay every topic the service subscribes to into its (empty) database; see the module's
    docstring. ``runtime`` is built, not started: only its consumers run here."""
    already = await applied_events(runtime)
    if already:
        raise RebuildRefused(
            f"the {runtime.service} database already holds {already} applied events in its inbox: a rebuild "
            "replays every topic from the start into an EMPTY database (point the service's DATABASE_URL at a "
            "new database; it is migrated first)")
    if not runtime.consumers:
        raise RebuildRefused(f"{runtime.service} consumes no topics: there is nothing to rebuild from")
    plans = [await _plan(runtime.settings, runner) for runner in runtime.consumers]
    total = sum(plan.total for plan in plans)
    applied_before = _applied_count(runtime.service)
    started = time.perf_counter()
    stop = runtime.stop
    runtime.tasks.extend(asyncio.create_task(plan.runner.run(stop), name=f"rebuild-{plan.runner.group_id}")
                         for plan in plans)
    watchers = [await _watcher(runtime.settings, plan) for plan in plans]
    joining = 0.0
    try:
        while True:
            events = sum([await _read_so_far(watcher, plan) for watcher, plan in zip(watchers, plans, strict=True)])
            if events and not joining:
                joining = time.perf_counter() - started - POLL_S / 2  # the first read fell within the last poll
            if progress is not None:
                progress(events, total, _applied_count(runtime.service) - applied_before)
            if events >= total:
                break
            failed = [task for task in runtime.tasks if task.done()]
            if failed:  # a runner gives up only when cancelled or on a bug: do not wait forever
                raise RuntimeError(f"a consumer stopped during the rebuild: {failed[0].exception()!r}")
            await asyncio.sleep(POLL_S)
    finally:
        for watcher in watchers:
            await watcher.stop()
    stop.set()
    await asyncio.gather(*runtime.tasks, return_exceptions=True)
    elapsed = time.perf_counter() - started
    return RebuildResult(events=total, applied=_applied_count(runtime.service) - applied_before, elapsed_s=elapsed,
                         joining_s=max(joining, 0.0))


def _applied_count(service: str) -> int:
    total = 0.0
    for family in metrics.consumer_events.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("service") == service \
                    and sample.labels.get("outcome") == "applied":
                total += sample.value
    return int(total)


def _client(settings: Any, runner: ConsumerRunner, role: str) -> AIOKafkaConsumer:
    """A consumer of the runner's group that never joins it: it looks offsets up and commits them."""
    return AIOKafkaConsumer(
        **security_options(settings), bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"{settings.kafka_client_id_prefix}-{runner.service}-rebuild-{role}", group_id=runner.group_id,
        enable_auto_commit=False, request_timeout_ms=15000,
    )


async def _partitions(consumer: AIOKafkaConsumer, topics: tuple[str, ...]) -> list[TopicPartition]:
    await consumer.topics()  # the cluster's metadata, every topic's
    return [TopicPartition(topic, p) for topic in topics for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def _members(settings: Any, group_id: str) -> int:
    """How many members the group has: a replica of the service still running would take part of
    the partitions, applying their events to its own database, and the rebuild would miss them."""
    admin = AIOKafkaAdminClient(**security_options(settings), bootstrap_servers=settings.kafka_bootstrap_servers,
                                client_id=f"{settings.kafka_client_id_prefix}-rebuild-admin")
    await admin.start()
    try:
        responses = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    return sum(len(group[5]) for response in responses for group in response.groups if group[1] == group_id)


async def _end_offsets(consumer: AIOKafkaConsumer, partitions: list[TopicPartition],
                       start: dict[TopicPartition, int]) -> dict[TopicPartition, int]:
    """Each partition's end offset. The embedded broker answers ListOffsets with the last record
    batch's base offset + 1, so the high watermark of a fetch at the last offset it names counts
    too (on Kafka the two agree)."""
    end = await consumer.end_offsets(partitions)
    filled = [tp for tp in partitions if end[tp] > start[tp]]
    for tp in filled:
        consumer.seek(tp, end[tp] - 1)
    deadline = time.monotonic() + LOOKUP_TIMEOUT_S
    pending = set(filled)
    while pending and time.monotonic() < deadline:
        await consumer.getmany(*pending, timeout_ms=200)
        for tp in list(pending):
            highwater = consumer.highwater(tp)
            if highwater is not None:
                end[tp] = max(end[tp], highwater)
                pending.discard(tp)
    return end


async def _plan(settings: Any, runner: ConsumerRunner) -> GroupPlan:
    """Where the group starts (every partition's beginning) and must get to; moves the group's
    committed offsets back to the beginning when it has any."""
    members = await _members(settings, runner.group_id)
    if members:
        raise RebuildRefused(
            f"the consumer group {runner.group_id} has {members} member(s): the service (or another rebuild) is "
            "consuming with it. Stop every replica first, or rebuild under a new consumer name and run the service "
            "with that name afterwards")
    consumer = _client(settings, runner, "plan")
    await consumer.start()
    try:
        partitions = await _partitions(consumer, runner.subscription.topics)
        consumer.assign(partitions)
        start = await consumer.beginning_offsets(partitions)
        end = await _end_offsets(consumer, partitions, start)
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        moved = {tp: start[tp] for tp in partitions if committed[tp] is not None and committed[tp] != start[tp]}
        if moved:
            try:
                await consumer.commit(moved)
            except Exception as exc:
                raise RebuildRefused(
                    f"the consumer group {runner.group_id} has committed offsets (the service ran with it) and they "
                    f"could not be moved back to the start ({type(exc).__name__}): stop every replica of the "
                    "service first, or rebuild under a new consumer name and run the service with that name "
                    "afterwards") from exc
            log.info("rebuild.offsets_reset", group=runner.group_id, partitions=len(moved))
        return GroupPlan(runner=runner, start=start, end=end)
    finally:
        await consumer.stop()


async def _watcher(settings: Any, plan: GroupPlan) -> AIOKafkaConsumer:
    consumer = _client(settings, plan.runner, "progress")
    await consumer.start()
    consumer.assign([tp for tp in plan.end if plan.end[tp] > plan.start[tp]])
    return consumer


async def _read_so_far(watcher: AIOKafkaConsumer, plan: GroupPlan) -> int:
    """Events of the plan's partitions the group has committed, up to the end measured at start."""
    read = 0
    for tp in watcher.assignment():
        committed = await watcher.committed(tp)
        read += min(committed if committed is not None else plan.start[tp], plan.end[tp]) - plan.start[tp]
    return read
