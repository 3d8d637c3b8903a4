"""API shapes of hazards (隐患) and their evidence."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.inspection.records.schemas import Output
from services.inspection.tasks.schemas import Input, Sha256

Note = Annotated[str, StringConstraints(max_length=2000)]


class EvidenceIn(Input):
    note: Note = ""
    photos: list[Sha256] = Field(min_length=1, max_length=20, description="photos of the rectification, uploaded")


class VerifyIn(Input):
    verdict: Literal["accepted", "rejected"]
    note: Note = Field("", description="required when rejected: why")


class EvidenceOut(Output):
    id: str
    hazard_id: str
    note: str
    photos: list[str]
    submitted_by: str
    submitted_at: dt.datetime
    chain_sequence: int
    verdict: Literal["accepted", "rejected"] | None
    verdict_note: str | None
    verdict_by: str | None
    verdict_at: dt.datetime | None
    recheck_overdue_reported: bool = Field(description="hazard.recheck_overdue was published for this evidence")


class HazardOut(Output):
    id: str
    enterprise_uscc: str
    jurisdiction_code: str
    task_id: str
    submission_id: str
    item_code: str
    description: str
    severity: Literal["general", "major"]
    raised_at: dt.datetime
    deadline_date: dt.date
    status: Literal["open", "evidence_submitted", "rectified"]
    recheck_due_date: dt.date | None
    rectified_date: dt.date | None
    verified_by: str | None
    chain_sequence: int
    overdue_reported: bool
    evidence: list[EvidenceOut] | None = None
