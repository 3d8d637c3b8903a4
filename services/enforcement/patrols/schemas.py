"""API shapes of 332211 patrols, their marks and findings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from services.enforcement.access import UUID_PATTERN
from services.enforcement.alerts.schemas import Assignee, RequestBody
from services.enforcement.domain.checklist import ITEM_NAMES
from services.enforcement.domain.legal_basis import OFFENCE_CODE_PATTERN
from services.enforcement.models import Finding, Patrol, PatrolMark
from shared.contracts.common import USCC_PATTERN
from shared.contracts.vocabulary import ChecklistMark

SHA256_PATTERN = r"^[0-9a-f]{64}$"
PatrolMode = Literal["online", "onsite"]
PatrolStatus = Literal["in_progress", "completed"]


class PatrolStart(RequestBody):
    enterprise_uscc: str = Field(pattern=USCC_PATTERN, description="the enterprise patrolled")
    mode: PatrolMode
    inspectors: list[Assignee] = Field(min_length=1, max_length=20, description=(
        "who patrols (on site: at least the policy's minimum, 2 by default)"))
    plan_item_id: str | None = Field(None, pattern=UUID_PATTERN, description="the planned visit this patrol is")
    alert_id: str | None = Field(None, pattern=UUID_PATTERN, description="the alert this patrol answers")


class MarkRequest(RequestBody):
    mark: ChecklistMark = Field(description="pass, fail or na (not applicable)")
    note: str | None = Field(None, max_length=4000, description="what was seen (required for a fail)")
    photos: list[Annotated[str, Field(pattern=SHA256_PATTERN)]] = Field(
        default_factory=list, max_length=20, description="SHA-256 of photos uploaded to the blob store (lowercase hex)")


class CompleteRequest(RequestBody):
    summary: str | None = Field(None, max_length=4000)


class OrderSpec(RequestBody):
    requirement: str | None = Field(None, min_length=1, max_length=4000, description="default: the finding's note")
    deadline_date: date = Field(description="by when the enterprise corrects (after today)")


class CaseSpec(RequestBody):
    offence_code: str = Field(pattern=OFFENCE_CODE_PATTERN, max_length=40, description="from the legal-basis catalogue")
    summary: str | None = Field(None, min_length=1, max_length=4000)


class FindingCreate(RequestBody):
    item: int = Field(ge=1, le=12, description="the failed checklist item")
    note: str = Field(min_length=1, max_length=4000)
    order: OrderSpec | None = Field(None, description="issue an order to correct with a deadline")
    case: CaseSpec | None = Field(None, description="open a case (立案) from this finding")


class MarkOut(BaseModel):
    item: int
    name: str
    mark: ChecklistMark
    note: str | None
    photos: list[str]
    marked_at: datetime
    marked_by: str

    @classmethod
    def of(cls, row: PatrolMark) -> MarkOut:
        return cls(item=row.item, name=ITEM_NAMES[row.item], mark=row.mark, note=row.note,  # type: ignore[arg-type]
                   photos=row.photos, marked_at=row.marked_at, marked_by=row.marked_by)


class FindingOut(BaseModel):
    id: str
    patrol_id: str
    enterprise_uscc: str
    item: int
    note: str
    order_id: str | None
    case_id: str | None
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: Finding) -> FindingOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class PatrolOut(BaseModel):
    id: str
    enterprise_uscc: str
    jurisdiction_code: str | None
    grid_code: str | None
    mode: PatrolMode
    status: PatrolStatus
    inspectors: list[Assignee]
    plan_item_id: str | None
    alert_id: str | None
    started_at: datetime
    started_by: str
    completed_at: datetime | None
    summary: str | None
    version: int

    @classmethod
    def of(cls, row: Patrol) -> PatrolOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class PatrolDetail(PatrolOut):
    marks: list[MarkOut]
    unmarked: list[int]
    findings: list[FindingOut]

    @classmethod
    def build(cls, row: Patrol, marks: list[PatrolMark], findings: list[Finding]) -> PatrolDetail:
        done = {m.item for m in marks}
        return cls(**PatrolOut.of(row).model_dump(), marks=[MarkOut.of(m) for m in marks],
                   unmarked=[n for n in range(1, 13) if n not in done], findings=[FindingOut.of(f) for f in findings])
