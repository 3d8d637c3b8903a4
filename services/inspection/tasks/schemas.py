"""API shapes of self-inspection tasks (五定), their templates and submissions."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from services.inspection.records.schemas import Input as RecordsInput
from services.inspection.records.schemas import Moment, Output
from shared.contracts.common import USCC_PATTERN
from shared.contracts.vocabulary import Grade, Kind
from shared.locality import DIVISION_CODE_PATTERN

WHITESPACE = " \t\n\r\f\v"  # ASCII whitespace: what patterns' classes and _trim agree on


def _trim(value: object) -> object:
    """Surrounding ASCII whitespace goes before a string's constraints apply (so ``"x\n"`` is
    ``"x"``, whatever a regex engine thinks of ``$`` before a final newline)."""
    return value.strip(WHITESPACE) if isinstance(value, str) else value


Trim = BeforeValidator(_trim)
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of a photo blob uploaded"), Trim]
ItemCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,50}$"), Trim]
Uscc = Annotated[str, Field(pattern=USCC_PATTERN, description="unified social credit code"), Trim]
TRIMMED = r"^[^ \t\n\r\f\v](.*[^ \t\n\r\f\v])?$"  # text without surrounding (ASCII) whitespace
CLIENT_ID = r"^[A-Za-z0-9_.:-]{1,64}$"
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=TRIMMED), Trim]
Ident = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=TRIMMED), Trim]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Action = Literal["reject", "flag"]
Cycle = Literal["daily", "weekly", "monthly", "adhoc"]


class Input(RecordsInput):
    """Request bodies of tasks and hazards: as records' (unknown fields and lax coercions refused),
    patterns matched by Python's ``re``, as the OpenAPI document's readers match them."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re")


def _text_only_date(value: object) -> object:
    if not isinstance(value, str):
        raise ValueError("must be a string (YYYY-MM-DD)")
    return value


WallTime = Annotated[str, StringConstraints(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"), Field(
    description="wall time in Asia/Shanghai, HH:MM or HH:MM:SS"), Trim]


class OneEnterprise(Input):
    """One enterprise."""

    enterprise_uscc: Uscc


class EnterpriseSet(Input):
    """The operating units of a jurisdiction subtree (default: the issuer's), filtered by grade
    (scoring's), kind and key supervision."""

    jurisdiction_code: Annotated[str, Field(pattern=DIVISION_CODE_PATTERN), Trim] | None = None
    grades: list[Grade] | None = Field(None, min_length=1, max_length=4)
    kinds: list[Kind] | None = Field(None, min_length=1, max_length=20)
    key_supervision: StrictBool | None = None


TargetIn = OneEnterprise | EnterpriseSet


class CentreIn(Input):
    lat: Annotated[Number, Field(ge=-90, le=90)]
    lon: Annotated[Number, Field(ge=-180, le=180)]


class FenceIn(Input):
    """定位: the centre (default: each enterprise's location in the ledger; given, it holds for every
    task issued) and the radius (default: default_fence_radius_m)."""

    centre: CentreIn | None = None
    radius_m: Annotated[Number, Field(gt=0, le=50000)] | None = None


class AssigneeIn(Input):
    """定人: an enterprise user (the ``sub`` of their token) or an operator (registry's operator id)."""

    kind: Literal["user", "operator"]
    id: Ident


class SceneIn(Input):
    """定景: one piece of equipment (its ledger id) or a named spot, photo required by default."""

    kind: Literal["equipment", "spot"]
    id: Ident = Field(description="the equipment id, or the spot's name")
    photo_required: StrictBool = True

    def stored(self) -> dict[str, Any]:
        return {"equipment_id": self.id if self.kind == "equipment" else None,
                "spot": self.id if self.kind == "spot" else None, "photo_required": self.photo_required}


class MatterIn(Input):
    """定事: one checklist item (keyed by its code); a failed item becomes a hazard of this severity."""

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


Matters = Annotated[dict[ItemCode, MatterIn], Field(min_length=1, max_length=100, json_schema_extra={
    "additionalProperties": False}, description="the checklist items by code, in order")]


def stored_matters(matters: dict[str, MatterIn]) -> list[dict[str, Any]]:
    return [{"code": code, **m.model_dump(mode="json")} for code, m in matters.items()]


