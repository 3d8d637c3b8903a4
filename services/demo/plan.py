"""What the demo city does besides its ledger, planned in pure functions from the registry's
planned units, the day and a seed: four weeks of filling records per station (some days left
out on purpose, today's missing at a few), self-inspection tasks with their outcomes, hazards
and which get rectified, 332211 patrols with a finding, an order and a case, and the public's
ratings and reports. Nothing here talks to a service: ``city.py`` applies the plan over HTTP.

The same units, day, moment and seed give the same plan (ids and timestamps the services
assign differ from run to run)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from services.registry.demo import FILLER_CERTIFICATE, PlannedUnit
from shared.locality import BUSINESS_TIMEZONE

RECORD_DAYS = 28  # four weeks of filling records before today
CUTOFF_DAYS = 7  # the past days the cut-off is run for (and today)
MISSING_TODAY = 3  # stations that upload nothing today: the D-grade one and two more
TASK_UNITS = 60  # self-inspection tasks go to the stations and at most this many other units
PATROLS = 6
RATINGS = 14
REPORTS = 3
CITIZENS = 8  # distinct clients (phones) the ratings and reports come from
FAIL_CHANCE = {"A": 0.05, "B": 0.2, "C": 0.5, "D": 0.9}  # a self-inspection item failed, by risk tier
SKIP_CHANCE = {"A": 0.05, "B": 0.15, "C": 0.35, "D": 0.6}  # a task left undone
MATTERS: dict[str, dict[str, str]] = {
    "gas_filling": {"pre_check": "充装前检查记录完整", "cylinder_ledger": "气瓶建档及检验日期核对",
                    "leak_test": "充装后检漏、复秤", "emergency": "应急器材完好"},
    "elevator": {"run_record": "电梯日常运行记录", "maintenance": "维保记录及签字", "alarm": "轿厢紧急报警装置有效"},
    "lifting": {"rigging": "吊索具检查", "limit_switch": "限位及制动器有效", "operator": "司机持证上岗"},
    "amusement_ride": {"trial_run": "每日试运行记录", "restraint": "安全压杠、安全带完好",
                       "signs": "乘客须知及警示标识"},
    "ropeway": {"trial_run": "每日试运行记录", "brake": "制动器检查", "rescue": "救援设备完好"},
    "general": {"ledger": "设备台账及使用登记证", "inspection": "定期检验在有效期内", "training": "安全教育培训记录"},
}


@dataclass(frozen=True)
class StationPlan:
    """A filling station's records: what its filling-scale system uploads, and the days it left out."""

    uscc: str
    records: tuple[dict[str, Any], ...]
    skipped_days: tuple[date, ...]


@dataclass(frozen=True)
class TaskPlan:
    """One self-inspection task to one unit, and what the unit does with it."""

    uscc: str
    title: str
    matters: dict[str, str]
    submitted: bool
    failed: tuple[str, ...] = ()  # item codes failed: each raises a hazard
    rectified: tuple[str, ...] = ()  # of those, rectified (evidence, then a regulator's verdict)
    evidence_only: tuple[str, ...] = ()  # evidence uploaded, awaiting the re-check


@dataclass(frozen=True)
class PatrolPlan:
    uscc: str
    mode: str  # online | onsite
    inspectors: tuple[dict[str, str], ...]
    fails: dict[int, str] = field(default_factory=dict)  # item -> what was found
    answers_alert: bool = False  # the unit's missing-records alert, when it has one
    order_item: int | None = None  # a finding with an order to correct (rectified and verified)
    case_item: int | None = None  # a finding opening a case (investigated, proposed, decided)
    offence_code: str | None = None


@dataclass(frozen=True)
class RatingPlan:
    uscc: str
    citizen: int
    stars: int
    comment: str | None
    approve: bool


@dataclass(frozen=True)
class ReportPlan:
    uscc: str
    citizen: int
    category: str
    description: str


@dataclass(frozen=True)
class CityPlan:
    stations: tuple[StationPlan, ...]
    missing_today: tuple[str, ...]
    expired_fill: str | None  # the station that filled a cylinder past its inspection date
    cutoff_dates: tuple[date, ...]
    daily_template_done: tuple[str, ...]  # stations that do today's 日管控 occurrence
    tasks: tuple[TaskPlan, ...]
    patrols: tuple[PatrolPlan, ...]
    ratings: tuple[RatingPlan, ...]
    reports: tuple[ReportPlan, ...]
    case_from_alert: str | None = None  # the expired fill's alert opens a second case


