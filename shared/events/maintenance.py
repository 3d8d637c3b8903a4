"""Operator actions on an outbox: status and replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from shared.config import ServiceSettings
from shared.db import PlatformTables, build_engine, build_session_factory
from shared.events.relay import PARKED


async def replay_outbox(tables: PlatformTables, settings: ServiceSettings, since: datetime) -> int:
    """Mark events written since ``since`` unpublished, so the relay sends them again."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    engine = build_engine(settings.effective_database_url)
    try:
        async with build_session_factory(engine)() as session, session.begin():
            result = await session.execute(
                update(tables.outbox).where(tables.outbox.c.created_at >= since).values(published_at=None))
            return int(result.rowcount or 0)
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
            parked = (await session.execute(select(func.count()).select_from(outbox)
                                            .where(outbox.c.published_at.is_(None), outbox.c.attempts >= PARKED))
                      ).scalar_one()
            return {"unpublished": unpublished, "oldest": oldest, "total": total, "parked": parked}
    finally:
        await engine.dispose()
