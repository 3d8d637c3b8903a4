"""Indicator kinds (指标类型): how each kind of indicator measures an enterprise's facts.

An indicator in the model file names its kind, its points and its window; the kind's
evaluator reads the facts and says how many points, on which evidence (event ids), in plain
words. `max_points` and group caps are applied by `compute`, not here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.vocabulary import (
    CHECKLIST_ITEM_OF,
    ITEM_EQUIPMENT_INSPECTED,
    ITEM_OPERATORS_CERTIFIED,
    ITEM_RECORDS_COMPLETE,
    ITEM_UNITS_REGISTERED,
    ManagementKey,
)
from shared.locality import business_date

from .facts import (
    MANAGEMENT_WORDS,
    EnterpriseFacts,
    ManagementStatus,
    PatrolFact,
    latest_patrol,
    resolve_management,
    within_window,
)

if TYPE_CHECKING:
    from .model_file import IndicatorSpec


@dataclass(frozen=True)
class Situation:
    """The facts as seen at one moment: what every evaluator reads."""

    facts: EnterpriseFacts
    as_of: datetime
    as_of_date: date
    management: Mapping[ManagementKey, ManagementStatus]
    latest_patrol: PatrolFact | None  # None when there is no patrol within the findings window

    @classmethod
    def at(cls, facts: EnterpriseFacts, as_of: datetime, patrol_window_days: int) -> Situation:
        return cls(
            facts=facts,
            as_of=as_of,
            as_of_date=business_date(as_of),
            management=resolve_management(facts, as_of),
            latest_patrol=latest_patrol(facts, as_of, patrol_window_days),
        )

    def patrol_failed(self, item: int) -> bool:
        return self.latest_patrol is not None and self.latest_patrol.failed(item)

    def patrol_finding(self, item: int, words: str) -> str:
        assert self.latest_patrol is not None
        return f"patrol on {business_date(self.latest_patrol.patrolled_at)} found {words} (item {item})"


@dataclass(frozen=True)
class Measure:
    """What an evaluator found: points before caps, the event ids behind them, plain words."""

    points: float
    evidence: list[str] = field(default_factory=list)
    detail: str = ""


NOTHING = Measure(0.0)


class Params(BaseModel):
    """Kind-specific settings of an indicator (`params:` in the model file)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


# --- G0 general credit ----------------------------------------------------------------------

class GeneralCreditParams(Params):
    A: float = Field(ge=0)
    B: float = Field(ge=0)
    C: float = Field(ge=0)
    D: float = Field(ge=0)
    unknown: float = Field(ge=0)


def general_credit_grade(s: Situation, spec: IndicatorSpec) -> Measure:
    """通用型企业信用风险分类: points by the national grade, or for an unknown grade."""
    settings: GeneralCreditParams = spec.settings
    grade = s.facts.general_credit_grade
    evidence = [s.facts.general_credit_event_id] if s.facts.general_credit_event_id else []
    if grade is None:
        return Measure(settings.unknown, evidence, "no general credit grade known")
    return Measure(getattr(settings, grade), evidence,
                   f"general credit grade {grade} (national classification)")


# --- management facts: 三落实 (G1), 双机制 (G3), 三到位 (G5) --------------------------------------

class ManagementParams(Params):
    key: ManagementKey


def management_missing(s: Situation, spec: IndicatorSpec) -> Measure:
    """One management fact not in place, by the latest observation."""
    key = spec.settings.key
    status = s.management[key]
    if status.in_place:
        return NOTHING
    words = MANAGEMENT_WORDS[key]
    if status.source == "missing":
        return Measure(spec.points, [], f"{words}: never declared nor observed")
    assert status.observed_at is not None and status.event_id is not None
    when = business_date(status.observed_at)
    if status.source == "patrol":
        how = f"patrol on {when} found it not in place (item {CHECKLIST_ITEM_OF[key]})"
    else:
        how = f"{status.source} not in place on {when}"
    return Measure(spec.points, [status.event_id], f"{words}: {how}")


# --- G2 operators ---------------------------------------------------------------------------

class OperatorParams(Params):
    patrol_fail_points: float = Field(default=5, ge=0)  # floor when the latest patrol fails item 10


