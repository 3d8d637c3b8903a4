"""Grade rules (等级调整规则, domain.md §6): the locks on a raw grade, and credit repair.

`decide_grade` turns the raw grade of the score bands into the grade the enterprise holds:
a manual adjustment may replace it, the ceiling (C or D within a year: no better than B) and
the accident lock (a responsible accident: D for 3 years) bound it, in that order, so nothing
beats a lock. `check_repair_eligibility` says whether credit repair (信用修复) may be applied for.
"""

from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.vocabulary import GRADES, THREE_IN_PLACE, Grade
from shared.locality import business_date

from .facts import MANAGEMENT_WORDS, AccidentFact, EnterpriseFacts, add_years, resolve_management, within_window
from .model_file import GradePolicy


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GradePeriod(Record):
    """A grade held from from_date through to_date (both inclusive; None: still held)."""

    grade: Grade
    from_date: date
    to_date: date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "GradePeriod":
        if self.to_date is not None and self.to_date < self.from_date:
            raise ValueError(f"to_date {self.to_date} is before from_date {self.from_date}")
        return self


class ManualAdjustment(Record):
    """A grade set by a city-level regulator (人工调整), with a reason, until expires_on inclusive."""

    grade: Grade
    reason: str = Field(min_length=1)
    expires_on: date
    set_by: str


class RuleApplied(Record):
    rule: Literal["manual_adjustment", "manual_adjustment_expired", "ceiling", "accident_lock"]
    detail: str


class GradeDecision(Record):
    """The grade held, the raw grade it came from, and each rule that shaped it."""

    grade: Grade
    raw_grade: Grade
    locked_until: date | None  # the date the accident lock lifts (locked on dates before it)
    ceiling_until: date | None  # the date the ceiling lifts (capped on dates before it)
    reasons: list[RuleApplied]


class Eligibility(Record):
    """Whether credit repair may be applied for; `reasons` says what stands in the way."""

    eligible: bool
    reasons: list[str]


def is_better(grade: Grade, than: Grade) -> bool:
    """A is the best (least risky) grade, D the worst."""
    return GRADES.index(grade) < GRADES.index(than)


def decide_grade(raw_grade: Grade, facts: EnterpriseFacts, history: list[GradePeriod],
                 manual: ManualAdjustment | None, as_of: datetime,
                 policy: GradePolicy | None = None) -> GradeDecision:
    """Apply the manual adjustment, then the ceiling, then the accident lock."""
    policy = policy or GradePolicy()
    today = business_date(as_of)
    grade, source = raw_grade, f"raw grade {raw_grade}"
    reasons: list[RuleApplied] = []

    if manual is not None and today <= manual.expires_on:
        grade, source = manual.grade, f"manual grade {manual.grade}"
        reasons.append(RuleApplied(rule="manual_adjustment", detail=(
            f"set to {manual.grade} by {manual.set_by} until {manual.expires_on}: {manual.reason}")))
    elif manual is not None:
        reasons.append(RuleApplied(rule="manual_adjustment_expired", detail=(
            f"manual grade {manual.grade} by {manual.set_by} expired on {manual.expires_on}")))

    ceiling_until, last_bad = _ceiling(history, today, policy)
    if ceiling_until is not None and is_better(grade, policy.ceiling_best_grade):
        best = policy.ceiling_best_grade
        reasons.append(RuleApplied(rule="ceiling", detail=(
            f"held {last_bad.grade} on {min(last_bad.to_date or today, today)}: best reachable grade "
            f"is {best} until {ceiling_until}; {source} lowered to {best}")))
        grade = policy.ceiling_best_grade

    locked_until, accident = _accident_lock(facts, today, policy)
    if locked_until is not None:
        overridden = f"; {source} overridden" if grade != "D" else ""
        reasons.append(RuleApplied(rule="accident_lock", detail=(
            f"responsible accident {accident.accident_id} on {accident.occurred_date}: "
            f"grade D until {locked_until}{overridden}")))
        grade = "D"

    return GradeDecision(grade=grade, raw_grade=raw_grade, locked_until=locked_until,
                         ceiling_until=ceiling_until, reasons=reasons)


def _ceiling(history: list[GradePeriod], today: date,
             policy: GradePolicy) -> tuple[date | None, GradePeriod | None]:
    """When the ceiling lifts (or None) and the C/D period that sets it.

    Held on date d counts while (today - d).days < ceiling_window_days: the window includes today.
    """
    until, cause = None, None
    for period in history:
        if period.grade not in ("C", "D") or period.from_date > today:
            continue
        last_held = min(period.to_date or today, today)
        lifts = last_held + timedelta(days=policy.ceiling_window_days)
        if today < lifts and (until is None or lifts > until):
            until, cause = lifts, period
    return until, cause


def _accident_lock(facts: EnterpriseFacts, today: date,
                   policy: GradePolicy) -> tuple[date | None, AccidentFact | None]:
    """When the accident lock lifts (or None) and the accident that sets it."""
    until, cause = None, None
    for accident in facts.accidents:
        if accident.responsible and within_window(accident.occurred_date, today,
                                                  years=policy.accident_lock_years):
            lifts = add_years(accident.occurred_date, policy.accident_lock_years)
            if until is None or lifts > until:
                until, cause = lifts, accident
    return until, cause


def check_repair_eligibility(facts: EnterpriseFacts, as_of: datetime, open_orders: int = 0,
                             policy: GradePolicy | None = None) -> Eligibility:
    """Credit repair (信用修复) needs: no accident in the last years, 三落实 in place, nothing open."""
    if open_orders < 0:
        raise ValueError(f"open_orders cannot be negative, got {open_orders}")
    policy = policy or GradePolicy()
    today = business_date(as_of)
    years = policy.repair_accident_free_years
    reasons = []

    for accident in sorted(facts.accidents, key=lambda a: a.occurred_date):
        if within_window(accident.occurred_date, today, years=years):
            reasons.append(f"accident {accident.accident_id} on {accident.occurred_date}: {years} "
                           f"accident-free years needed, reached on "
                           f"{add_years(accident.occurred_date, years)}")

    management = resolve_management(facts, as_of)
    for key in THREE_IN_PLACE:
        if not management[key].in_place:
            reasons.append(f"三落实 not in place: {MANAGEMENT_WORDS[key]}")

    for hazard in facts.hazards:
        if hazard.rectified_date is None or hazard.rectified_date > today:
            reasons.append(f"hazard {hazard.hazard_id} not rectified (deadline {hazard.deadline_date})")

    if open_orders:
        reasons.append(f"{open_orders} order(s) to correct not yet complied with")

    return Eligibility(eligible=not reasons, reasons=reasons)
