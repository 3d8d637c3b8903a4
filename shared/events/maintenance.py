"""Operator actions on an outbox: status, replay and unparking."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from shared.config import ServiceSettings
from shared.db import PlatformTables, build_engine, build_session_factory
from shared.events.relay import PARKED


async def replay_outbox(tables: PlatformTables, settings: ServiceSettings, since: datetime) -> int:
    """Mark events written since ``since`` unpublished, so the relay sends them again (parked
    ones included: they are retried too), in a new epoch: a relay that sent one of them before
    (to a broker since lost) and marks it after this cannot mark it published again."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    engine = build_engine(settings.effective_database_url)
    try:
        async with build_session_factory(engine)() as session, session.begin():
            result = await session.execute(
                update(tables.outbox).where(tables.outbox.c.created_at >= since).values(
                    published_at=None, attempts=0, epoch=tables.outbox.c.epoch + 1))
            return int(result.rowcount or 0)
    finally:
        await engine.dispose()


async def unpark_outbox(tables: PlatformTables, settings: ServiceSettings, topic: str | None = None) -> int:
    """Put parked rows (of ``topic``, or all) back in line: the relay retries them, and parks them
    again if their cause is still there. How many."""
    outbox = tables.outbox
    engine = build_engine(settings.effective_database_url)
    try:
        async with build_session_factory(engine)() as session, session.begin():
            query = update(outbox).where(outbox.c.published_at.is_(None), outbox.c.attempts >= PARKED)
            if topic is not None:
                query = query.where(outbox.c.topic == topic)
            return int((await session.execute(query.values(attempts=0))).rowcount or 0)
    finally:
        await engine.dispose()


async def outbox_status(tables: PlatformTables, settings: ServiceSettings) -> dict[str, Any]:
    outbox = tables.outbox
    engine = build_engine(settings.effective_database_url)
    try:
        async with build_session_factory(engine)() as session:
            unpublished, oldest = (await session.execute(
                select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.published_at.is_(None)))).one()
            total = (await session.execute(select(func.count()).select_from(outbox))).scalar_one()
            parked_by_topic = {topic: count for topic, count in (await session.execute(
                select(outbox.c.topic, func.count()).where(outbox.c.published_at.is_(None), outbox.c.attempts >= PARKED)
                .group_by(outbox.c.topic).order_by(outbox.c.topic))).all()}
            return {"unpublished": unpublished, "oldest": oldest, "total": total,
                    "parked": sum(parked_by_topic.values()), "parked_by_topic": parked_by_topic}
    finally:
        await engine.dispose()
