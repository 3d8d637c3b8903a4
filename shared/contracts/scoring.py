"""Events the scoring service publishes on ``scoring.scores``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from shared.contracts.common import EventData, Grade, Uscc
from shared.events.spec import EventSpec


class ScoreUpdated(EventData):
    """Published after every rescoring triggered by an event or a command, changed or not; a full
    rescore (nightly pass, new model) publishes it for each enterprise whose score, grade or model
    version moved. causationid names the triggering event, correlationid the chain's first."""

    enterprise_uscc: Uscc
    score: float
    grade: Grade
    raw_grade: Grade
    previous_grade: Grade | None = None
    grade_changed: bool = False
    model_version: str
    computed_at: datetime
    trigger_event_type: str | None = Field(None, description=(
        "the consumed event's type, or scoring.<command> (model_loaded, nightly_rescore, admin_rescore, "
        "grade_adjustment.set, grade_adjustment.lifted, credit_repair.approved)"))
    trigger_event_id: str | None = Field(None, description="id of the triggering event, when one triggered it")
    trigger_business_date: date | None = Field(None, description=(
        "the business date a filling_records.missing trigger is about"))
    jurisdiction_code: str | None = None
    key_supervision: bool = False
    kinds: list[str] = []


class GradeChanged(EventData):
    enterprise_uscc: Uscc
    from_grade: Grade | None
    to_grade: Grade
    score: float
    model_version: str
    changed_at: datetime
    cause: str
    trigger_event_type: str | None = None
    trigger_event_id: str | None = None
    jurisdiction_code: str | None = None


class CreditRepairApproved(EventData):
    """A regulator approved credit repair (信用修复); the listed items leave the score."""

    enterprise_uscc: Uscc
    repair_id: str
    approved_at: datetime
    repaired_event_ids: list[str] = []
    approved_by: str | None = None
    reason: str | None = None


SCORE_UPDATED = EventSpec(
    "safegrid.scoring.score.updated.v1", "scoring.scores", ScoreUpdated,
    "An enterprise was rescored (always published on an event-driven rescoring, even when the grade did not move).")
GRADE_CHANGED = EventSpec(
    "safegrid.scoring.grade.changed.v1", "scoring.scores", GradeChanged,
    "An enterprise's grade moved (its first grade included: from_grade is null).")
CREDIT_REPAIR_APPROVED = EventSpec(
    "safegrid.scoring.credit_repair.approved.v1", "scoring.scores", CreditRepairApproved, "Credit repair was approved."
)

EVENTS = (
    SCORE_UPDATED,
    GRADE_CHANGED,
    CREDIT_REPAIR_APPROVED,
)
