"""The projection (投影) of an enterprise, in pure functions: event data → row values, and rows →
the domain's ``EnterpriseFacts``. No I/O: the service reads and writes the rows.

Two rules make the projection order-independent, so that replaying the topics in any interleaving
ends in the same state: registry snapshots apply only when their revision is newer than the one
held, and every other fact is keyed by its own id (a hazard's rectification may arrive first).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.contracts.registry import EnterpriseSnapshot, ManagementFactState

from .facts import EnterpriseFacts

Row = Mapping[str, Any]


def aware(moment: datetime) -> datetime:
    """Contract timestamps carry an offset; a naive one is read as UTC rather than refused."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- event → row values ---------------------------------------------------------------------

def management_values(previous: Mapping[str, Mapping[str, Any]] | None,
                      declared: Mapping[str, ManagementFactState], event_id: str) -> dict[str, dict[str, Any]]:
    """The snapshot's management facts (三落实/三到位/双机制) with provenance. A fact unchanged since the
    previous snapshot keeps the event that established it: that event is its evidence."""
    previous = previous or {}
    values: dict[str, dict[str, Any]] = {}
    for key, state in declared.items():
        value = {"in_place": state.in_place, "source": state.source, "as_of": aware(state.as_of).isoformat()}
        held = previous.get(key)
        unchanged = held is not None and all(held.get(k) == v for k, v in value.items())
        values[key] = {**value, "event_id": held["event_id"] if unchanged else event_id}
    return values


def profile_values(snapshot: EnterpriseSnapshot, event_id: str, previous: Row | None) -> dict[str, Any]:
    """Row values for an enterprise snapshot newer than `previous` (the row held, if any)."""
    known = previous is not None and previous["revision"] > 0

    def kept(event_field: str, *compared: str) -> str:
        if known and previous[event_field] and all(previous[f] == getattr(snapshot, f) for f in compared):
            return previous[event_field]
        return event_id

    return {
        "uscc": snapshot.uscc,
        "revision": snapshot.revision,
        "name": snapshot.name,
        "jurisdiction_code": snapshot.jurisdiction_code,
        "grid_code": snapshot.grid_code,
        "venue_type": snapshot.venue_type,
        "kinds": list(snapshot.kinds),
        "general_credit_grade": snapshot.general_credit_grade,
        "key_supervision": snapshot.key_supervision,
        "key_supervision_reason": snapshot.key_supervision_reason,
        "operating": snapshot.operating,
        "management": management_values(previous["management"] if known else None, snapshot.management, event_id),
        "general_credit_event_id": kept("general_credit_event_id", "general_credit_grade"),
        "profile_event_id": kept("profile_event_id", "venue_type", "kinds"),
        "snapshot_event_id": event_id,
    }


def is_newer(revision: int, held: int | None) -> bool:
    """Apply a snapshot only when it is newer than the one held (None: nothing held)."""
    return held is None or revision > held


# --- rows → facts ---------------------------------------------------------------------------

@dataclass
class EnterpriseRows:
    """Everything scoring holds about one enterprise, as rows: the projection's facts, and what a
    rescoring also reads of scoring's own records (the current score, the grade periods the
    ceiling can see, manual adjustments not lifted)."""

    profile: Row
    equipment: list[Row] = field(default_factory=list)
    operators: list[Row] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)
    hazards: list[Row] = field(default_factory=list)
    missing_days: list[Row] = field(default_factory=list)
    patrols: list[Row] = field(default_factory=list)
    cases: list[Row] = field(default_factory=list)
    penalties: list[Row] = field(default_factory=list)
    accidents: list[Row] = field(default_factory=list)
    score: list[Row] = field(default_factory=list)  # none or one: {grade, fingerprint, grade_since, revision}
    periods: list[Row] = field(default_factory=list)  # {grade, from_date, to_date}
    adjustments: list[Row] = field(default_factory=list)  # {id, grade, reason, expires_on, set_by, set_at}


def facts_from_rows(rows: EnterpriseRows) -> EnterpriseFacts:
    """The domain's facts from the projection's rows, validated in one pass (pydantic's core
    validates a nested document faster than Python builds the models one by one)."""
    p = rows.profile
    return EnterpriseFacts.model_validate({
        "uscc": p["uscc"],
        "jurisdiction_code": p["jurisdiction_code"],
        "general_credit_grade": p["general_credit_grade"],
        "venue_type": p["venue_type"],
        "kinds": p["kinds"] or [],
        "management": p["management"] or {},
        "equipment": [{"equipment_id": r["equipment_id"], "category": r["category"], "registered": r["registered"],
                       "status": r["status"], "next_inspection_due": r["next_inspection_due"],
                       "event_id": r["event_id"]} for r in rows.equipment],
        "operators": [{"operator_id": r["operator_id"], "certificate_valid_until": r["certificate_valid_until"],
                       "event_id": r["event_id"]} for r in rows.operators if r["active"]],
        "self_inspection_tasks": [{"task_id": r["task_id"], "due_date": r["due_date"], "completed": r["completed"],
                                   "event_id": r["event_id"]} for r in rows.tasks],
        "hazards": [{"hazard_id": r["hazard_id"], "deadline_date": r["deadline_date"],
                     "rectified_date": r["rectified_date"], "event_id": r["raised_event_id"]}
                    for r in rows.hazards if r["deadline_date"] is not None],
        "missing_record_days": [{"business_date": r["business_date"], "event_id": r["event_id"],
                                 "repaired": r["repair_id"] is not None} for r in rows.missing_days],
        "patrols": [{"patrol_id": r["patrol_id"], "patrolled_at": r["patrolled_at"], "items": r["items"],
                     "event_id": r["event_id"]} for r in rows.patrols],
        "cases": [{"case_id": r["case_id"], "opened_date": r["opened_date"], "repaired": r["repair_id"] is not None,
                   "event_id": r["event_id"]} for r in rows.cases],
        "penalties": [{"penalty_id": r["penalty_id"], "decided_date": r["decided_date"],
                       "repaired": r["repair_id"] is not None, "event_id": r["event_id"]} for r in rows.penalties],
        "accidents": [{"accident_id": r["accident_id"], "occurred_date": r["occurred_date"],
                       "responsible": r["responsible"], "severity": r["severity"], "event_id": r["event_id"]}
                      for r in rows.accidents],
        "general_credit_event_id": p["general_credit_event_id"],
        "profile_event_id": p["profile_event_id"],
    })
