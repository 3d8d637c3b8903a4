"""API shapes of scores (pydantic), and the bases every scoring schema uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.vocabulary import Grade
from shared.http.bodies import RequestBody

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]


class Input(RequestBody):
    """Scoring's request bodies: the platform's (nothing coerced, unknown fields refused), frozen."""

    model_config = ConfigDict(frozen=True)


class Output(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- scores ---------------------------------------------------------------------------------

class Labels(Output):
    zh: str
    en: str


class BreakdownLineOut(Output):
    indicator: str
    group: str
    points: float
    evidence: list[str] = Field(description="ids of the events behind the points")
    label_zh: str
    label_en: str
    detail: str


class GroupOut(Output):
    group: str
    points: float
    cap: float
    uncapped: float
    label_zh: str
    label_en: str


class RuleOut(Output):
    rule: str
    detail: str


class CauseOut(Output):
    """What caused a rescoring: a consumed event (type and id) or a command (type and ref)."""

    event_type: str | None
    event_id: str | None
    ref: str | None = None
    correlation_id: str | None


class ManualAdjustmentOut(Output):
    id: str
    grade: Grade
    reason: str
    expires_on: date
    set_by: str
    set_at: datetime


class ScoreOut(Output):
    uscc: str
    name: str | None
    jurisdiction_code: str
    score: float
    grade: Grade
    raw_grade: Grade = Field(description="the grade of the score's band, before the grade rules")
    grade_label: Labels
    grade_since: date
    model_version: str
    model_labels: Labels | None
    breakdown: list[BreakdownLineOut]
    groups: list[GroupOut]
    rules_applied: list[RuleOut]
    locked_until: date | None = Field(description="the accident lock lifts on this date")
    ceiling_until: date | None = Field(description="the one-year ceiling lifts on this date")
    manual_adjustment: ManualAdjustmentOut | None
    key_supervision: bool
    computed_at: datetime
    cause: CauseOut


class ScoreHistoryOut(Output):
    id: int
    computed_at: datetime
    score: float
    grade: Grade
    raw_grade: Grade
    previous_grade: Grade | None
    model_version: str
    breakdown: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    rules_applied: list[RuleOut]
    cause: CauseOut


class GradePeriodOut(Output):
    grade: Grade
    previous_grade: Grade | None
    from_date: date
    to_date: date | None = Field(description="inclusive; null while the grade is held")
    started_at: datetime
    score: float
    model_version: str
    cause: CauseOut


class ScoreListItem(Output):
    uscc: str
    name: str | None
    jurisdiction_code: str
    score: float
    grade: Grade
    raw_grade: Grade
    model_version: str
    key_supervision: bool
    grade_since: date
    locked_until: date | None
    computed_at: datetime


class GradeCounts(Output):
    A: int = 0
    B: int = 0
    C: int = 0
    D: int = 0
    total: int = 0


class NodeDistribution(Output):
    jurisdiction_code: str
    counts: GradeCounts


class GradeStatistics(Output):
    jurisdiction: str | None
    total: GradeCounts
    nodes: list[NodeDistribution] = Field(description="one entry per child node of the jurisdiction")


class TrendPoint(Output):
    month: str
    on_date: date = Field(description="the grades held on this date (month end, or today)")
    counts: GradeCounts


class GradeTrend(Output):
    jurisdiction: str | None
    over: Literal["month"]
    points: list[TrendPoint]


class PublicGrade(Output):
    """What the public portal may show, per the public_grade_display policy; never the breakdown."""

    uscc: str
    name: str | None
    display: Literal["grade", "label", "hidden"]
    grade: Grade | None
    label_zh: str | None
    label_en: str | None
    grade_date: date | None


# --- rescoring everyone ---------------------------------------------------------------------

class RescoreSummary(Output):
    run_id: str
    trigger: str
    as_of: datetime
    model_version: str
    rescored: int = Field(description="enterprises scored")
    changed: int = Field(description="enterprises whose score, grade or breakdown moved (recorded and published)")
    grade_changes: int
    superseded_by: str | None = Field(None, description=(
        "the newer model version that took effect during the run, which then stopped (that version's own "
        "rescore covers everyone)"))
