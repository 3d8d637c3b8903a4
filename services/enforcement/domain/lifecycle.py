"""An alert's lifecycle: raised → dispatched (to the grid's inspectors) → acknowledged →
resolved; an SLA that passes escalates it (up the tree) from any open status. Each verb is
allowed from some statuses only; anything else is an invalid transition (a 409)."""

from __future__ import annotations

from typing import Literal

from shared.contracts.enforcement import AlertStatus

Verb = Literal["dispatch", "acknowledge", "resolve", "escalate"]
OPEN: frozenset[str] = frozenset({"raised", "dispatched", "acknowledged", "escalated"})

ALLOWED: dict[Verb, frozenset[str]] = {
    "dispatch": frozenset({"raised", "dispatched", "escalated", "acknowledged"}),  # (re)assign
    "acknowledge": frozenset({"raised", "dispatched", "escalated"}),
    "resolve": OPEN,
    "escalate": OPEN,
}
RESULT: dict[Verb, AlertStatus] = {
    "dispatch": "dispatched", "acknowledge": "acknowledged", "resolve": "resolved", "escalate": "escalated",
}


class InvalidTransition(ValueError):
    def __init__(self, status: str, verb: str) -> None:
        allowed = sorted(ALLOWED.get(verb, frozenset()))  # type: ignore[call-overload]
        super().__init__(f"an alert that is {status} cannot be {RESULT.get(verb, verb)}"  # type: ignore[call-overload]
                         f" (only from: {', '.join(allowed)})")
        self.status, self.verb = status, verb


def transition(status: str, verb: Verb) -> AlertStatus:
    """The status after ``verb``; InvalidTransition when ``verb`` is not allowed from ``status``."""
    if status not in ALLOWED[verb]:
        raise InvalidTransition(status, verb)
    return RESULT[verb]
