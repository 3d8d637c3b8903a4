"""What the scoring service publishes (on ``scoring.scores``), staged in the outbox.

``stage`` writes many events with one INSERT: a full rescore after a model change publishes a
score.updated per enterprise, and a row-by-row insert would cost more than the scoring itself.
Each event is linked to its cause exactly as ``Outbox.publish`` links it: causationid = the
consumed event, correlationid = the chain's first event (or this event when it starts a chain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.scoring import (
    CREDIT_REPAIR_APPROVED,
    GRADE_CHANGED,
    SCORE_UPDATED,
    CreditRepairApproved,
    GradeChanged,
    ScoreUpdated,
)
from shared.events.context import current_cause
from shared.events.envelope import OutgoingEvent
from shared.events.outbox import Outbox
from shared.events.spec import EventSpec

__all__ = [
    "CREDIT_REPAIR_APPROVED", "GRADE_CHANGED", "SCORE_UPDATED", "CreditRepairApproved", "GradeChanged",
    "Pending", "ScoreUpdated", "stage",
]


@dataclass(frozen=True)
class Pending:
    """An event to stage: its type, its subject (the USCC) and its data."""

    spec: EventSpec[Any]
    subject: str
    data: BaseModel


async def stage(session: AsyncSession, outbox: Outbox, events: Sequence[Pending]) -> list[OutgoingEvent]:
    """Stage the events in the caller's transaction, in order, with one INSERT."""
    if not events:
        return []
    cause = current_cause.get()
    staged, rows = [], []
    for pending in events:
        data = pending.data if isinstance(pending.data, pending.spec.data_model) else \
            pending.spec.data_model.model_validate(pending.data.model_dump())
        event = OutgoingEvent(type=pending.spec.type, source=pending.spec.source, subject=pending.subject,
                              data=data.model_dump(mode="json"), causation_id=cause.causation_id,
                              correlation_id=cause.correlation_id or "", traceparent=cause.child_traceparent())
        staged.append(event)
        rows.append({"event_id": event.id, "topic": pending.spec.topic, "key": event.subject,
                     "event_type": event.type, "attributes": event.attributes(), "data": event.data})
    await session.execute(outbox.table.insert(), rows)
    return staged
