"""The transactional outbox: events are rows written in the same transaction as the state change
they describe, so a change is never committed without its event nor an event sent without its
change. The relay publishes the rows afterwards."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import PlatformTables
from shared.events.catalogue import EventSpec
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent


class Outbox:
    def __init__(self, tables: PlatformTables) -> None:
        self.table = tables.outbox

    async def publish(
        self,
        session: AsyncSession,
        spec: EventSpec[Any],
        *,
        subject: str,
        data: BaseModel | dict[str, Any],
        cause: Cause | None = None,
    ) -> OutgoingEvent:
        """Stage an event in the caller's transaction; it leaves when the transaction commits."""
        model = data if isinstance(data, spec.data_model) else spec.data_model.model_validate(
            data.model_dump() if isinstance(data, BaseModel) else data)
        cause = cause or current_cause.get()
        event = OutgoingEvent(
            type=spec.type,
            source=spec.source,
            subject=subject,
            data=model.model_dump(mode="json"),
            causation_id=cause.causation_id,
            traceparent=cause.child_traceparent(),
        )
        if cause.correlation_id:
            event = OutgoingEvent(**{**event.__dict__, "correlation_id": cause.correlation_id})
        await session.execute(
            insert(self.table).values(
                event_id=event.id,
                topic=spec.topic,
                key=subject,
                event_type=spec.type,
                attributes=event.attributes(),
                data=event.data,
            )
        )
        return event

    async def backlog(self, session: AsyncSession) -> int:
        unpublished = self.table.c.published_at.is_(None)
        result = await session.execute(select(func.count()).select_from(self.table).where(unpublished))
        return int(result.scalar_one())
