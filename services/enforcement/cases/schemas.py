"""API shapes of cases, decisions, orders to correct and the legal-basis catalogue."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.enforcement.alerts.schemas import RequestBody
from services.enforcement.domain.cases import CaseStatus, OrderStatus
from services.enforcement.domain.legal_basis import OFFENCE_CODE_PATTERN, ListName, Measure, Offence, Outcome
from services.enforcement.models import Case, CaseEvidence, CaseStep, OrderToCorrectRow
from shared.contracts.common import USCC_PATTERN

SourceKind = Literal["finding", "alert", "report"]
EvidenceKind = Literal["record", "photo", "statement", "document", "inspection_report", "other"]


class Source(RequestBody):
    kind: SourceKind = Field(description="a patrol finding, an alert, or a public report (portal)")
    id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")


class CaseCreate(RequestBody):
    enterprise_uscc: str = Field(pattern=USCC_PATTERN)
    offence_code: str = Field(pattern=OFFENCE_CODE_PATTERN, max_length=40, description="from the legal-basis catalogue")
    source: Source
    summary: str = Field(min_length=1, max_length=4000)


class EvidenceCreate(RequestBody):
    kind: EvidenceKind
    description: str = Field(min_length=1, max_length=4000)
    blob_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$", description="a file in the blob store")


class Facts(RequestBody):
    """What the investigation established (the three lists read these)."""

    first_offence: bool = Field(description="首次违法")
    minor: bool = Field(description="危害后果轻微")
    corrected_in_time: bool = Field(description="及时改正")
    leaves_hazard: bool = Field(description="the offence leaves a safety hazard (never exempt)")
    serious: bool = Field(False, description="情节严重 (a filling permit may be revoked)")
    prior_order_lapsed: bool = Field(False, description="an earlier order to correct lapsed (grace is over)")
    must_mitigate_grounds: list[str] = Field(default_factory=list, max_length=10, description=(
        "Administrative Penalty Law Art. 32 grounds, e.g. eliminated_consequences, coerced, confessed, meritorious"))
    may_mitigate_grounds: list[str] = Field(default_factory=list, max_length=10)


class OrderCreate(RequestBody):
    requirement: str = Field(min_length=1, max_length=4000)
    deadline_date: date = Field(description="by when the enterprise corrects (after today)")


class DecisionCreate(RequestBody):
    outcome: Outcome
    fine_yuan: int | None = Field(None, ge=0, le=100_000_000, description="within the article's range (a fine only)")
    revoke_permit: bool = False
    measures: list[Measure] = Field(default_factory=list, max_length=4)
    reasons: str = Field(min_length=1, max_length=8000, description="the regulator's reasons (说明理由)")
    signer_name: str = Field(min_length=1, max_length=100, description="who signs the decision")
    order: OrderCreate | None = Field(None, description="an order to correct issued with the decision")


class CloseRequest(RequestBody):
    note: str = Field(min_length=1, max_length=4000)


class ReportRequest(RequestBody):
    note: str = Field(min_length=1, max_length=4000, description="what was corrected, and how")


class VerifyRequest(RequestBody):
    passed: bool
    note: str = Field(min_length=1, max_length=4000)


class FineRangeOut(BaseModel):
    min: int
    max: int


class ProposalOut(BaseModel):
    outcome: Outcome
    list: ListName | None
    measures: list[Measure]
    legal_range: FineRangeOut
    suggested_fine: FineRangeOut | None
    revoke_permit_possible: bool
    reasons: list[str]


class CaseOut(BaseModel):
    id: str
    enterprise_uscc: str
    jurisdiction_code: str | None
    grid_code: str | None
    offence_code: str
    catalogue_version: str
    source_kind: SourceKind
    source_id: str
    summary: str
    status: CaseStatus
    opened_at: datetime
    opened_by: str
    facts: dict[str, Any] | None
    proposal: ProposalOut | None
    decision: dict[str, Any] | None = Field(description="as signed: outcome, fine, reasons, signer, digest")
    decided_at: datetime | None
    decided_by: str | None
    penalty_id: str | None
    closed_at: datetime | None
    version: int

    @classmethod
    def of(cls, row: Case) -> CaseOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class EvidenceOut(BaseModel):
    id: int
    kind: str
    description: str
    blob_sha256: str | None
    added_at: datetime
    added_by: str

    @classmethod
    def of(cls, row: CaseEvidence) -> EvidenceOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class CaseStepOut(BaseModel):
    at: datetime
    actor: str
    step: str
    from_status: str | None
    to_status: str
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: CaseStep) -> CaseStepOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class CaseDetail(CaseOut):
    evidence: list[EvidenceOut]
    history: list[CaseStepOut]

    @classmethod
    def build(cls, row: Case, evidence: list[CaseEvidence], steps: list[CaseStep]) -> CaseDetail:
        return cls(**CaseOut.of(row).model_dump(), evidence=[EvidenceOut.of(e) for e in evidence],
                   history=[CaseStepOut.of(s) for s in steps])


class OrderOut(BaseModel):
    id: str
    enterprise_uscc: str
    jurisdiction_code: str | None
    grid_code: str | None
    case_id: str | None
    finding_id: str | None
    requirement: str
    status: OrderStatus
    issued_at: datetime
    issued_by: str
    issued_date: date
    deadline_date: date
    reported_at: datetime | None
    report_note: str | None
    recheck_due_date: date | None = Field(description="the re-check is due by then (working days after the report)")
    rectified_date: date | None
    verified_by: str | None
    verification_note: str | None
    version: int

    @classmethod
    def of(cls, row: OrderToCorrectRow) -> OrderOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class OffenceOut(BaseModel):
    code: str
    law: str
    article: str
    title: str
    fine: FineRangeOut
    grace_period: bool
    leaves_hazard: bool
    permit_revocable: bool
    lists: list[ListName]
    checklist_items: list[int]

    @classmethod
    def of(cls, code: str, offence: Offence) -> OffenceOut:
        return cls(code=code, **{**offence.model_dump(), "lists": sorted(offence.lists),
                                 "checklist_items": sorted(offence.checklist_items)})


class CatalogueOut(BaseModel):
    version: str
    effective_from: date
    offences: list[OffenceOut]


