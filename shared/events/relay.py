"""The outbox relay: publishes outbox rows to Kafka in id order and marks them published.

One relay per service holds a lease row at a time, so several replicas can run it safely and
per-key order is kept. A broker outage leaves rows in the outbox; they drain when it returns.
Delivery is at-least-once: a crash between send and mark re-sends, and consumers drop the
duplicate by event id.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

import structlog
from aiokafka.errors import (
    InvalidTopicError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
    UnknownTopicOrPartitionError,
)
from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import PlatformTables, utcnow
from shared.events.envelope import to_kafka
from shared.events.kafka import ProducerHandle
from shared.observability import metrics

log = structlog.get_logger(__name__)

# A row Kafka will never take (too large, an invalid topic, data the envelope cannot encode) is
# parked: its attempts column is set to this, the relay skips it, and `safegrid outbox status`
# shows it (by topic). Without that it would block every row behind it forever. Rows of a topic
# the broker lacks are parked all at once, so that the other topics flow on; `safegrid outbox
# unpark` (or `replay`) puts parked rows back once the cause is fixed.
PARKED = 1_000_000
UNSENDABLE = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, ValueError, TypeError)
# What a send to a topic the broker lacks fails with (aiokafka waits for its metadata, then gives
# up) - and also what an outage can look like. Parked only when the broker answers with metadata
# that lists other topics but not this one; otherwise retried like any outage.
MAYBE_ABSENT_TOPIC = (UnknownTopicOrPartitionError, KafkaTimeoutError)
LEASE_NAME = "outbox-relay"
LEASE_TTL = timedelta(seconds=10)
MAX_BACKOFF_S = 5.0


class OutboxRelay:
    def __init__(
        self,
        service: str,
        session_factory: async_sessionmaker[AsyncSession],
        tables: PlatformTables,
        producer: ProducerHandle,
        *,
        batch_size: int = 500,
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
        """Publish one batch of unpublished rows in id order; return how many were published."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(self._outbox.c.id, self._outbox.c.topic, self._outbox.c.key,
                           self._outbox.c.attributes, self._outbox.c.data)
                    .where(self._outbox.c.published_at.is_(None), self._outbox.c.attempts < PARKED)
                    .order_by(self._outbox.c.id)
                    .limit(self._batch_size)
                )
            ).all()
        if not rows:
            metrics.outbox_backlog.labels(self.service).set(0)
            return 0
        producer = await self._producer.get()
        futures = []
        failure: BaseException | None = None
        for row in rows:
            try:
                message = to_kafka(row.attributes, row.data, row.key)
                futures.append(await producer.send(
                    row.topic, value=message.value, key=row.key.encode() if row.key else None,
                    headers=[(name, value) for name, value in message.headers.items()],
                ))
            except Exception as exc:  # refused before sending: stop here, keep what was queued
                failure = exc
                break
        results = await asyncio.gather(*futures, return_exceptions=True)
        # Mark the longest delivered prefix: what follows a failure is re-sent in order.
        delivered = []
        for row, result in zip(rows, results, strict=False):
            if isinstance(result, BaseException):
                failure = result
                break
            delivered.append(row.id)
        if delivered:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    update(self._outbox).where(self._outbox.c.id.in_(delivered)).values(published_at=utcnow())
                )
            metrics.relay_published.labels(self.service).inc(len(delivered))
        if failure is not None and isinstance(failure, UNSENDABLE):
            await self._park(rows[len(delivered)], failure)
            return len(delivered) + 1
        if failure is not None and isinstance(failure, MAYBE_ABSENT_TOPIC):
            topic = rows[len(delivered)].topic
            if await topic_absent(producer, topic):
                # Every send to it would wait for its metadata in turn and stall every topic behind
                # it: park all its rows at once (`safegrid outbox unpark` once the topic exists).
                return len(delivered) + await self._park_topic(topic, failure)
        if failure is not None:
            raise failure
        if len(rows) < self._batch_size:
            metrics.outbox_backlog.labels(self.service).set(0)
        return len(delivered)


async def topic_absent(producer: Any, topic: str) -> bool:
    """True only when the broker answers, its metadata lists other topics and not ``topic``: an
    event for a topic the deployment lacks, not an outage (then nothing answers and rows wait)."""
    try:
        cluster = await producer.client.fetch_all_metadata()
    except Exception:
        return False
    topics = set(cluster.topics())
    return topic not in topics and bool(topics)
