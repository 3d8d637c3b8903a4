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


def superseded_record(record_id: int, current_id: int) -> Problem:
    """409: only a fill's current version may be corrected; the problem names it."""
    return conflict(f"filling record {record_id} was corrected already: correct its current version {current_id}",
                    current_record_id=str(current_id))


# --- tasks, hazards, blobs --------------------------------------------------------------------

def too_large(detail: str) -> Problem:
    return Problem(413, "Payload too large", detail, type=TYPE_BASE + "payload-too-large")


def unsupported_type(detail: str) -> Problem:
    return Problem(415, "Unsupported media type", detail, type=TYPE_BASE + "unsupported-media-type")


def submission_rejected(findings: list[dict[str, str]]) -> Problem:
    """422: the submission broke 五定 rules the task's policy rejects for; each named with its rule,
    field and reason (``errors`` in the validation shape, ``violations`` with the rule codes)."""
    detail = "; ".join(f"{f['rule']} ({f['code']}): {f['reason']}" for f in findings)
    return Problem(422, "Submission rejected", detail, type=TYPE_BASE + "submission-rejected",
                   errors=[{"field": f["field"], "message": f"{f['rule']}: {f['reason']}"} for f in findings],
                   violations=findings)
