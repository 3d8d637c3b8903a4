"""Enterprise facts: what scoring knows about one enterprise (使用单位), the input of the score.

The scoring service keeps these facts as a projection of registry, inspection and enforcement
events. Every fact carries the id of the event that established it, so a score can name its
evidence. Besides the models, this module answers the two questions every rule asks of the
facts: when does a dated fact still count, and which management facts hold once patrols
(the 332211 checklist) have been taken into account.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.contracts.vocabulary import (
    CHECKLIST_ITEM_OF,
    CHECKLIST_ITEMS,
    MANAGEMENT_KEYS,
    ChecklistMark,
    EquipmentStatus,
    Grade,
    ManagementKey,
    VenueType,
)
from shared.locality import business_date

MANAGEMENT_WORDS: dict[ManagementKey, str] = {
    "safety_organization": "safety management organisation",
    "responsible_persons": "responsible persons",
    "management_system": "safety management rules",
    "emergency_plan": "emergency plan",
    "emergency_drills": "emergency drills",
    "training": "safety education and training",
    "risk_control_mechanism": "risk-tiered control mechanism",
    "hazard_investigation_mechanism": "hazard investigation and treatment mechanism",
}


class Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ManagementFact(Fact):
    """One management fact (三落实 / 三到位 / 双机制) as declared or observed."""

    in_place: bool
    source: Literal["declared", "observed"]
    as_of: AwareDatetime
    event_id: str


class EquipmentFact(Fact):
    """One unit of special equipment (特种设备) by catalogue category, e.g. "2300" gas cylinder."""

    equipment_id: str
    category: str = Field(pattern=r"^\d{4}$")
    registered: bool  # holds its use-registration certificate (使用登记证)
    status: EquipmentStatus
    next_inspection_due: date | None = None
    event_id: str


class OperatorFact(Fact):
    """One operator (作业人员) and the validity of their certificate."""

    operator_id: str
    certificate_valid_until: date | None = None
    event_id: str


class SelfInspectionTaskFact(Fact):
    """One self-inspection task (自查任务) issued to the enterprise."""

    task_id: str
    due_date: date
    completed: bool
    event_id: str


class HazardFact(Fact):
    """One hazard (隐患) with its rectification deadline."""

    hazard_id: str
    deadline_date: date
    rectified_date: date | None = None
    event_id: str


class MissingRecordsDayFact(Fact):
    """One business date with no filling records at the daily cut-off (充装记录缺失)."""

    business_date: date
    event_id: str
    repaired: bool = False


class PatrolFact(Fact):
    """One patrol (巡查) marking the 12 items of the 332211 checklist."""

    patrol_id: str
    patrolled_at: AwareDatetime
    items: dict[int, ChecklistMark]
    event_id: str

    @field_validator("items")
    @classmethod
    def _only_checklist_items(cls, items: dict[int, ChecklistMark]) -> dict[int, ChecklistMark]:
        unknown = sorted(n for n in items if n not in CHECKLIST_ITEMS)
        if unknown:
            raise ValueError(f"checklist items are numbered 1-12, got {unknown}")
        return items

    def failed(self, item: int) -> bool:
        return self.items.get(item) == "fail"


class CaseFact(Fact):
    """One case opened against the enterprise (立案)."""

    case_id: str
    opened_date: date
    repaired: bool = False  # removed from the score by an approved credit repair
    event_id: str


class PenaltyFact(Fact):
    """One administrative penalty decided (行政处罚)."""

    penalty_id: str
    decided_date: date
    repaired: bool = False
    event_id: str


class AccidentFact(Fact):
    """One special-equipment accident (特种设备事故)."""

    accident_id: str
    occurred_date: date
    responsible: bool  # the enterprise was held responsible
    severity: str
    event_id: str


class EnterpriseFacts(Fact):
    """Everything the indicator model and the grade rules read about one enterprise."""

    uscc: str
    jurisdiction_code: str
    general_credit_grade: Grade | None = None  # 通用型企业信用风险分类; None = unknown
    venue_type: VenueType = "other"
    kinds: list[str] = []
    # A key absent from `management` was never declared nor observed: it counts as missing.
    management: dict[ManagementKey, ManagementFact] = {}
    equipment: list[EquipmentFact] = []
    operators: list[OperatorFact] = []
    self_inspection_tasks: list[SelfInspectionTaskFact] = []
    hazards: list[HazardFact] = []
    missing_record_days: list[MissingRecordsDayFact] = []
    patrols: list[PatrolFact] = []
    cases: list[CaseFact] = []
    penalties: list[PenaltyFact] = []
    accidents: list[AccidentFact] = []
    # Events behind the profile fields, named as evidence when those fields score.
    general_credit_event_id: str | None = None
    profile_event_id: str | None = None  # venue_type and kinds


# --- when a fact counts ---------------------------------------------------------------------


def add_years(day: date, years: int) -> date:
    """Same month and day `years` later; Feb 29 falls back to Feb 28 in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def window_end(fact_date: date, *, days: int | None = None, years: int | None = None) -> date:
    """The first date on which a fact dated `fact_date` no longer counts."""
    if days is not None:
        return fact_date + timedelta(days=days)
    if years is not None:
        return add_years(fact_date, years)
    raise ValueError("a window needs days or years")