class TemplateIn(Input):
    name: Text
    cycle: Cycle
    target: TargetIn = EnterpriseSet()
    opens_at: WallTime = "00:00"
    closes_at: WallTime = Field("23:59:59", description=(
        "wall time the window closes on the period's last day; not after opens_at: on the day after it"))
    fence_radius_m: Annotated[Number, Field(gt=0, le=50000)] | None = None
    assignee: AssigneeIn | None = None
    scene: SceneIn
    matters: Matters
    policy: PolicyIn = PolicyIn()
    active: StrictBool = True


def _absent_is_unchanged(schema: dict[str, Any]) -> None:
    """A patch's fields have no default: left out, a field keeps its value (null is no value)."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class TemplatePatch(Input):
    """The fields to change, each left out to keep it (``assignee: null`` removes the assignee;
    ``active: false`` deactivates: no further occurrences). The cycle is fixed at creation. Tasks
    already issued keep the 五定 they were issued with."""

    model_config = ConfigDict(extra="forbid", frozen=True, regex_engine="python-re",
                              json_schema_extra=_absent_is_unchanged)

    name: Text = None  # type: ignore[assignment]
    target: TargetIn = None  # type: ignore[assignment]
    opens_at: WallTime = None  # type: ignore[assignment]
    closes_at: WallTime = None  # type: ignore[assignment]
    fence_radius_m: Annotated[Number, Field(gt=0, le=50000)] = None  # type: ignore[assignment]
    assignee: AssigneeIn | None = None
    scene: SceneIn = None  # type: ignore[assignment]
    matters: Matters = None  # type: ignore[assignment]
    policy: PolicyIn = None  # type: ignore[assignment]
    active: StrictBool = None  # type: ignore[assignment]


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
    matters: dict[str, dict[str, Any]]
    policy: dict[str, str]
    active: bool
    created_by: str
    created_at: dt.datetime
    revision: int = Field(description="the template's revision, also its ETag: name it in If-Match to change it")
    updated_at: dt.datetime | None
    issued: int = Field(0, description="tasks of the current period issued on creation (or on reactivation)")


MAX_WINDOW_MINUTES = 366 * 24 * 60


def _whole_number(value: object) -> object:
    """JSON integers only (1106 or 1106.0, as JSON Schema counts them): no strings, no booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number")
        return int(value)
    return value


class WindowIn(Input):
    """定时: from ``window_start`` for ``duration_minutes``."""

    window_start: Moment
    duration_minutes: Annotated[int, Field(ge=1, le=MAX_WINDOW_MINUTES), BeforeValidator(_whole_number)]


class TaskIssueIn(WindowIn):
    """Issue tasks now, to one enterprise or a filtered set."""

    title: Text
    target: TargetIn = EnterpriseSet()
    fence: FenceIn | None = None
    assignee: AssigneeIn | None = None
    scene: SceneIn
    matters: Matters
    policy: PolicyIn = PolicyIn()


class CampaignIssueIn(WindowIn):
    """Issue a template's tasks now (an ad-hoc campaign's, say), to its target or another."""

    target: TargetIn | None = None


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
    matters: dict[str, dict[str, Any]]
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
    passed: StrictBool
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class SubmissionIn(Input):
    """What the app sends, as the device recorded it (possibly offline, hours earlier)."""

    client_id: Annotated[str, StringConstraints(pattern=CLIENT_ID), Trim] | None = Field(None, description=(
        "the device's own id of this submission: a retry with it returns the submission stored (200)"))
    device_time: AwareDatetime = Field(description="when the device made the submission (RFC 3339 with offset)")
    location: LocationIn
    gps_accuracy_m: Annotated[Number, Field(ge=0, le=100000)]
    mock_location: StrictBool = False
    operator_id: Ident | None = None
    equipment_id: Ident | None = None
    spot: Ident | None = None
    photos: list[Sha256] = Field([], max_length=20)
    results: dict[ItemCode, ResultIn] = Field({}, max_length=100, json_schema_extra={"additionalProperties": False},
                                              description="each checklist item's result, by code")
    note: Annotated[str, StringConstraints(max_length=2000)] = ""
    corrects: Annotated[str, Field(min_length=1, max_length=36)] | None = Field(None, description=(
        "id of an earlier submission of this task that this one corrects"))


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
    results: dict[str, dict[str, Any]]
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
    rechecks_overdue: list[dict[str, Any]] = Field([], description=(
        "evidence unverified past its re-check due date, reported now (hazard.recheck_overdue)"))
    tasks_closed: list[dict[str, Any]]
