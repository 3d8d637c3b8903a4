"""Differentiated supervision (差异化监管, domain.md §7) as a versioned policy file, and what it
plans for one enterprise in one month.

A unit's *supervision grade* is its grade (or ``unscored_as`` before its first score), raised to
``key_supervision.at_least`` when it is a key-supervision unit: a public gathering venue, an
accident within ``accident_within_years``, or registry's designation. Its grade's frequencies
give the visits of a month, each with a *slot* naming the period it covers, so that a plan
regenerated or updated mid-month finds the visits it already holds:

- ``weekly``: ``W<iso-year>-<week>`` for each ISO week whose Monday lies in the month, due that Sunday;
- ``monthly``: ``M<year>-<month>``, due at the month's end;
- ``quarterly``: ``Q<year>-<quarter>``, planned in the first plan of the quarter that needs it, due at the month's end;
- ``yearly``: ``Y<year>``, planned in the first plan from the unit's spread month on (the month
  SHA-256 of its USCC picks, so a district's routine inspections spread over the year).
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.enforcement.domain.versioned import Book, FileInvalid, load_directory, parse_file
from shared.contracts.vocabulary import GRADES, Grade, VenueType

SUPERVISION_DIR = Path(__file__).resolve().parent.parent / "policy_files" / "supervision"
Frequency = Literal["none", "yearly", "quarterly", "monthly", "weekly"]
Mode = Literal["onsite", "online"]
MODES: tuple[Mode, ...] = ("onsite", "online")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # a plan's month, YYYY-MM
PERIODIC = frozenset({"yearly", "quarterly"})  # planned once per period, in whichever plan first needs it


class SupervisionPolicyInvalid(FileInvalid):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Frequencies(_Strict):
    onsite: Frequency
    online: Frequency


class KeySupervision(_Strict):
    at_least: Grade
    venue_types: frozenset[VenueType]
    accident_within_years: int = Field(ge=0, le=20)
    designated: bool = True


class Rate(_Strict):
    """The share of a stratum one draw may sample."""

    min: float = Field(ge=0, le=1)
    max: float = Field(ge=0, le=1)
    default: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> Rate:
        if not self.min <= self.default <= self.max:
            raise ValueError("min <= default <= max")
        return self


class Inspection(_Strict):
    min_inspectors: int = Field(ge=1, le=10)
    recheck_working_days: int = Field(ge=1, le=60)


class SupervisionPolicy(_Strict):
    version: str = Field(min_length=1, max_length=100)
    effective_from: date
    frequencies: dict[Grade, Frequencies]
    unscored_as: Grade
    key_supervision: KeySupervision
    sampling: dict[Grade, Rate]
    inspection: Inspection

    @model_validator(mode="after")
    def _complete(self) -> SupervisionPolicy:
        missing = [g for g in GRADES if g not in self.frequencies]
        if missing:
            raise ValueError(f"frequencies: every grade needs its frequencies; missing {missing}")
        return self


@dataclass(frozen=True)
class Standing:
    """What the plan knows of a unit: its grade and the facts that make it key supervision."""

    uscc: str
    grade: str | None
    venue_type: str | None
    designated: bool
    accident_dates: tuple[date, ...] = ()


@dataclass(frozen=True)
class SupervisionGrade:
    grade: Grade
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Visit:
    mode: Mode
    slot: str
    due_date: date
    frequency: Frequency

    @property
    def periodic(self) -> bool:
        return self.frequency in PERIODIC


def supervision_grade(policy: SupervisionPolicy, unit: Standing, today: date) -> SupervisionGrade:
    """The grade whose frequencies apply, with why."""
    grade: str = unit.grade if unit.grade in GRADES else policy.unscored_as
    reasons = [f"grade {grade}" if unit.grade in GRADES else f"not scored yet: planned as {grade}"]
    key = policy.key_supervision
    causes = []
    if unit.venue_type in key.venue_types:
        causes.append(f"public gathering venue ({unit.venue_type})")
    since = _years_before(today, key.accident_within_years)
    if any(d >= since for d in unit.accident_dates):
        causes.append(f"an accident within {key.accident_within_years} years")
    if key.designated and unit.designated:
        causes.append("designated for key supervision")
    if causes and GRADES.index(grade) < GRADES.index(key.at_least):
        grade = key.at_least
        reasons.append(f"key supervision ({'; '.join(causes)}): at least {key.at_least}")
    elif causes:
        reasons.append(f"key supervision ({'; '.join(causes)})")
    return SupervisionGrade(grade, tuple(reasons))  # type: ignore[arg-type]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def spread_month(uscc: str) -> int:
    """The month (1-12) a unit's yearly visit is planned from: SHA-256 of its USCC, mod 12."""
    return int(hashlib.sha256(uscc.encode()).hexdigest(), 16) % 12 + 1


def visits(policy: SupervisionPolicy, grade: str, uscc: str, year: int, month: int, *,
           from_date: date | None = None) -> list[Visit]:
    """The visits a unit of supervision ``grade`` needs in the plan of ``year``-``month``; with
    ``from_date`` (updating a plan mid-month) weekly visits already past are left out. Periodic
    (yearly, quarterly) visits are candidates: the caller drops those another plan holds."""
    end = month_end(year, month)
    found: list[Visit] = []
    for mode in MODES:
        frequency = getattr(policy.frequencies[grade], mode)  # type: ignore[index]
        if frequency == "weekly":
            day = date(year, month, 1)
            day += timedelta(days=-day.weekday() % 7)  # the first Monday of the month
            while day.month == month:
                sunday = day + timedelta(days=6)
                iso_year, week, _ = day.isocalendar()
                if from_date is None or sunday >= from_date:
                    found.append(Visit(mode, f"W{iso_year}-{week:02d}", sunday, frequency))
                day += timedelta(days=7)
        elif frequency == "monthly":
            found.append(Visit(mode, f"M{year}-{month:02d}", end, frequency))
        elif frequency == "quarterly":
            found.append(Visit(mode, f"Q{year}-{(month - 1) // 3 + 1}", end, frequency))
        elif frequency == "yearly" and month >= spread_month(uscc):
            found.append(Visit(mode, f"Y{year}", end, frequency))
    return found


def sampling_rate(policy: SupervisionPolicy, grade: str, asked: float | None) -> float:
    """The rate a draw uses for a stratum; ValueError naming the policy's range when outside it."""
    rate = policy.sampling.get(grade)  # type: ignore[call-overload]
    if rate is None:
        raise ValueError(f"grade {grade} is not sampled under {policy.version} (sampled: {sorted(policy.sampling)})")
    if asked is None:
        return rate.default
    if not rate.min <= asked <= rate.max:
        raise ValueError(f"a draw samples {rate.min:.0%}-{rate.max:.0%} of grade {grade} units under "
                         f"{policy.version}, not {asked:.2%}")
    return asked


# --- the file ---------------------------------------------------------------------------------

def parse_supervision_policy(text: str) -> SupervisionPolicy:
    return parse_file(text, SupervisionPolicy, SupervisionPolicyInvalid, "a supervision policy is a mapping")


class SupervisionBook(Book[SupervisionPolicy]):
    """Every version by effective date; ``in_effect(day)`` picks the one in force."""

    invalid = SupervisionPolicyInvalid
    what = "supervision policy file"


def load_supervision(directory: Path = SUPERVISION_DIR) -> SupervisionBook:
    return SupervisionBook(load_directory(directory, parse_supervision_policy, SupervisionPolicyInvalid))