def within_window(fact_date: date, as_of_date: date, *, days: int | None = None,
                  years: int | None = None) -> bool:
    """The one window rule: a fact dated d counts from d up to, not including, d + window.

    So with a 90-day window a fact 89 days old counts and one 90 days old does not; facts dated
    after as_of_date do not count yet.
    """
    return fact_date <= as_of_date < window_end(fact_date, days=days, years=years)


# --- which observations hold ----------------------------------------------------------------

@dataclass(frozen=True)
class ManagementStatus:
    """The latest observation of one management fact, with its provenance."""

    key: ManagementKey
    in_place: bool
    source: Literal["declared", "observed", "patrol", "missing"]
    observed_at: datetime | None = None
    event_id: str | None = None  # None: never declared nor observed


def resolve_management(facts: EnterpriseFacts, as_of: datetime) -> dict[ManagementKey, ManagementStatus]:
    """Each management fact as the latest observation has it (the latest observation wins).

    A patrol that marks the matching checklist item pass or fail strictly after the fact's
    as_of overrides it; "na" observes nothing. Patrols after `as_of` have not happened yet.
    At the same instant a declaration beats a patrol, and a fail beats a pass.
    """
    resolved: dict[ManagementKey, ManagementStatus] = {}
    for key in MANAGEMENT_KEYS:
        item = CHECKLIST_ITEM_OF[key]
        candidates: list[tuple[datetime, int, ManagementStatus]] = []
        if (fact := facts.management.get(key)) is not None:
            candidates.append((fact.as_of, 2, ManagementStatus(
                key, fact.in_place, fact.source, fact.as_of, fact.event_id)))
        for patrol in facts.patrols:
            mark = patrol.items.get(item)
            if patrol.patrolled_at > as_of or mark not in ("pass", "fail"):
                continue
            in_place = mark == "pass"
            candidates.append((patrol.patrolled_at, 0 if in_place else 1, ManagementStatus(
                key, in_place, "patrol", patrol.patrolled_at, patrol.event_id)))
        if candidates:
            resolved[key] = max(candidates, key=lambda c: (c[0], c[1]))[2]
        else:
            resolved[key] = ManagementStatus(key, in_place=False, source="missing")
    return resolved


def latest_patrol(facts: EnterpriseFacts, as_of: datetime, window_days: int) -> PatrolFact | None:
    """The latest patrol up to `as_of`, if it lies within the patrol-findings window."""
    done = [p for p in facts.patrols if p.patrolled_at <= as_of]
    if not done:
        return None
    latest = max(done, key=lambda p: (p.patrolled_at, p.patrol_id))
    if within_window(business_date(latest.patrolled_at), business_date(as_of), days=window_days):
        return latest
    return None
