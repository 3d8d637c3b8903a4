"""The demo city is planned in pure functions: the same seed, day and moment give the same units
and the same records; another seed another city; and the plan holds what the demo shows."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time, timedelta

from services.demo.plan import CUTOFF_DAYS, RECORD_DAYS, plan_city
from services.registry.demo import GAS_FILLING_UNITS, city_tree, plan_ledger
from shared.locality import BUSINESS_TIMEZONE

TODAY = date(2026, 12, 1)
NOW = datetime.combine(TODAY, time(15, 30), tzinfo=BUSINESS_TIMEZONE)


def _city(seed: int, size: int = 120):  # type: ignore[no-untyped-def]
    grids, names = city_tree()
    units = plan_ledger(grids, names, TODAY, size, seed=seed)
    return units, plan_city(units, TODAY, NOW, seed=seed)


def test_the_same_seed_plans_the_same_city_and_another_seed_another() -> None:
    units, plan = _city(7)
    again_units, again = _city(7)
    assert [u.model_dump() for u in (x.enterprise for x in units)] == [u.enterprise.model_dump() for u in again_units]
    assert units == again_units and plan == again
    other_units, other = _city(8)
    assert {u.uscc for u in other_units} != {u.uscc for u in units}
    assert other.stations != plan.stations


def test_the_ledger_has_every_district_the_stations_and_a_mix_of_tiers() -> None:
    units, _ = _city(371100, size=400)
    assert len(units) == 400 and len({u.uscc for u in units}) == 400
    assert {u.enterprise.jurisdiction_code for u in units} == {"371102", "371103", "371121", "371122"}
    assert sum(u.is_filling for u in units) == GAS_FILLING_UNITS
    categories = {e.category for u in units for e in u.equipment}
    assert {"1000", "2100", "2300", "3000", "4000", "5000", "6000", "8000", "9000"} <= categories
    tiers = Counter(u.tier for u in units)
    assert set(tiers) == set("ABCD") and tiers["A"] > tiers["B"] > tiers["C"] >= tiers["D"]


def test_the_stations_upload_weeks_of_records_with_days_missing_and_a_few_missing_today() -> None:
    units, plan = _city(371100)
    by_uscc = {u.uscc: u for u in units}
    assert len(plan.stations) == GAS_FILLING_UNITS and len(plan.missing_today) == 3
    assert by_uscc[plan.missing_today[0]].tier == "D"  # the seed's D-grade station is one of them
    first_day = TODAY - timedelta(days=RECORD_DAYS)
    for station in plan.stations:
        days = {datetime.fromisoformat(r["filled_at"]).date() for r in station.records}
        window = {first_day + timedelta(days=k) for k in range(RECORD_DAYS)}
        assert days - {TODAY} == window - set(station.skipped_days)
        assert (TODAY in days) == (station.uscc not in plan.missing_today)
        assert all(datetime.fromisoformat(r["filled_at"]) < NOW for r in station.records)
        fillers = {o.certificate_no for o in by_uscc[station.uscc].operators if o.certificate_category == "P"}
        assert {r["operator_cert_no"] for r in station.records} <= fillers
    assert any(station.skipped_days for station in plan.stations)
    assert plan.cutoff_dates[-1] == TODAY and len(plan.cutoff_dates) == CUTOFF_DAYS + 1
    assert plan.expired_fill == plan.case_from_alert == plan.missing_today[0]


def test_the_plan_has_tasks_hazards_patrols_a_case_and_the_public() -> None:
    _, plan = _city(371100)
    assert any(t.failed for t in plan.tasks) and any(t.rectified for t in plan.tasks)
    assert any(not t.submitted for t in plan.tasks)
    assert {p.mode for p in plan.patrols} == {"online", "onsite"}
    assert all(len({i["id"] for i in p.inspectors}) == 2 for p in plan.patrols if p.mode == "onsite")
    assert sum(p.case_item is not None for p in plan.patrols) == 1
    assert plan.ratings and len(plan.reports) == 3