def _filler(unit: PlannedUnit) -> str:
    return next(o.certificate_no for o in unit.operators
                if o.certificate_category == FILLER_CERTIFICATE and o.certificate_no)


def _day_records(rng: random.Random, unit: PlannedUnit, day: date, until: datetime | None) -> list[dict[str, Any]]:
    """A working day's fills (07:00-19:00, business time), none after ``until``."""
    valid = [c.cylinder_no for c in unit.cylinders  # within both dates: the planned anomalies come apart
             if c.next_inspection_date and c.next_inspection_date > day and (not c.scrap_date or c.scrap_date > day)]
    filler = _filler(unit)
    records = []
    if not valid:
        return []
    for _ in range(rng.randint(20, 45)):
        moment = datetime.combine(day, time(7), tzinfo=BUSINESS_TIMEZONE) + timedelta(seconds=rng.randint(0, 12 * 3600))
        if until is not None and moment > until:
            continue
        records.append(filling_record(unit.uscc, rng.choice(valid), moment, filler,
                                      round(rng.uniform(14.3, 14.7), 2), scale=f"秤{rng.randint(1, 3)}"))
    return records


def filling_record(uscc: str, cylinder: str, moment: datetime, filler: str, mass: float, *, scale: str,
                   post_check_passed: bool = True) -> dict[str, Any]:
    return {"enterprise_uscc": uscc, "cylinder_no": cylinder, "medium": "液化石油气", "filled_at": moment.isoformat(),
            "pre_check_passed": True, "post_check_passed": post_check_passed, "operator_cert_no": filler,
            "filled_mass_kg": mass, "scale_id": scale}


def _stations(rng: random.Random, stations: list[PlannedUnit], today: date, now: datetime,
              missing_today: set[str]) -> tuple[tuple[StationPlan, ...], str | None]:
    """Each station's records, and the station that filled an expired cylinder (if one could)."""
    planned, expired_fill = [], None
    yesterday = today - timedelta(days=1)
    for n, unit in enumerate(stations):
        days = [today - timedelta(days=k) for k in range(RECORD_DAYS, 0, -1)]
        skipped = tuple(sorted(rng.sample(days[:-1], rng.randint(0, 2))))  # yesterday is kept: the fill below
        records: list[dict[str, Any]] = []
        for day in days:
            if day not in skipped:
                records += _day_records(rng, unit, day, None)
        if unit.uscc not in missing_today:
            records += _day_records(rng, unit, today, now - timedelta(minutes=5))
        if n == 0:  # the D-grade station: one cylinder past its inspection date, yesterday afternoon
            moment = datetime.combine(yesterday, time(15, 20), tzinfo=BUSINESS_TIMEZONE)
            expired = [c.cylinder_no for c in unit.cylinders if c.next_inspection_date
                       and c.next_inspection_date < yesterday and (not c.scrap_date or c.scrap_date > yesterday)]
            if expired:
                expired_fill = unit.uscc
                records.append(filling_record(unit.uscc, expired[0], moment, _filler(unit), 14.5, scale="秤1"))
        if n == 1 and records:  # another station: one re-weigh failed, yesterday morning
            moment = datetime.combine(yesterday, time(9, 41), tzinfo=BUSINESS_TIMEZONE)
            records.append(filling_record(unit.uscc, records[-1]["cylinder_no"], moment, _filler(unit), 15.2,
                                          scale="秤2", post_check_passed=False))
        planned.append(StationPlan(unit.uscc, tuple(records), skipped))
    return tuple(planned), expired_fill


def matters_for(unit: PlannedUnit) -> dict[str, str]:
    kinds = unit.enterprise.kinds
    for kind in ("gas_filling", "ropeway", "amusement_ride", "lifting", "elevator"):
        if kind in kinds:
            return MATTERS[kind]
    return MATTERS["general"]


def _task(rng: random.Random, unit: PlannedUnit, title: str) -> TaskPlan:
    matters = matters_for(unit)
    if rng.random() < SKIP_CHANCE[unit.tier]:
        return TaskPlan(unit.uscc, title, matters, submitted=False)
    failed = tuple(code for code in matters if rng.random() < FAIL_CHANCE[unit.tier] / 2)
    fate = {code: rng.choice(("rectified", "rectified", "evidence", "open")) for code in failed}
    return TaskPlan(unit.uscc, title, matters, submitted=True, failed=failed,
                    rectified=tuple(c for c in failed if fate[c] == "rectified"),
                    evidence_only=tuple(c for c in failed if fate[c] == "evidence"))


