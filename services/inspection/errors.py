"""The problems (RFC 9457) the inspection service answers with, beyond the shared ones."""

from __future__ import annotations

from shared.http.problems import TYPE_BASE, Problem, conflict, field_error, not_found

__all__ = ["conflict", "field_error", "not_found"]


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def enterprise_not_found(uscc: str) -> Problem:
    return Problem(404, "Not found", f"enterprise {uscc} is not in inspection's ledger (registry publishes it)",
                   type=TYPE_BASE + "not-found")


def not_allowed_now(detail: str, field: str = "date") -> Problem:
    """409: the request is well formed, but the rule for this moment refuses it (a day already past,
    a cut-off not due yet)."""
    return Problem(409, "Conflict", detail, type=TYPE_BASE + "conflict", errors=[{"field": field, "message": detail}])
