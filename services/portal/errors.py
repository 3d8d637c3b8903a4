"""The problems (RFC 9457) the portal answers with, beyond the shared ones."""

from __future__ import annotations

from shared.http.problems import TYPE_BASE, Problem, field_error, not_found

__all__ = ["field_error", "not_found"]


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def token_not_found() -> Problem:
    """Unknown and revoked tokens look the same: a probe learns nothing from the difference."""
    return Problem(404, "Not found", "this QR code is not (or no longer) valid; ask the unit for its current label",
                   type=TYPE_BASE + "not-found")


def too_many(detail: str, retry_after: int) -> Problem:
    return Problem(429, "Too many requests", detail, type=TYPE_BASE + "too-many-requests",
                   headers={"Retry-After": str(retry_after)}, retry_after=retry_after)


def registry_unavailable() -> Problem:
    return Problem(503, "Service unavailable", "the ledger cannot be reached to check this code; try again shortly",
                   type=TYPE_BASE + "unavailable", headers={"Retry-After": "30"})


def too_large(detail: str) -> Problem:
    return Problem(413, "Payload too large", detail, type=TYPE_BASE + "too-large")


def unsupported_type(detail: str) -> Problem:
    return Problem(415, "Unsupported media type", detail, type=TYPE_BASE + "unsupported-media-type")


def invalid_transition(detail: str, status: str) -> Problem:
    return Problem(409, "Invalid transition", detail, type=TYPE_BASE + "invalid-transition", current_status=status)
