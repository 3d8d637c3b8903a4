"""What the scoring service publishes (on ``scoring.scores``): the events of a rescoring, built
from what it writes, and the cause links of the events it stages. The event types and their data
models live in ``shared/contracts/scoring.py``; they are staged with ``ctx.outbox.publish_many``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from services.scoring.domain import Scored
from shared.contracts.scoring import GRADE_CHANGED, SCORE_UPDATED, GradeChanged, ScoreUpdated
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent
from shared.events.spec import EventSpec

if TYPE_CHECKING:
    from services.scoring.scores.service import Trigger

Pending = tuple[EventSpec[Any], str, BaseModel]


def rescoring_events(writes: Sequence[Scored], trigger_of: Callable[[str], Trigger], as_of: datetime) -> list[Pending]:
    """score.updated for every score written, and grade.changed when its grade moved; each
    names its enterprise's trigger."""
    pending: list[Pending] = []
    for w in writes:
        c = w.content
        trigger = trigger_of(w.uscc)
        pending.append((SCORE_UPDATED, w.uscc, ScoreUpdated(
            enterprise_uscc=w.uscc, score=c["score"], grade=c["grade"], raw_grade=c["raw_grade"],
            previous_grade=w.held_grade, grade_changed=w.grade_changed, model_version=c["model_version"],
            computed_at=as_of, trigger_event_type=trigger.type, trigger_event_id=trigger.event_id,
            trigger_business_date=trigger.business_date, jurisdiction_code=c["jurisdiction_code"],
            key_supervision=c["key_supervision"], kinds=w.kinds)))
        if w.grade_changed:
            pending.append((GRADE_CHANGED, w.uscc, GradeChanged(
                enterprise_uscc=w.uscc, from_grade=w.held_grade, to_grade=c["grade"], score=c["score"],
                model_version=c["model_version"], changed_at=as_of, cause=trigger.words(),
                trigger_event_type=trigger.type, trigger_event_id=trigger.event_id,
                jurisdiction_code=c["jurisdiction_code"])))
    return pending


def correlation_of(event: OutgoingEvent) -> str:
    """The chain an event belongs to: its correlation id, or itself when it starts the chain."""
    return event.correlation_id or event.id


@contextmanager
def caused_by(event: OutgoingEvent) -> Iterator[None]:
    """Within the block, events published are caused by `event` (and share its correlation)."""
    outer = current_cause.get()
    token = current_cause.set(Cause(correlation_id=correlation_of(event), causation_id=event.id,
                                    traceparent=event.traceparent, request_id=outer.request_id))
    try:
        yield
    finally:
        current_cause.reset(token)


@contextmanager
def correlated(correlation_id: str) -> Iterator[None]:
    """Within the block, events published carry this correlation id (a full rescore's run id)."""
    outer = current_cause.get()
    token = current_cause.set(Cause(correlation_id=correlation_id, traceparent=outer.traceparent,
                                    request_id=outer.request_id))
    try:
        yield
    finally:
        current_cause.reset(token)
