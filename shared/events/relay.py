"""The outbox relay: publishes outbox rows to Kafka in id order and marks them published.

One relay per service holds a lease row at a time, so several replicas can run it safely and
per-key order is kept. A broker outage leaves rows in the outbox; they drain when it returns.
Delivery is at-least-once: a crash between send and mark re-sends, and consumers drop the
duplicate by event id. A drain is pipelined (``drain_once``): reading, sending and marking overlap.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from aiokafka.errors import (
    InvalidTopicError,
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    UnknownTopicOrPartitionError,
)
from cloudevents.core.exceptions import BaseCloudEventException
from sqlalchemy import BigInteger, Text, cast, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import PlatformTables, utcnow
from shared.events.envelope import kafka_headers, kafka_value
from shared.events.kafka import ProducerHandle
from shared.observability import metrics
from shared.queries import among

log = structlog.get_logger(__name__)

# A row Kafka will never take (too large, an invalid topic, data the envelope cannot encode) is
# parked: its attempts column is set to this, the relay skips it, and `safegrid outbox status`
# shows it (by topic). Without that it would block every row behind it forever. Rows of a topic
# the broker lacks are parked all at once, so that the other topics flow on; `safegrid outbox
# unpark` (or `replay`) puts parked rows back once the cause is fixed.
PARKED = 1_000_000
UNSENDABLE = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, ValueError, TypeError,
              BaseCloudEventException)
# What a send to a topic the broker lacks fails with (aiokafka waits for its metadata, then gives
# up) - and also what an outage can look like. Parked only when the broker answers with metadata
# that lists other topics but not this one; otherwise retried like any outage.
MAYBE_ABSENT_TOPIC = (UnknownTopicOrPartitionError, KafkaTimeoutError)
LEASE_NAME = "outbox-relay"
LEASE_TTL = timedelta(seconds=10)
MAX_BACKOFF_S = 5.0
# Batches queued and not yet settled (acknowledgements looked at, rows marked): the newest keeps
# sending while the next one is read.
PIPELINE_DEPTH = 2
# A drain's first read is this small, so that sends start at once; each next read doubles, up to
# the batch size, whose statements then cost little per row.
FIRST_BATCH = 200
# A drain stops reading after this long, so that the lease is renewed well within its TTL.
ROUND_S = LEASE_TTL.total_seconds() / 5


class OutboxRelay:
    def __init__(
        self,
        service: str,
        session_factory: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        producer: ProducerHandle,
        *,
        batch_size: int = 2000,
        poll_interval_s: float = 0.05,
    ) -> None:
        self.service = service
        self._sessions = session_factory
        self._outbox = tables.outbox
        self._lease = tables.relay_lease
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self._wakeup = asyncio.Event()
        outbox = tables.outbox
        # attributes and data as the JSON text stored: the data is sent as is, never parsed
        self._read = select(
            outbox.c.id, outbox.c.topic, outbox.c.key, cast(outbox.c.attributes, Text).label("attributes"),
            cast(outbox.c.data, Text).label("data"), outbox.c.epoch,
        ).where(outbox.c.published_at.is_(None), outbox.c.attempts < PARKED)

    def notify(self) -> None:
        """Wake the relay early (after a commit that wrote events)."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        backoff = self._poll_interval_s
        try:
            while not stop.is_set():
                try:
                    if not await self.hold_lease():
                        await self._sleep(stop, LEASE_TTL.total_seconds() / 3)
                        continue
                    published = await self.drain_once()
                    backoff = self._poll_interval_s
                    if published == 0:
                        await self._sleep(stop, self._poll_interval_s)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    metrics.relay_errors.labels(self.service).inc()
                    log.warning("outbox.relay_failed", error=str(exc) or type(exc).__name__, retry_in_s=backoff)
                    await self._producer.reset()
                    await self._sleep(stop, backoff)
                    backoff = min(backoff * 2 if backoff >= 0.1 else 0.2, MAX_BACKOFF_S)
        finally:  # cancelled by stop_runtime's timeout too: hand the lease over now, not in LEASE_TTL
            await asyncio.shield(self.release_lease())

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        self._wakeup.clear()
        stop_wait = asyncio.ensure_future(stop.wait())
        wake_wait = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({stop_wait, wake_wait}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop_wait.cancel()
            wake_wait.cancel()

    async def hold_lease(self) -> bool:
        """Take or renew the lease; False when another live relay holds it."""
        now = utcnow()
        async with self._sessions() as session, session.begin():
            result = await session.execute(
                update(self._lease)
                .where(self._lease.c.name == LEASE_NAME)
                .where(or_(self._lease.c.holder == self.holder, self._lease.c.expires_at < now))
                .values(holder=self.holder, expires_at=now + LEASE_TTL)
            )
            if result.rowcount == 1:
                return True
            exists = await session.execute(select(self._lease.c.holder).where(self._lease.c.name == LEASE_NAME))
            if exists.first() is not None:
                return False
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(insert(self._lease).values(name=LEASE_NAME, holder=self.holder,
                                                                 expires_at=now + LEASE_TTL))
            return True
        except IntegrityError:
            return False

    async def release_lease(self) -> None:
        try:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(self._lease)
                    .where(self._lease.c.name == LEASE_NAME, self._lease.c.holder == self.holder)
                    .values(expires_at=utcnow())
                )
        except Exception as exc:  # shutting down with the database gone: the lease simply expires
            log.debug("outbox.lease_release_failed", error=str(exc))

    async def _park(self, row: Any, failure: BaseException) -> None:
        log.error("outbox.event_parked", outbox_id=row.id, topic=row.topic, key=row.key,
                  error=f"{type(failure).__name__}: {failure}")
        metrics.relay_errors.labels(self.service).inc()
        async with self._sessions() as session, session.begin():
            await session.execute(update(self._outbox).where(self._outbox.c.id == row.id).values(attempts=PARKED))

    async def _park_topic(self, topic: str, failure: BaseException) -> int:
        """Park every pending row of a topic the broker lacks, in one statement; how many."""
        outbox = self._outbox
        async with self._sessions() as session, session.begin():
            result = await session.execute(update(outbox).where(
                outbox.c.topic == topic, outbox.c.published_at.is_(None), outbox.c.attempts < PARKED,
            ).values(attempts=PARKED))
        parked = int(result.rowcount or 0)
        log.error("outbox.topic_parked", topic=topic, parked=parked, error=f"{type(failure).__name__}: {failure}",
                  hint="create the topic, then `safegrid outbox unpark --topic`")
        metrics.relay_errors.labels(self.service).inc()
        return parked

    async def drain_once(self) -> int:
        """Publish unpublished rows in id order until none are left, a send fails or ``ROUND_S``
        passed (the caller renews the lease between drains); return how many left the outbox
        (published or parked).

        Pipelined: the next batch is read while this one is queued on the producer (which keeps
        them in order per partition), and a delivered batch is marked while the next ones are
        sent. A row is marked published only once its send is acknowledged, and only the longest
        delivered prefix in id order: what follows a failure is sent again, in order, by the next
        drain."""
        rows = await self._unpublished(None, limit := max(1, min(self._batch_size, FIRST_BATCH)))
        if not rows:
            metrics.outbox_backlog.labels(self.service).set(0)
            return 0
        producer = await self._producer.get()
        deadline = asyncio.get_running_loop().time() + ROUND_S
        in_flight: deque[_Batch] = deque()
        reading: asyncio.Task[list[Any]] | None = None
        marking: asyncio.Task[None] | None = None
        published = 0
        caught_up = False
        failed: tuple[Any, BaseException] | None = None  # the first row not delivered, and why
        try:
            while True:
                if rows:
                    caught_up = len(rows) < limit
                    limit = min(limit * 2, self._batch_size)
                    if not caught_up and asyncio.get_running_loop().time() < deadline:
                        reading = asyncio.create_task(self._unpublished(rows[-1].id, limit))
                    in_flight.append(await _queue(producer, rows))
                else:
                    caught_up = True
                # Settle what the broker answered: every batch but the newest while more follow.
                last = reading is None or bool(in_flight) and in_flight[-1].refused is not None
                while in_flight and (last or len(in_flight) >= PIPELINE_DEPTH):
                    delivered, failed = await in_flight.popleft().delivered()
                    if delivered:
                        if marking is not None:
                            await marking
                        marking = asyncio.create_task(self._mark(delivered))
                        published += len(delivered)
                    if failed is not None:  # what was queued behind it is sent again: wait for it, mark none
                        for later in in_flight:
                            await asyncio.gather(*later.futures, return_exceptions=True)
                        in_flight.clear()
                if failed is not None or reading is None:
                    break
                rows, reading = await reading, None
        except asyncio.CancelledError:  # shutting down: do not wait for the database first
            for task in (reading, marking):
                if task is not None:
                    task.cancel()
            raise
        finally:
            # A read or a mark that fails (the database gone) fails the drain: the rows go again.
            pending = [task for task in (reading, marking) if task is not None]
            await asyncio.gather(*pending, return_exceptions=True)
            for task in pending:
                if not task.cancelled() and task.exception() is not None and failed is None:
                    raise task.exception()  # type: ignore[misc]
        if failed is not None:
            return published + await self._after_failure(producer, *failed)
        if caught_up:
            metrics.outbox_backlog.labels(self.service).set(0)
        return published

    async def _unpublished(self, after: int | None, limit: int) -> list[Any]:
        outbox = self._outbox
        query = self._read if after is None else self._read.where(outbox.c.id > after)
        # In id order; published_at (NULL in every row read) first, so that the order is the unpublished
        # index's own: PostgreSQL then walks that index instead of the primary key past published rows.
        async with self._sessions() as session:
            return list((await session.execute(query.order_by(outbox.c.published_at, outbox.c.id).limit(limit))).all())

    async def _mark(self, rows: list[Any]) -> None:
        """Mark delivered rows published, each only in the epoch it was read in (a replay since
        then wants it sent again)."""
        outbox, epochs = self._outbox, sorted({row.epoch for row in rows})
        async with self._sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # A mark lost in a crash only sends its rows again (consumers drop them by event id):
                # no need to wait for the WAL flush.
                await session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            for epoch in epochs:  # one statement: every row is of one epoch but after a replay
                ids = [row.id for row in rows if row.epoch == epoch]
                await session.execute(update(outbox).where(among(session, outbox.c.id, ids, BigInteger),
                                                           outbox.c.epoch == epoch).values(published_at=utcnow()))
        metrics.relay_published.labels(self.service).inc(len(rows))

    async def _after_failure(self, producer: Any, row: Any, failure: BaseException) -> int:
        """Park the row that failed when Kafka will never take it (or its topic's rows, when the
        broker lacks the topic); how many were parked. Any other failure is raised: the rows wait."""
        if isinstance(failure, UNSENDABLE):
            await self._park(row, failure)
            return 1
        if isinstance(failure, MAYBE_ABSENT_TOPIC) and producer is not None and await topic_absent(producer, row.topic):
            # Every send to it would wait for its metadata in turn and stall every topic behind
            # it: park all its rows at once (`safegrid outbox unpark` once the topic exists).
            return await self._park_topic(row.topic, failure)
        raise failure


