"""Events the scoring service publishes on ``scoring.scores``."""

from __future__ import annotations

from datetime import datetime

from shared.contracts.common import EventData, Grade, Uscc
from shared.events.catalogue import EventSpec


class ScoreUpdated(EventData):
    """Published after every rescoring, changed or not; causationid names the trigger."""

    enterprise_uscc: Uscc
    score: float
    grade: Grade
    raw_grade: Grade
    previous_grade: Grade | None = None
    model_version: str
    computed_at: datetime
    trigger_event_type: str | None = None
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


class CreditRepairApproved(EventData):
    """A regulator approved credit repair (信用修复); the listed items leave the score."""

    enterprise_uscc: Uscc
    repair_id: str
    approved_at: datetime
    repaired_event_ids: list[str] = []


SCORE_UPDATED = EventSpec(
    "safegrid.scoring.score.updated.v1", "scoring.scores", ScoreUpdated,
    "An enterprise was rescored (always published, even when the grade did not move).")
GRADE_CHANGED = EventSpec(
    "safegrid.scoring.grade.changed.v1", "scoring.scores", GradeChanged,
    "An enterprise's grade moved.")
CREDIT_REPAIR_APPROVED = EventSpec(
    "safegrid.scoring.credit_repair.approved.v1", "scoring.scores", CreditRepairApproved,
    "Credit repair was approved.")