def operators_without_valid_certificate(s: Situation, spec: IndicatorSpec) -> Measure:
    """两有证 (operators): share of operators without a valid certificate × points."""
    operators = s.facts.operators
    lacking = [o for o in operators
               if o.certificate_valid_until is None or o.certificate_valid_until < s.as_of_date]
    points = spec.points * len(lacking) / len(operators) if operators else 0.0
    evidence = [o.event_id for o in lacking]
    details = ([f"{len(lacking)} of {_plural(len(operators), 'operator')} lack a valid certificate"]
               if lacking else [])
    if s.patrol_failed(ITEM_OPERATORS_CERTIFIED):
        points = max(points, spec.settings.patrol_fail_points)
        evidence.append(s.latest_patrol.event_id)
        details.append(s.patrol_finding(ITEM_OPERATORS_CERTIFIED, "an operator without a certificate"))
    return Measure(points, evidence, "; ".join(details))


# --- G3 hazards and self-inspection ---------------------------------------------------------

def hazards_past_deadline(s: Situation, spec: IndicatorSpec) -> Measure:
    """隐患逾期未整改: each hazard past its deadline and not rectified by as_of."""
    today = s.as_of_date
    overdue = [h for h in s.facts.hazards
               if h.deadline_date < today and (h.rectified_date is None or h.rectified_date > today)]
    if not overdue:
        return NOTHING
    return Measure(spec.points * len(overdue), [h.event_id for h in overdue],
                   f"{_plural(len(overdue), 'hazard')} not rectified by the deadline")


class CompletionParams(Params):
    min_completion: float = Field(default=0.9, gt=0, le=1)


def self_inspection_completion(s: Situation, spec: IndicatorSpec) -> Measure:
    """自查完成率: completion of the tasks due in the window, below the minimum scores.

    A task due today and still open is not late yet, so it is left out.
    """
    today = s.as_of_date
    due = [t for t in s.facts.self_inspection_tasks
           if within_window(t.due_date, today, **spec.window) and (t.completed or t.due_date < today)]
    if not due:
        return NOTHING
    done = sum(t.completed for t in due)
    minimum = spec.settings.min_completion
    if done / len(due) >= minimum:
        return NOTHING
    return Measure(
        spec.points,
        [t.event_id for t in due if not t.completed],
        f"{done} of {_plural(len(due), 'self-inspection task')} due {spec.window_words} completed "
        f"({done / len(due):.0%}, below {minimum:.0%})",
    )


# --- G4 equipment and place -----------------------------------------------------------------

def unregistered_equipment_in_use(s: Situation, spec: IndicatorSpec) -> Measure:
    """两有证 (registration): any in-use unit without its use-registration certificate."""
    units = [e for e in s.facts.equipment if e.status == "in_use" and not e.registered]
    details = [f"in use without registration: {', '.join(e.equipment_id for e in units)}"] if units else []
    evidence = [e.event_id for e in units]
    if s.patrol_failed(ITEM_UNITS_REGISTERED):
        evidence.append(s.latest_patrol.event_id)
        details.append(s.patrol_finding(ITEM_UNITS_REGISTERED, "an in-use unit without registration"))
    return Measure(spec.points, evidence, "; ".join(details)) if details else NOTHING


def equipment_past_inspection(s: Situation, spec: IndicatorSpec) -> Measure:
    """一检验: any in-use unit past its next inspection due date (the due date itself is fine)."""
    units = [e for e in s.facts.equipment
             if e.status == "in_use" and e.next_inspection_due is not None
             and e.next_inspection_due < s.as_of_date]
    overdue = ", ".join(f"{e.equipment_id} (due {e.next_inspection_due})" for e in units)
    details = [f"in use past inspection due date: {overdue}"] if units else []
    evidence = [e.event_id for e in units]
    if s.patrol_failed(ITEM_EQUIPMENT_INSPECTED):
        evidence.append(s.latest_patrol.event_id)
        details.append(s.patrol_finding(ITEM_EQUIPMENT_INSPECTED, "equipment not inspected within validity"))
    return Measure(spec.points, evidence, "; ".join(details)) if details else NOTHING


def public_gathering_venue(s: Situation, spec: IndicatorSpec) -> Measure:
    """公众聚集场所: every venue type except "other" gathers the public."""
    venue = s.facts.venue_type
    if venue == "other":
        return NOTHING
    evidence = [s.facts.profile_event_id] if s.facts.profile_event_id else []
    return Measure(spec.points, evidence, f"public gathering place ({venue.replace('_', ' ')})")


class HazardousKindParams(Params):
    kinds: list[str] = ["gas_filling", "boiler", "ropeway", "amusement_ride"]
    # Catalogue families (特种设备目录): 1000 boiler, 6000 large amusement ride, 9000 ropeway.
    categories: list[Annotated[str, Field(pattern=r"^\d000$")]] = ["1000", "6000", "9000"]

    def covers(self, category: str) -> bool:
        return f"{category[0]}000" in self.categories


