"""API shapes of supervision plans, their items and 双随机 draws."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from services.enforcement.access import JURISDICTION_PATTERN
from services.enforcement.alerts.schemas import Assignee, RequestBody
from services.enforcement.domain.sampling import ALGORITHM
from services.enforcement.domain.supervision import MONTH_PATTERN
from services.enforcement.models import PlanItem, SamplingDraw, SupervisionPlan
from shared.contracts.vocabulary import Grade

ItemStatus = Literal["open", "done", "cancelled"]
VisitMode = Literal["onsite", "online"]
ItemSource = Literal["schedule", "sampling"]


class PlanCreate(RequestBody):
    jurisdiction_code: str = Field(pattern=JURISDICTION_PATTERN, description="the node the plan covers (its subtree)")
    month: str = Field(pattern=MONTH_PATTERN, description="YYYY-MM: this month or up to 12 ahead")


class Tally(BaseModel):
    open: int = 0
    done: int = 0
    cancelled: int = 0
    completion: float | None = Field(description="done / (open + done); null when nothing is planned")


class GridTally(Tally):
    grid_code: str | None


class PlanOut(BaseModel):
    id: str
    jurisdiction_code: str
    month: str
    policy_version: str
    generated_at: datetime
    generated_by: str
    updated_at: datetime
    revision: int

    @classmethod
    def of(cls, row: SupervisionPlan) -> PlanOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


def _tally(counts: dict[str, int]) -> dict[str, Any]:
    live = counts.get("open", 0) + counts.get("done", 0)
    return {**counts, "completion": round(counts.get("done", 0) / live, 4) if live else None}


class PlanDetail(PlanOut):
    """The plan with its completion (in the caller's subtree), overall, by mode and by grid."""

    total: Tally
    by_mode: dict[VisitMode, Tally]
    by_grid: list[GridTally]

    @classmethod
    def build(cls, row: SupervisionPlan, counts: list[tuple[Any, ...]]) -> PlanDetail:
        total: dict[str, int] = {}
        modes: dict[str, dict[str, int]] = {"onsite": {}, "online": {}}
        grids: dict[str | None, dict[str, int]] = {}
        for grid, mode, status, n in counts:
            for bucket in (total, modes.setdefault(mode, {}), grids.setdefault(grid, {})):
                bucket[status] = bucket.get(status, 0) + n
        return cls(**PlanOut.of(row).model_dump(), total=Tally(**_tally(total)),
                   by_mode={m: Tally(**_tally(c)) for m, c in modes.items()},  # type: ignore[misc]
                   by_grid=[GridTally(grid_code=g, **_tally(c))
                            for g, c in sorted(grids.items(), key=lambda x: x[0] or "")])


class PlanItemOut(BaseModel):
    id: str
    plan_id: str
    enterprise_uscc: str
    jurisdiction_code: str | None
    grid_code: str | None
    mode: VisitMode
    slot: str = Field(description="the period the visit covers: W<iso-year>-<week>, M<year>-<month>, "
                                  "Q<year>-<quarter>, Y<year>, or S:<draw id> for a drawn sample")
    frequency: str
    source: ItemSource
    supervision_grade: Grade = Field(description="the grade whose frequency applies (key supervision raises it)")
    reasons: list[str]
    due_date: date
    status: ItemStatus
    assignees: list[Assignee]
    needs_inspectors: bool = Field(description="an open on-site visit with fewer inspectors than the policy requires")
    draw_id: str | None
    patrol_id: str | None
    completed_at: datetime | None
    cancelled_reason: str | None
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, row: PlanItem, min_inspectors: int = 2) -> PlanItemOut:
        values = {n: getattr(row, n) for n in cls.model_fields if n != "needs_inspectors"}
        short = row.mode == "onsite" and row.status == "open" and len({a["id"] for a in row.assignees}) < min_inspectors
        return cls.model_validate({**values, "needs_inspectors": short})


class AssignRequest(RequestBody):
    assignees: list[Assignee] = Field(min_length=1, max_length=20, description=(
        "the inspectors who go (an on-site visit needs at least the policy's minimum, 2 by default)"))


class DrawRequest(RequestBody):
    rates: dict[Grade, float] | None = Field(None, description=(
        "share of each sampled stratum (supervision grade) to draw, within the policy's range (default: its default)"))
    inspectors_per_unit: int | None = Field(None, ge=1, le=10, description="default: the policy's minimum (2)")
    inspectors: list[Assignee] | None = Field(None, min_length=1, max_length=2000, description=(
        "the inspector list to draw from (执法检查人员名录); default: every grid inspector of the plan's subtree"))
    seed: str | None = Field(None, min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$", description=(
        "a published seed (e.g. from a public lottery); default: 32 random bytes in hex"))


class DrawnOut(BaseModel):
    enterprise_uscc: str
    stratum: Grade
    rank_hash: str
    inspectors: list[str]


class DrawOut(BaseModel):
    """A published draw: enough to reproduce it outside the system (README, "双随机 draws")."""

    id: str
    plan_id: str
    jurisdiction_code: str
    algorithm: str = Field(description=f"{ALGORITHM}: see the README")
    seed: str
    rates: dict[str, str] = Field(description="the rate of each stratum as a decimal string")
    inspectors_per_unit: int
    units: dict[str, list[str]] = Field(description="the population: each stratum's USCCs, sorted")
    inspectors: list[Assignee] = Field(description="the inspector population, sorted by id")
    sample: list[DrawnOut]
    drawn_at: datetime
    drawn_by: str

    @classmethod
    def of(cls, row: SamplingDraw) -> DrawOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})