def _inspectors(unit: PlannedUnit, inspectors: dict[str, list[dict[str, str]]]) -> tuple[dict[str, str], ...]:
    grid = unit.enterprise.grid_code or ""
    found = inspectors.get(grid) or []
    fallback = [{"id": f"insp-{grid}-{n}", "name": name} for n, name in ((1, "张伟"), (2, "王军"))]
    return tuple((found + fallback)[:2]) if len(found) < 2 else tuple(found[:2])


def plan_city(units: list[PlannedUnit], today: date, now: datetime, *, seed: int = 371100,
              inspectors: dict[str, list[dict[str, str]]] | None = None) -> CityPlan:
    """Everything the demo does after the ledger, from the ledger as planned (pure)."""
    rng = random.Random(f"{seed}:city")
    inspectors = inspectors or {}
    stations = [u for u in units if u.is_filling and u.cylinders]
    others = [u for u in units if not u.is_filling]
    if not stations:
        raise ValueError("the demo city has no filling stations")
    d_station = next((u for u in stations if u.tier == "D"), stations[0])
    stations.sort(key=lambda u: u is not d_station)  # the D-grade station first
    missing = [d_station.uscc, *rng.sample([u.uscc for u in stations[1:]], min(MISSING_TODAY - 1,
                                                                                   len(stations) - 1))]
    planned_stations, expired_fill = _stations(rng, stations, today, now, set(missing))

    done_daily = tuple(u.uscc for u in stations if u.uscc not in missing)
    sampled = rng.sample(others, min(TASK_UNITS, len(others)))
    tasks = [_task(rng, u, "气瓶充装单位周排查") for u in stations]
    tasks += [_task(rng, u, "特种设备使用单位周排查") for u in sampled]
    tasks += [_task(rng, u, "电梯安全专项检查") for u in sampled if "elevator" in u.enterprise.kinds][:10]

    by_tier = {tier: [u for u in others if u.tier == tier] for tier in "ABCD"}
    patrols = [PatrolPlan(d_station.uscc, "onsite", _inspectors(d_station, inspectors),
                          fails={12: "当日充装记录未上传，充装前后检查记录不全", 11: "1只气瓶超期未检仍在充装"},
                          answers_alert=True, case_item=12, offence_code="SESL-85-1")]
    risky = (by_tier["D"] + by_tier["C"])[:2]
    for unit in risky:
        patrols.append(PatrolPlan(unit.uscc, "online", _inspectors(unit, inspectors),
                                  fails={5: "未见本年度应急演练记录"}, order_item=5))
    for unit in rng.sample(by_tier["A"] + by_tier["B"], min(PATROLS - len(patrols), len(others))):
        patrols.append(PatrolPlan(unit.uscc, "onsite", _inspectors(unit, inspectors)))

    public = [u for u in units if u.enterprise.venue_type != "other"] or others or stations
    ratings = []
    for n in range(RATINGS):
        unit = rng.choice(public)
        stars = {"A": 5, "B": 4, "C": 3, "D": 2}[unit.tier] - (1 if rng.random() < 0.3 else 0)
        comment = rng.choice((None, None, "电梯运行平稳，标识清楚", "工作人员很负责", "扶梯偶尔异响，希望检修",
                              "检验标志已过期，请尽快处理"))
        ratings.append(RatingPlan(unit.uscc, n % CITIZENS, max(stars, 1), comment, approve=rng.random() < 0.8))
    report_units = [d_station, *(by_tier["C"][:1] or stations[1:2]), *(by_tier["A"][:1] or others[:1])]
    texts = (("gas_filling", "gas_leak", "站内闻到明显液化气味，钢瓶堆放在路边"),
             ("", "expired_inspection", "电梯检验合格标志已过期两个月"),
             ("", "equipment_fault", "自动扶梯运行时有异响"))
    reports = [ReportPlan(unit.uscc, CITIZENS - 1 - n, category, text)
               for n, (unit, (_, category, text)) in enumerate(zip(report_units, texts, strict=False))]
    return CityPlan(stations=planned_stations, missing_today=tuple(missing), expired_fill=expired_fill,
                    cutoff_dates=tuple(today - timedelta(days=k) for k in range(CUTOFF_DAYS, -1, -1)),
                    daily_template_done=done_daily, tasks=tuple(tasks), patrols=tuple(patrols),
                    ratings=tuple(ratings), reports=tuple(reports[:REPORTS]), case_from_alert=expired_fill)
