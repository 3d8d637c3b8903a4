"""What the current unit of work was caused by: an HTTP request or a consumed event.

The request middleware and the consumer runner set it, so that ``publish`` links every event it
writes to its cause (correlation, causation, trace) without the service code passing it along.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from shared.events.envelope import ReceivedEvent, new_traceparent, trace_id_of


@dataclass(frozen=True)
class Cause:
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    request_id: str | None = None

    @classmethod
    def from_event(cls, event: ReceivedEvent) -> Cause:
        return cls(correlation_id=event.correlation_id or event.id, causation_id=event.id,
                   traceparent=event.traceparent)

    def child_traceparent(self) -> str:
        return new_traceparent(trace_id_of(self.traceparent))


current_cause: ContextVar[Cause] = ContextVar("current_cause", default=Cause())
