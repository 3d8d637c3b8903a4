"""API shapes of self-inspection tasks (五定), their templates and submissions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, Field, StrictBool, StringConstraints, model_validator

from services.inspection.records.schemas import Input, Moment, Output, UsccField
from shared.contracts.vocabulary import Grade, Kind
from shared.locality import DIVISION_CODE_PATTERN

Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of a photo blob uploaded")]
ItemCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^\S(.*\S)?$")]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^\S(.*\S)?$")]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Action = Literal["reject", "flag"]
Cycle = Literal["daily", "weekly", "monthly", "adhoc"]


def _time_text(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string (HH:MM or HH:MM:SS)")
    return value


def _text_only_date(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string (YYYY-MM-DD)")
    return value


WallTime = Annotated[dt.time, BeforeValidator(_time_text)]


class TargetIn(Input):
    """Whom: one enterprise, or the operating units of a jurisdiction subtree (default: the
    issuer's) with optional filters: grades (scoring's), kinds, key supervision."""

    enterprise_uscc: UsccField | None = None
    jurisdiction_code: Annotated[str, Field(pattern=DIVISION_CODE_PATTERN)] | None = None
    grades: list[Grade] | None = Field(None, min_length=1, max_length=4)
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=20)
    key_supervision: StrictBool | None = None

    @model_validator(mode="after")
    def _one_or_set(self) -> TargetIn:
        if self.enterprise_uscc and any(v is not None for v in (self.jurisdiction_code, self.grades, self.kinds,
                                                                 self.key_supervision)):
            raise ValueError("name one enterprise_uscc, or filters of a set (jurisdiction_code, grades, kinds, "
                             "key_supervision), not both")
        return self


class FenceIn(Input):
    """定位: the centre (default: the enterprise's location in the ledger) and radius."""

    lat: Annotated[Number, Field(ge=-90, le=90)] | None = None
    lon: Annotated[Number, Field(ge=-180, le=180)] | None = None
    radius_m: Annotated[Number, Field(gt=0, le=50000)] | None = None

    @model_validator(mode="after")
    def _both(self) -> FenceIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon of the fence's centre, or neither")
        return self


class AssigneeIn(Input):
    """定人: an enterprise user (the ``sub`` of their token) or an operator (registry's operator id)."""

    kind: Literal["user", "operator"]
    id: Ident


class SceneIn(Input):
    """定景: one piece of equipment (its ledger id) or a named spot, photo required by default."""

    equipment_id: Ident | None = None
    spot: Ident | None = None
    photo_required: StrictBool = True

    @model_validator(mode="after")
    def _one(self) -> SceneIn:
        if (self.equipment_id is None) == (self.spot is None):
            raise ValueError("name exactly one of equipment_id and spot")
        return self


class MatterIn(Input):
    """定事: one checklist item; a failed item becomes a hazard of this severity."""

    code: ItemCode
    text: Text
    severity: Literal["general", "major"] = "general"


class PolicyIn(Input):
    """What breaking each rule does to a submission: ``reject`` (422) or ``flag`` (accepted, the
    reason kept). A mock location and a late offline arrival within the grace always flag."""

    time: Action = "reject"
    location: Action = "reject"
    assignee: Action = "reject"
    scene: Action = "reject"
    matters: Action = "reject"


Matters = Annotated[list[MatterIn], Field(min_length=1, max_length=100)]


def _unique_codes(matters: list[MatterIn] | None) -> None:
    if matters and len({m.code for m in matters}) != len(matters):
        raise ValueError("matters: each code at most once")


class TemplateIn(Input):
    name: Text
    cycle: Cycle
    target: TargetIn = TargetIn()
    opens_at: WallTime = dt.time(0, 0)
    closes_at: WallTime = dt.time(23, 59, 59)
    fence_radius_m: Annotated[Number, Field(gt=0, le=50000)] | None = None
    assignee: AssigneeIn | None = None
    scene: SceneIn
    matters: Matters
    policy: PolicyIn = PolicyIn()
    active: StrictBool = True

    @model_validator(mode="after")
    def _check(self) -> TemplateIn:
        _unique_codes(self.matters)
        if self.cycle == "daily" and self.closes_at <= self.opens_at:
            raise ValueError("closes_at must be after opens_at for a daily template")
        return self


class TemplateOut(Output):
    id: str
    name: str
    cycle: Cycle
    target: dict[str, Any]
    opens_at: str
    closes_at: str
    fence_radius_m: float
    assignee: dict[str, str] | None
    scene: dict[str, Any]
    matters: list[dict[str, Any]]
    policy: dict[str, str]
    active: bool
    created_by: str
    created_at: dt.datetime
    issued: int = Field(0, description="tasks of the current period issued on creation")


class TaskIssueIn(Input):
    """Issue tasks now, to one enterprise or a filtered set. With ``template_id`` (an ad-hoc
    campaign's, say), what the body leaves out comes from the template."""

    title: Text | None = None
    template_id: Annotated[str, Field(min_length=1, max_length=36)] | None = None
    target: TargetIn = TargetIn()
    window_start: Moment
    window_end: Moment
    fence: FenceIn | None = None
    assignee: AssigneeIn | None = None
    scene: SceneIn | None = None
    matters: Matters | None = None
    policy: PolicyIn | None = None

    @model_validator(mode="after")
    def _check(self) -> TaskIssueIn:
        _unique_codes(self.matters)
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if self.fence and self.fence.lat is not None and not self.target.enterprise_uscc:
            raise ValueError("a fence centre is given only for one enterprise; a set's fences centre on each "
                             "unit's location")
        return self


class Skipped(Output):
    enterprise_uscc: str
    reason: str


class IssuedOut(Output):
    issued: int
    task_ids: list[str]
    skipped: list[Skipped]


class TaskOut(Output):
    id: str
    template_id: str | None
    period_key: str | None
    enterprise_uscc: str
    jurisdiction_code: str
    title: str
    cycle: Cycle
    window_start: dt.datetime
    window_end: dt.datetime
    due_date: dt.date
    fence: dict[str, float]
    assignee: dict[str, str] | None
    scene: dict[str, Any]
    matters: list[dict[str, Any]]
    policy: dict[str, str]
    status: Literal["open", "completed", "missed"]
    completed_at: dt.datetime | None
    closed_at: dt.datetime | None
    issued_by: str
    issued_at: dt.datetime


class LocationIn(Input):
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lon: Annotated[Number, Field(ge=-180, le=180)]


class ResultIn(Input):
    code: ItemCode
    passed: StrictBool
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class SubmissionIn(Input):
    """What the app sends, as the device recorded it (possibly offline, hours earlier)."""

    client_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")] | None = Field(None, description=(
        "the device's own id of this submission: a retry with it returns the submission stored (200)"))
    device_time: AwareDatetime = Field(description="when the device made the submission (RFC 3339 with offset)")
    location: LocationIn
    gps_accuracy_m: Annotated[Number, Field(ge=0, le=100000)]
    mock_location: StrictBool = False
    operator_id: Ident | None = None
    equipment_id: Ident | None = None
    spot: Ident | None = None
    photos: list[Sha256] = Field([], max_length=20)
    results: list[ResultIn] = Field([], max_length=100)
    note: Annotated[str, StringConstraints(max_length=2000)] = ""
    corrects: Annotated[str, Field(min_length=1, max_length=36)] | None = Field(None, description=(
        "id of an earlier submission of this task that this one corrects"))

    @model_validator(mode="after")
    def _check(self) -> SubmissionIn:
        if len({r.code for r in self.results}) != len(self.results):
            raise ValueError("results: each code at most once")
        return self


class Flag(Output):
    rule: str
    code: str
    field: str
    reason: str


class SubmissionOut(Output):
    id: str
    task_id: str
    enterprise_uscc: str
    client_id: str
    submitted_by: str
    operator_id: str | None
    device_time: dt.datetime
    server_time: dt.datetime
    location: dict[str, float]
    gps_accuracy_m: float
    mock_location: bool
    equipment_id: str | None
    spot: str | None
    photos: list[str]
    results: list[dict[str, Any]]
    flags: list[Flag]
    note: str
    corrects: str | None
    chain_sequence: int
    hazard_ids: list[str] = []


class TaskJobsIn(Input):
    date: Annotated[dt.date, BeforeValidator(_text_only_date)] | None = None


class TaskJobsOut(Output):
    date: dt.date
    templates: int
    issued: int
    hazards_overdue: list[dict[str, Any]]
    tasks_closed: list[dict[str, Any]]
