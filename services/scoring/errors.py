"""The problems (RFC 9457) the scoring service answers with, beyond the shared ones."""

from __future__ import annotations

from shared.http.problems import TYPE_BASE, Problem, conflict, field_error, not_found

__all__ = ["conflict", "field_error", "not_found"]


def enterprise_not_found(uscc: str) -> Problem:
    return not_found("enterprise", uscc)


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


def model_invalid(problems: list[str]) -> Problem:
    """A model file refused as a whole; each problem names its field ("indicators[3].points: ...")."""
    errors = []
    for problem in problems:
        where, sep, message = problem.partition(": ")
        if sep and where and " " not in where:
            errors.append({"field": where, "message": message})
        else:
            errors.append({"field": "model", "message": problem})
    detail = f"the model file is invalid ({len(errors)} problem{'s' if len(errors) != 1 else ''}): " + "; ".join(
        f"{e['field']}: {e['message']}" for e in errors[:5])
    return Problem(422, "Invalid scoring model", detail, type=TYPE_BASE + "validation", errors=errors)


def not_eligible(reasons: list[str]) -> Problem:
    """Credit repair refused: the reasons say what stands in the way (and stay machine-readable)."""
    return Problem(422, "Not eligible for credit repair", "credit repair is not possible yet: " + "; ".join(reasons),
                   type=TYPE_BASE + "credit-repair-not-eligible", reasons=reasons,
                   errors=[{"field": "eligibility", "message": r} for r in reasons])
