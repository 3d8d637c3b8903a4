"""API shapes of alerts (the pinned fields of contract.md §5 step 6 first)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.enforcement.models import Alert, AlertStep, EnterpriseRow
from shared.contracts.enforcement import AlertAction, AlertStatus
from shared.contracts.vocabulary import Grade
from shared.http.bodies import stripped_text


class RequestBody(BaseModel):
    """The base of every request body: unknown fields are refused, text is stripped (and the
    document says a non-empty text must be non-blank)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text)


class Assignee(BaseModel):
    """An inspector an alert is dispatched to: the subject of their token and a display name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=stripped_text)
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)


class AlertOut(BaseModel):
    id: str
    enterprise_uscc: str
    kind: str = Field(description="filling_records_missing, expired_cylinder_filled, accident, ...")
    grade: Grade | None = Field(description="the grade the action was chosen by (null: not scored yet)")
    grade_source: str = Field(description="score_event (the fresh rescoring), projection (the latest known), none")
    action: AlertAction
    status: AlertStatus
    addressed_to: str = Field(description="enterprise (a warning) or grid_inspectors")
    correlation_id: str = Field(description="the chain's first event: for missing records, the missing-records event")
    cause_event_id: str
    cause_event_type: str
    business_date: date | None
    policy_version: str
    jurisdiction_code: str | None
    grid_code: str | None
    responsible_node: str | None = Field(description="the jurisdiction node that must act now (moves up on escalation)")
    escalation_level: int
    assignees: list[Assignee]
    due_at: datetime | None = Field(description="when the SLA runs out (null once resolved)")
    raised_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    merged_events: int = Field(description="how many events reported this cause (duplicates merged)")

    @classmethod
    def of(cls, row: Alert) -> AlertOut:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})


class StepOut(BaseModel):
    at: datetime
    actor: str
    step: str
    from_status: str | None
    to_status: str
    note: str | None
    detail: dict[str, Any]

    @classmethod
    def of(cls, row: AlertStep) -> StepOut:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})


class EnterpriseOut(BaseModel):
    """What enforcement knows of the enterprise (its full score breakdown: scoring's API)."""

    uscc: str
    name: str | None
    venue_type: str | None
    key_supervision: bool
    sandbox: bool
    score: float | None
    grade: Grade | None
    model_version: str | None
    scored_at: datetime | None


class AlertDetail(AlertOut):
    enterprise: EnterpriseOut | None
    history: list[StepOut]

    @classmethod
    def build(cls, row: Alert, steps: list[AlertStep], enterprise: EnterpriseRow | None) -> AlertDetail:
        base = AlertOut.of(row).model_dump()
        known = None
        if enterprise is not None:
            known = EnterpriseOut.model_validate({n: getattr(enterprise, n) for n in EnterpriseOut.model_fields})
        return cls(**base, enterprise=known, history=[StepOut.of(s) for s in steps])


class Acknowledge(RequestBody):
    note: str | None = Field(None, max_length=2000)


class Resolve(RequestBody):
    note: str = Field(min_length=1, max_length=2000, description="the resolution: what was found and done")


class Dispatch(RequestBody):
    assignees: list[Assignee] | None = Field(None, min_length=1, max_length=20, description=(
        "whom to send (default: the grid's inspectors as registry names them)"))
    note: str | None = Field(None, max_length=2000)