def inherently_hazardous_kind(s: Situation, spec: IndicatorSpec) -> Measure:
    """高危类别: a hazardous kind declared, or in-use equipment of a hazardous catalogue family."""
    settings: HazardousKindParams = spec.settings
    kinds = [k for k in s.facts.kinds if k in settings.kinds]
    units = [e for e in s.facts.equipment if e.status == "in_use" and settings.covers(e.category)]
    if not kinds and not units:
        return NOTHING
    evidence = ([s.facts.profile_event_id] if kinds and s.facts.profile_event_id else [])
    evidence += [e.event_id for e in units]
    details = [f"kind {', '.join(kinds)}"] if kinds else []
    if units:
        details.append(f"in use: {', '.join(f'{e.equipment_id} ({e.category})' for e in units)}")
    return Measure(spec.points, evidence, "inherently hazardous: " + "; ".join(details))


# --- G5 records and patrol findings ---------------------------------------------------------

def missing_filling_records(s: Situation, spec: IndicatorSpec) -> Measure:
    """一记录: each business date without filling records in the window, unless repaired."""
    counted = sorted((m for m in s.facts.missing_record_days
                      if not m.repaired and within_window(m.business_date, s.as_of_date, **spec.window)),
                     key=lambda m: m.business_date)
    days = sorted({m.business_date for m in counted})  # two events for one date are one day
    if not days:
        return NOTHING
    return Measure(spec.points * len(days), [m.event_id for m in counted],
                   f"{_plural(len(days), 'day')} without filling records {spec.window_words}: "
                   f"{', '.join(map(str, days))}")


def patrol_record_gaps(s: Situation, spec: IndicatorSpec) -> Measure:
    """一记录: the latest patrol found records incomplete (item 12)."""
    if not s.patrol_failed(ITEM_RECORDS_COMPLETE):
        return NOTHING
    return Measure(spec.points, [s.latest_patrol.event_id],
                   s.patrol_finding(ITEM_RECORDS_COMPLETE, "records incomplete"))


# --- G6 cases and penalties -----------------------------------------------------------------

def cases_opened(s: Situation, spec: IndicatorSpec) -> Measure:
    """立案: each case opened in the window, unless repaired."""
    cases = [c for c in s.facts.cases
             if not c.repaired and within_window(c.opened_date, s.as_of_date, **spec.window)]
    if not cases:
        return NOTHING
    return Measure(spec.points * len(cases), [c.event_id for c in cases],
                   f"{_plural(len(cases), 'case')} opened {spec.window_words}")


def penalties_decided(s: Situation, spec: IndicatorSpec) -> Measure:
    """行政处罚: each penalty decided in the window, unless repaired."""
    penalties = [p for p in s.facts.penalties
                 if not p.repaired and within_window(p.decided_date, s.as_of_date, **spec.window)]
    if not penalties:
        return NOTHING
    return Measure(spec.points * len(penalties), [p.event_id for p in penalties],
                   f"{_plural(len(penalties), 'penalty', 'penalties')} decided {spec.window_words}")


# --- the registry ---------------------------------------------------------------------------

Evaluator = Callable[[Situation, "IndicatorSpec"], Measure]


@dataclass(frozen=True)
class IndicatorKind:
    """An evaluator and what an indicator of its kind must say in the model file."""

    evaluate: Evaluator
    params: type[Params] = Params
    needs_points: bool = True  # False: the points live in params
    windowed: bool = False  # True: window_days or window_years required


INDICATOR_KINDS: dict[str, IndicatorKind] = {
    "general_credit_grade": IndicatorKind(general_credit_grade, GeneralCreditParams, needs_points=False),
    "management_missing": IndicatorKind(management_missing, ManagementParams),
    "operators_without_valid_certificate": IndicatorKind(operators_without_valid_certificate, OperatorParams),
    "hazards_past_deadline": IndicatorKind(hazards_past_deadline),
    "self_inspection_completion": IndicatorKind(self_inspection_completion, CompletionParams, windowed=True),
    "unregistered_equipment_in_use": IndicatorKind(unregistered_equipment_in_use),
    "equipment_past_inspection": IndicatorKind(equipment_past_inspection),
    "public_gathering_venue": IndicatorKind(public_gathering_venue),
    "inherently_hazardous_kind": IndicatorKind(inherently_hazardous_kind, HazardousKindParams),
    "missing_filling_records": IndicatorKind(missing_filling_records, windowed=True),
    "patrol_record_gaps": IndicatorKind(patrol_record_gaps),
    "cases_opened": IndicatorKind(cases_opened, windowed=True),
    "penalties_decided": IndicatorKind(penalties_decided, windowed=True),
}
