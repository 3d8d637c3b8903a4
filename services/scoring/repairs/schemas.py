"""API shapes of manual grade adjustments and credit repairs (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.scoring.scores.schemas import Input, Output, Reason, ScoreOut
from shared.contracts.vocabulary import Grade
from shared.http.bodies import IsoDate


class GradeAdjustmentIn(Input):
    """A manual grade (人工调整): applied within the accident lock and the one-year ceiling."""

    grade: Grade
    reason: Reason = Field(description="why; shown to the enterprise and kept in the audit log")
    expires_on: IsoDate = Field(description="last business date the adjustment holds (inclusive)")


class CreditRepairIn(Input):
    """An application for credit repair (信用修复). Leave the lists out to ask for every case,
    penalty and missing-records day not yet repaired."""

    reason: Reason = Field(description="the enterprise's statement: what it corrected")
    case_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = None
    penalty_ids: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] | None = None
    missing_record_dates: list[IsoDate] | None = None


class DecisionIn(Input):
    reason: Reason = Field(description="the regulator's reasons, kept with the decision")


class CreditRepairOut(Output):
    id: str
    uscc: str
    status: Literal["pending", "approved", "rejected"]
    reason: str
    case_ids: list[str]
    penalty_ids: list[str]
    missing_record_dates: list[date]
    applied_at: datetime
    applied_by: str
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    repaired_event_ids: list[str]


class CreditRepairDecided(Output):
    repair: CreditRepairOut
    score: ScoreOut | None
