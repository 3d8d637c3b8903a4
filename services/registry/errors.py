"""The registry's problem responses (RFC 9457), built on the shared ``Problem``."""

from __future__ import annotations

from collections.abc import Iterable

from services.registry.domain.violations import Violation
from shared.http.problems import TYPE_BASE, Problem, conflict, not_found

__all__ = ["conflict", "not_found"]


def invalid(violations: Iterable[Violation]) -> Problem:
    """422 naming every field that broke a rule."""
    errors = [v.as_error() for v in violations]
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return Problem(422, "Validation failed", detail, type=TYPE_BASE + "validation", errors=errors)


def duplicate(field: str, value: str, owner: str | None = None) -> Problem:
    """409: a key that must be unique is taken (a USCC, a registration or certificate number)."""
    where = f" (held by {owner})" if owner else ""
    return Problem(409, "Conflict", f"{field} {value} is already registered{where}", type=TYPE_BASE + "conflict",
                   errors=[{"field": field, "message": f"{value} is already registered{where}"}])


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def forbidden_fields(fields: Iterable[str], who: str) -> Problem:
    names = sorted(fields)
    return Problem(403, "Forbidden", f"{who} may not change {', '.join(names)}",
                   errors=[{"field": name, "message": f"{who} may not change this field"} for name in names])


def gone(detail: str) -> Problem:
    return Problem(410, "Gone", detail)
