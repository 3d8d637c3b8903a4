"""The transactional outbox: events are rows written in the same transaction as the state change
they describe, so a change is never committed without its event nor an event sent without its
change. The relay publishes the rows afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import PlatformTables
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent
from shared.events.spec import EventSpec


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
        """Stage an event in the caller's transaction; it leaves when the transaction commits.
        ``data`` is validated against the spec's data model."""
        model = data if isinstance(data, spec.data_model) else spec.data_model.model_validate(
            data.model_dump() if isinstance(data, BaseModel) else data)
        row, event = self._row(spec, subject, model.model_dump(mode="json"), cause or current_cause.get())
        await session.execute(insert(self.table).values(**row))
        return event

    async def publish_many(
        self,
        session: AsyncSession,
        events: Sequence[tuple[EventSpec[Any], str, BaseModel | dict[str, Any]]],
        cause: Cause | None = None,
        staged: list[OutgoingEvent] | None = None,
        causes: Sequence[Cause] | None = None,
    ) -> int:
        """Stage many events with one statement (bulk paths: imports, full rescoring, a batch of
        consumed events). Each item is (spec, subject, data); data is the spec's model, or its
        JSON form already dumped. ``causes``, when given, is each item's cause (else ``cause``, or
        the unit of work's). ``staged``, when given, receives the staged events in order."""
        if not events:
            return 0
        cause = cause or current_cause.get()
        each = causes if causes is not None else [cause] * len(events)
        built = [self._row(spec, subject, data if isinstance(data, dict) else data.model_dump(mode="json"), why)
                 for (spec, subject, data), why in zip(events, each, strict=True)]
        rows = [row for row, _ in built]
        if staged is not None:
            staged.extend(event for _, event in built)
        await session.execute(insert(self.table), rows)
        return len(rows)

    def _row(self, spec: EventSpec[Any], subject: str, data: dict[str, Any],
             cause: Cause) -> tuple[dict[str, Any], OutgoingEvent]:
        event = OutgoingEvent(
            type=spec.type, source=spec.source, subject=subject, data=data,
            correlation_id=cause.correlation_id or "", causation_id=cause.causation_id,
            traceparent=cause.child_traceparent(),
        )
        return {"event_id": event.id, "topic": spec.topic, "key": subject, "event_type": spec.type,
                "attributes": event.attributes(), "data": event.data}, event

    async def backlog(self, session: AsyncSession) -> int:
        unpublished = self.table.c.published_at.is_(None)
        result = await session.execute(select(func.count()).select_from(self.table).where(unpublished))
        return int(result.scalar_one())