@dataclass
class _Batch:
    """Rows whose sends are queued: ``futures`` holds one per row sent, in order; ``refused`` is
    what stopped the queuing before the rest (the row after the last future)."""

    rows: list[Any]
    futures: list[asyncio.Future[Any]]
    refused: BaseException | None

    async def delivered(self) -> tuple[list[Any], tuple[Any, BaseException] | None]:
        """Once the broker answered: the rows of the longest delivered prefix, and the first row
        not delivered with its failure (None when every row was). Futures are looked at in order,
        waiting only for those not done yet (by then few are)."""
        for index, future in enumerate(self.futures):
            if not future.done():
                await asyncio.wait((future,))
            failure = KafkaError("the send was cancelled") if future.cancelled() else future.exception()
            if failure is not None:
                return self.rows[:index], (self.rows[index], failure)
        rows = self.rows[:len(self.futures)]
        return rows, (self.rows[len(self.futures)], self.refused) if self.refused is not None else None


async def _queue(producer: Any, rows: list[Any]) -> _Batch:
    """Queue a send per row, in order, until one is refused before sending (too large, no
    metadata for its topic, attributes the envelope cannot encode)."""
    futures = []
    send = producer.send
    for _, topic, key, attributes, data, _ in rows:
        try:
            futures.append(await send(topic, value=kafka_value(data), key=key.encode() if key else None,
                                      headers=kafka_headers(json.loads(attributes))))
        except Exception as exc:
            return _Batch(rows, futures, exc)
    return _Batch(rows, futures, None)


async def topic_absent(producer: Any, topic: str) -> bool:
    """True only when the broker answers, its metadata lists other topics and not ``topic``: an
    event for a topic the deployment lacks, not an outage (then nothing answers and rows wait)."""
    try:
        cluster = await producer.client.fetch_all_metadata()
    except Exception:
        return False
    topics = set(cluster.topics())
    return topic not in topics and bool(topics)
