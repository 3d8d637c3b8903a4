"""The problems (RFC 9457) the enforcement service answers with, beyond the shared ones."""

from __future__ import annotations

from shared.http.problems import TYPE_BASE, Problem, conflict, field_error, not_found

__all__ = ["conflict", "field_error", "not_found"]


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def alert_not_found(alert_id: str) -> Problem:
    return not_found("alert", alert_id)


def invalid_transition(detail: str, status: str) -> Problem:
    """A lifecycle step the alert's status does not allow (409, with the status it is in)."""
    return Problem(409, "Invalid transition", detail, type=TYPE_BASE + "invalid-transition", current_status=status)
