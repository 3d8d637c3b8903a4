"""The consumer runner: at-least-once delivery turned into exactly-once effects.

For each message: open a transaction, drop it if the inbox already holds its event id, run the
handler, record the id, commit; only then commit the offset. Failures split in two:
- infrastructure (database or broker unreachable): retried with backoff for as long as it takes,
  holding the partition, because the event is fine and sending it to the DLQ would lose it;
- anything else (bad data, a bug): retried a few times, then the message goes to
  ``<topic>.dlq`` with the reason and its partition moves on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import ServiceSettings
from shared.db import PlatformTables, database_unavailable
from shared.events.context import Cause, current_cause
from shared.events.envelope import MalformedEvent, ReceivedEvent
from shared.events.kafka import ProducerHandle, security_options
from shared.events.spec import EventSpec
from shared.events.topics import dlq_topic
from shared.observability import metrics
from shared.queries import insert_for
from shared.schedule import wait_or_stop

log = structlog.get_logger(__name__)

# A handler gets the service's context (``shared.context``) for the runner's transaction.
Handler = Callable[[Any, ReceivedEvent], Awaitable[None]]
# A batch handler applies a partition's batch of fresh events (in offset order) at once, with the
# same effects as their handlers one after another; each event's own cause is its to set.
BatchHandler = Callable[[Any, Sequence[ReceivedEvent]], Awaitable[None]]
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError, KafkaError,
)
MAX_BACKOFF_S = 5.0
# Bounds of a consumer's close: the final offset commit, then leaving the group. Together well
# under stop_runtime's 15 s, after which the engine the runner uses is disposed.
FINAL_COMMIT_TIMEOUT_S = 3.0
STOP_TIMEOUT_S = 4.0
# Records a fetch returns at most, across partitions; they are applied in one transaction.
MAX_BATCH = 500


async def apply_each(context: Any, events: Sequence[ReceivedEvent], handlers: Mapping[str, Handler]) -> None:
    """Apply events one after another in one transaction, each under its own cause (the chain
    its effects belong to): what a batch does when its subscription has no batch handler."""
    for event in events:
        token = current_cause.set(Cause.from_event(event))
        try:
            await handlers[event.type](context, event)
        finally:
            current_cause.reset(token)


@dataclass(frozen=True)
class Subscription:
    """One consumer group of a service: a handler per event type it applies; it reads every topic
    those types are published on. Other types on those topics are skipped (and counted).

    ``batch``, when given, applies a partition's batch in one call (the fast path: state loaded
    once per batch, written in bulk); the handlers still apply events one at a time when a batch
    fails and is replayed message by message, where retries and the DLQ apply."""

    name: str
    handlers_by_spec: Mapping[EventSpec[Any], Handler]
    batch: BatchHandler | None = None

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(sorted({spec.topic for spec in self.handlers_by_spec}))

    @cached_property
    def handlers(self) -> dict[str, Handler]:
        """By event type, as messages name them."""
        return {spec.type: handler for spec, handler in self.handlers_by_spec.items()}


class _Stopping(Exception):
    """Raised inside a transient retry loop when shutdown begins: leave the offset uncommitted."""


def _is_transient(exc: BaseException) -> bool:
    return not isinstance(exc, IntegrityError) and (database_unavailable(exc) or isinstance(exc, TRANSIENT_ERRORS))


async def _close_client(consumer: AIOKafkaConsumer) -> None:
    """What aiokafka's stop() ends with, when it did not get there: close the client (its
    connections and metadata task)."""
    try:
        await asyncio.wait_for(consumer._client.close(), timeout=STOP_TIMEOUT_S)  # noqa: SLF001
    except Exception as exc:
        log.warning("consumer.client_close_failed", error=str(exc) or type(exc).__name__)


class ConsumerRunner:
    def __init__(
        self,
        service: str,
        subscription: Subscription,
        session_factory: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        settings: ServiceSettings,
        dlq_producer: ProducerHandle,
        *,
        context: Callable[[AsyncSession], Any],
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.service = service
        self._context = context
        # Called once a transaction that applied events committed: it wakes the outbox relay, so
        # that what the handlers published (the next link of a chain) does not wait for its poll.
        self._on_commit = on_commit or (lambda: None)
        self.subscription = subscription
        self.group_id = f"safegrid.{service}.{subscription.name}"
        self._sessions = session_factory
        self._inbox = tables.inbox
        self._settings = settings
        self._dlq = dlq_producer
        self._consumer: AIOKafkaConsumer | None = None
        self._uncommitted: dict[TopicPartition, int] = {}
        self._claims: dict[str, Any] = {}
        self._stop = asyncio.Event()
        self.assigned = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        backoff = 0.2
        try:
            while not stop.is_set():
                try:
                    await self._start()
                    backoff = 0.2
                    await self._loop()
                except asyncio.CancelledError:
                    raise
                except _Stopping:
                    break
                except Exception as exc:
                    log.warning("consumer.failed", group=self.group_id, error=str(exc) or type(exc).__name__,
                                retry_in_s=backoff)
                    await self._close()
                    await wait_or_stop(stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
        finally:
            # Also when cancelled (stop_runtime's timeout): commit what was applied and leave the
            # group, or the partitions stay with a member that is gone until its session expires.
            await asyncio.shield(self._close())

    async def _start(self) -> None:
        if self._consumer is not None:
            return
        consumer = AIOKafkaConsumer(
            *self.subscription.topics,
            **security_options(self._settings),
            bootstrap_servers=self._settings.kafka_bootstrap_servers,
            client_id=f"{self._settings.kafka_client_id_prefix}-{self.service}-{self.subscription.name}",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=MAX_BATCH,
            fetch_max_wait_ms=self._settings.kafka_fetch_max_wait_ms,
            session_timeout_ms=self._settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=1000,
            request_timeout_ms=15000,
        )
        consumer.subscribe(list(self.subscription.topics), listener=_CommitOnRevoke(self))
        try:
            await consumer.start()
        except Exception:
            await consumer.stop()
            raise
        self._consumer = consumer

    async def _close(self) -> None:
        """Commit what was applied and leave the group, each within its own bound: with the broker
        unreachable aiokafka's commit retries for as long as the coordinator is unknown, and the
        whole close must end well within stop_runtime's timeout (before the engine is disposed).
        Offsets left uncommitted are redelivered to whoever reads the partition next, and the
        inbox drops what was already applied."""
        consumer = self._consumer
        if consumer is None:
            return
        pending = dict(self._uncommitted)
        try:  # while self._consumer is still set: commit_processed commits through it
            await asyncio.wait_for(self.commit_processed(), timeout=FINAL_COMMIT_TIMEOUT_S)
        except TimeoutError:
            log.warning("consumer.final_commit_timed_out", group=self.group_id, timeout_s=FINAL_COMMIT_TIMEOUT_S,
                        uncommitted={f"{tp.topic}/{tp.partition}": offset for tp, offset in pending.items()},
                        note="redelivered after a restart; the inbox drops what was applied")
        except Exception as exc:
            log.debug("consumer.final_commit_failed", error=str(exc))
        finally:
            self._consumer = None
        try:
            await asyncio.wait_for(consumer.stop(), timeout=STOP_TIMEOUT_S)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # Not ours: with the broker gone, aiokafka's fetcher re-raises the cancellation of its
            # own fetch task (caught in a retry sleep), so stop() never reaches closing its client.
            log.warning("consumer.stop_failed", group=self.group_id, error="aiokafka's fetcher raised CancelledError")
            await _close_client(consumer)
        except Exception as exc:
            log.warning("consumer.stop_failed", group=self.group_id, error=str(exc) or type(exc).__name__)
            await _close_client(consumer)

    # -- the loop ----------------------------------------------------------------------------

    async def _loop(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stop.is_set():
            batches = await consumer.getmany(timeout_ms=200, max_records=MAX_BATCH)
            # Every partition's records of a fetch in one transaction: with a partition per key
            # and dozens of partitions, a partition's share of a fetch is a handful of records.
            if await self.process_batch([r for records in batches.values() for r in records]):
                for tp, records in batches.items():
                    self._uncommitted[tp] = records[-1].offset + 1
            else:
                for tp, records in batches.items():
                    for record in records:  # one at a time: retries, DLQ, transient waits
                        if self._stop.is_set():
                            break
                        await self.process(record)
                        self._uncommitted[tp] = record.offset + 1
            await self.commit_processed()
            for tp in batches:
                self._report_lag(consumer, tp)
            if consumer.assignment():
                self.assigned.set()

    async def commit_processed(self) -> None:
        if not self._uncommitted or self._consumer is None:
            return
        offsets, self._uncommitted = self._uncommitted, {}
        try:
            await self._consumer.commit(offsets)
        except KafkaError as exc:
            # Lost the partition in a rebalance: its new owner re-reads from the last commit and
            # the inbox drops what was already applied.
            log.info("consumer.commit_skipped", group=self.group_id, error=str(exc) or type(exc).__name__)

    def _report_lag(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        try:
            highwater = consumer.highwater(tp)
            position = self._uncommitted.get(tp) or consumer.last_stable_offset(tp)
            if highwater is not None and position is not None:
                metrics.consumer_lag.labels(self.service, self.subscription.name, tp.topic, str(tp.partition)).set(
                    max(highwater - position, 0))
        except Exception:  # lag is best-effort telemetry
            pass

    # -- a batch in one transaction ------------------------------------------------------------

    async def process_batch(self, records: list[ConsumerRecord]) -> bool:
        """Apply a fetch's records (each partition's in offset order) in a single transaction:
        one inbox query and one commit instead of one each per event. Any failure rolls the
        whole batch back and returns False, and the caller replays it one message at a time,
        where retries and the DLQ apply."""
        if len(records) < 2:
            return False
        try:
            events = [ReceivedEvent.from_kafka(r.headers, r.key, r.value, topic=r.topic, partition=r.partition,
                                               offset=r.offset) for r in records]
        except MalformedEvent:
            return False
        started = time.perf_counter()
        outcomes: list[tuple[str, str]] = []
        try:
            async with self._sessions() as session, session.begin():
                # Claim the events in the inbox first: the ids claimed are the ones not applied
                # yet (a concurrent claim of the same id waits for the other's commit).
                candidates = {e.id: e for e in events if e.type in self.subscription.handlers}
                rows = [{"consumer": self.group_id, "event_id": e.id, "event_type": e.type}
                        for e in candidates.values()]
                claimed = set((await session.execute(self._claim(session), rows)).scalars()) if rows else set()
                fresh: list[ReceivedEvent] = []
                for event in events:
                    if event.type not in self.subscription.handlers:
                        outcomes.append((event.type, "ignored"))
                    elif event.id in claimed:
                        claimed.discard(event.id)
                        fresh.append(event)
                        outcomes.append((event.type, "applied"))
                    else:
                        outcomes.append((event.type, "duplicate"))
                if fresh:
                    await self._apply_together(session, fresh)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("consumer.batch_fallback", group=self.group_id, error=str(exc) or type(exc).__name__)
            return False
        if fresh:
            self._on_commit()
        for event_type, outcome in outcomes:
            self._count(event_type, outcome)
        metrics.handler_latency.labels(self.service, self.subscription.name, "batch").observe(
            time.perf_counter() - started)
        return True

    def _claim(self, session: AsyncSession) -> Any:
        """INSERT … ON CONFLICT DO NOTHING RETURNING the ids inserted: one statement that finds
        and records the fresh events (a lookup by a parameter list is slow on PostgreSQL, where a
        prepared statement's array is searched row by row)."""
        dialect = session.get_bind().dialect.name
        if (statement := self._claims.get(dialect)) is None:
            statement = self._claims[dialect] = insert_for(session, self._inbox).on_conflict_do_nothing(
                index_elements=["consumer", "event_id"]).returning(self._inbox.c.event_id)
        return statement

    async def _apply_together(self, session: AsyncSession, events: list[ReceivedEvent]) -> None:
        if self.subscription.batch is not None:
            await self.subscription.batch(self._context(session), events)
            return
        await apply_each(self._context(session), events, self.subscription.handlers)

    # -- one message -------------------------------------------------------------------------

    async def process(self, record: ConsumerRecord) -> str:
        """Apply one message; returns the outcome (applied, duplicate, ignored, dead_lettered)."""
        try:
            event = ReceivedEvent.from_kafka(record.headers, record.key, record.value, topic=record.topic,
                                             partition=record.partition, offset=record.offset)
        except MalformedEvent as exc:
            await self._dead_letter(record, f"malformed: {exc}", event_type="unknown")
            return "dead_lettered"
        handler = self.subscription.handlers.get(event.type)
        if handler is None:
            self._count(event.type, "ignored")
            return "ignored"

        failures = 0  # of the event itself: transient failures in between neither count nor reset them
        backoff = self._settings.consumer_retry_backoff_s
        while True:
            try:
                outcome = await self._apply(handler, event)
                self._count(event.type, outcome)
                return outcome
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if _is_transient(exc):
                    log.warning("consumer.transient_failure", event_id=event.id, event_type=event.type,
                                error=str(exc) or type(exc).__name__, failures=failures)
                    self._count(event.type, "retried")
                    if self._stop.is_set():
                        raise _Stopping() from exc
                    await wait_or_stop(self._stop, backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_S)
                    continue
                if self._stop.is_set():  # shutting down: leave it for the next run, do not burn its retries
                    raise _Stopping() from exc
                failures += 1
                if failures > self._settings.consumer_max_retries:
                    await self._dead_letter(record, f"{type(exc).__name__}: {exc}", event_type=event.type)
                    return "dead_lettered"
                log.warning("consumer.handler_failed", event_id=event.id, event_type=event.type,
                            error=str(exc) or type(exc).__name__, attempt=failures)
                self._count(event.type, "retried")
                await wait_or_stop(self._stop, backoff * failures)

    async def _apply(self, handler: Handler, event: ReceivedEvent) -> str:
        started = time.perf_counter()
        token = current_cause.set(Cause.from_event(event))
        structlog.contextvars.bind_contextvars(event_id=event.id, correlation_id=event.correlation_id)
        try:
            async with self._sessions() as session:
                try:
                    async with session.begin():
                        seen = await session.execute(
                            select(self._inbox.c.event_id).where(
                                self._inbox.c.consumer == self.group_id, self._inbox.c.event_id == event.id)
                        )
                        if seen.first() is not None:
                            return "duplicate"
                        await handler(self._context(session), event)
                        await session.execute(
                            insert(self._inbox).values(consumer=self.group_id, event_id=event.id, event_type=event.type)
                        )
                except IntegrityError as exc:
                    if "inbox" in str(exc.orig).lower() or "inbox" in str(exc.statement or "").lower():
                        return "duplicate"  # a concurrent delivery won the race
                    raise
            self._on_commit()
            return "applied"
        finally:
            current_cause.reset(token)
            structlog.contextvars.unbind_contextvars("event_id", "correlation_id")
            metrics.handler_latency.labels(self.service, self.subscription.name, event.type).observe(
                time.perf_counter() - started)

    async def _dead_letter(self, record: ConsumerRecord, reason: str, *, event_type: str) -> None:
        log.error("consumer.dead_lettered", topic=record.topic, partition=record.partition,
                  offset=record.offset, reason=reason)
        headers = list(record.headers or []) + [
            ("x-dlq-reason", reason[:1000].encode()),
            ("x-dlq-consumer", self.group_id.encode()),
            ("x-dlq-origin", f"{record.topic}/{record.partition}/{record.offset}".encode()),
        ]
        backoff = 0.2
        while True:
            try:
                producer = await self._dlq.get()
                await producer.send_and_wait(dlq_topic(record.topic), value=record.value, key=record.key,
                                             headers=headers)
                break
            except Exception as exc:
                log.warning("consumer.dlq_failed", error=str(exc) or type(exc).__name__)
                await self._dlq.reset()
                if self._stop.is_set():
                    raise _Stopping() from exc
                await wait_or_stop(self._stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
        self._count(event_type, "dead_lettered")

    def _count(self, event_type: str, outcome: str) -> None:
        metrics.consumer_events.labels(self.service, self.subscription.name, event_type, outcome).inc()


class _CommitOnRevoke(ConsumerRebalanceListener):
    """Commit what was applied before partitions move to another member."""

    def __init__(self, runner: ConsumerRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._runner.commit_processed()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if assigned:
            self._runner.assigned.set()
