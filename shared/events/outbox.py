"""The transactional outbox: events are rows written in the same transaction as the state change
they describe, so a change is never committed without its event nor an event sent without its
change. The relay publishes the rows afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import PlatformTables, new_uuids
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent, event_attributes, new_traceparents, trace_id_of
from shared.events.spec import EventSpec
from shared.queries import insert_rows


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
        the unit of work's). ``staged``, when given, receives the staged events in order.

        The events share one time (they are one transaction's), their ids and trace contexts come
        from one read of the system's randomness, and the rows are bound by the driver
        (``insert_rows``): at thousands of events a call, building an ``OutgoingEvent`` per event
        and Core's per-value conversion cost more than writing the rows."""
        if not events:
            return 0
        cause = cause or current_cause.get()
        now = datetime.now(UTC)
        stamp = now.isoformat()
        ids = new_uuids(len(events))
        if causes is None:
            whys: Sequence[Cause] = [cause] * len(events)
            traceparents = new_traceparents(len(events), trace_id_of(cause.traceparent))
        else:
            whys, traceparents = causes, [why.child_traceparent() for why in causes]
        rows = []
        for (spec, subject, data), why, event_id, traceparent in zip(events, whys, ids, traceparents, strict=True):
            data = data if isinstance(data, dict) else data.model_dump(mode="json")
            correlation_id, causation_id = why.correlation_id or "", why.causation_id
            rows.append({"event_id": event_id, "topic": spec.topic, "key": subject, "event_type": spec.type,
                         "attributes": event_attributes(event_id, spec.source, spec.type, subject, stamp,
                                                        correlation_id, causation_id, traceparent),
                         "data": data, "created_at": now})
            if staged is not None:
                staged.append(OutgoingEvent(type=spec.type, source=spec.source, subject=subject, data=data,
                                            id=event_id, time=now, correlation_id=correlation_id,
                                            causation_id=causation_id, traceparent=traceparent))
        await insert_rows(session, self.table, rows)
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
