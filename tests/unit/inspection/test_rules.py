"""Anomaly rules, the cut-off selection, closed-day rules, maintenance intervals and working
days (2026's holidays and make-up days), table-driven."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.inspection.domain import anomalies, closures, cutoff, maintenance
from services.inspection.domain.records import records_hash, rejection
from shared.workdays import add_working_days, is_working_day, working_days_between

SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 6, 15)


def moment(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SH)


def kinds(**overrides) -> list[str]:  # type: ignore[no-untyped-def]
    args = {"cylinder_no": "C1", "filled_at": moment(10), "pre_check_passed": True, "post_check_passed": True,
            "operator_cert_no": "P1", "cylinder": anomalies.CylinderFacts(date(2027, 1, 1), date(2030, 1, 1)),
            "operator": anomalies.OperatorFacts(date(2027, 1, 1))}
    args.update(overrides)
    return [a.kind for a in anomalies.record_anomalies(**args)]


@pytest.mark.parametrize(("overrides", "expected"), [
    ({}, []),
    ({"cylinder": None}, ["unknown_cylinder"]),
    ({"cylinder": anomalies.CylinderFacts(date(2026, 6, 14), None)}, ["expired_cylinder"]),
    ({"cylinder": anomalies.CylinderFacts(DAY, DAY)}, []),
    ({"cylinder": anomalies.CylinderFacts(None, date(2026, 6, 14))}, ["scrapped_cylinder"]),
    ({"cylinder": anomalies.CylinderFacts(None, None, scrapped=True)}, ["scrapped_cylinder"]),
    ({"filled_at": moment(4, 59)}, ["night_fill"]),
    ({"filled_at": moment(5, 0)}, []),
    ({"filled_at": datetime(2026, 6, 14, 16, 30, tzinfo=ZoneInfo("UTC"))}, ["night_fill"]),  # 00:30 in Shanghai
    ({"pre_check_passed": False, "post_check_passed": False}, ["failed_pre_check", "failed_post_check"]),
    ({"operator_cert_no": None}, ["operator_uncertified"]),
    ({"operator": None}, ["operator_uncertified"]),
    ({"operator": anomalies.OperatorFacts(date(2026, 6, 14))}, ["operator_uncertified"]),
    ({"operator": anomalies.OperatorFacts(date(2027, 1, 1), active=False)}, ["operator_uncertified"]),
    ({"filled_at": moment(1), "cylinder": anomalies.CylinderFacts(date(2026, 1, 1), None)},
     ["expired_cylinder", "night_fill"]),
])
def test_anomalies(overrides, expected):
    assert kinds(**overrides) == expected


def test_serious_anomalies_come_first():
    found = anomalies.record_anomalies(cylinder_no="C", filled_at=moment(2), pre_check_passed=False,
                                       post_check_passed=True, operator_cert_no=None,
                                       cylinder=anomalies.CylinderFacts(None, date(2020, 1, 1)), operator=None)
    assert [a.severity for a in found][0] == "serious"


def test_rejections():
    now = moment(12)
    from datetime import timedelta

    skew = timedelta(minutes=10)
    assert rejection(known_enterprise=True, filled_at=moment(12, 9), filled_mass_kg=14.5, now=now,
                     max_skew=skew) is None
    assert rejection(known_enterprise=True, filled_at=moment(12, 11), filled_mass_kg=14.5, now=now,
                     max_skew=skew)[0] == "filled_at"
    assert rejection(known_enterprise=False, filled_at=moment(9), filled_mass_kg=14.5, now=now,
                     max_skew=skew)[0] == "enterprise_uscc"
    assert rejection(known_enterprise=True, filled_at=moment(9), filled_mass_kg=14.5, now=now, max_skew=skew,
                     cylinder_no="  ")[0] == "cylinder_no"
    for mass in (0, -1, 2000.5):
        assert rejection(known_enterprise=True, filled_at=moment(9), filled_mass_kg=mass, now=now,
                         max_skew=skew)[0] == "filled_mass_kg"


def test_the_records_hash_depends_on_every_sealed_field_and_the_order():
    row = {"id": 1, "enterprise_uscc": "U" * 18, "cylinder_no": "C1", "medium": "LPG", "filled_at": moment(9),
           "pre_check_passed": True, "post_check_passed": True, "operator_cert_no": "P", "checker_cert_no": None,
           "filled_mass_kg": 14.5, "scale_id": None}
    other = {**row, "id": 2, "cylinder_no": "C2"}
    base = records_hash([row, other])
    assert records_hash([other, row]) != base
    for field, value in [("filled_mass_kg", 14.6), ("post_check_passed", False), ("filled_at", moment(9, 1)),
                         ("operator_cert_no", None), ("id", 3)]:
        assert records_hash([{**row, field: value}, other]) != base


@pytest.mark.parametrize(("unit", "owes"), [
    (cutoff.Unit("A", ("gas_filling",), True, DAY), True),
    (cutoff.Unit("A", ("gas_filling", "elevator"), True, None), True),
    (cutoff.Unit("A", ("elevator",), True, DAY), False),
    (cutoff.Unit("A", ("gas_filling",), False, DAY), False),
    (cutoff.Unit("A", ("gas_filling",), True, date(2026, 6, 16)), False),
])
def test_who_owes_records(unit, owes):
    assert cutoff.owes_records(unit, DAY) is owes


def test_missing_units_leave_out_those_with_records_or_closed():
    units = [cutoff.Unit(u, ("gas_filling",), True, DAY) for u in "DCBA"]
    assert cutoff.missing_units(units, DAY, with_records={"B"}, closed={"C"}) == ["A", "D"]


BY_CITY = {"371100": time(20, 0), "370100": time(21, 0), "371300": time(22, 30)}


@pytest.mark.parametrize(("code", "expected"), [
    ("371102", time(20)), ("371102001", time(20)), ("371100", time(20)), ("370102", time(21)),
    ("371302", time(22, 30)), ("440305", time(21)), ("370000", time(21)), (None, time(21)),
])
def test_each_unit_is_cut_off_at_its_citys_time(code, expected):
    assert cutoff.cutoff_time_for(code, time(21), BY_CITY) == expected


def test_every_unit_falls_in_exactly_one_group_by_its_citys_time():
    groups = cutoff.cutoff_groups(time(21), BY_CITY)
    assert [(g.at, g.coverage.within, g.coverage.outside) for g in groups] == [
        (time(20), ("3711",), ()), (time(21), (), ("3711", "3713")), (time(22, 30), ("3713",), ())]
    for code in ("371102", "370102", "371302", "440305", "371100001002"):
        assert [g.at for g in groups if g.coverage.covers(code)] == [cutoff.cutoff_time_for(code, time(21), BY_CITY)]
    assert [g.at for g in cutoff.cutoff_groups(time(21), {})] == [time(21)]


def test_the_schedule_runs_each_group_once_per_day_and_keeps_a_failed_run_due_past_midnight():
    groups = cutoff.cutoff_groups(time(21), {"371100": time(20)})
    schedule = cutoff.CutoffSchedule(groups, started=moment(20, 30))  # started after 20:00: not owed today
    assert schedule.due(moment(20, 59)) == [] and schedule.next_at(moment(20, 30)) == moment(21)
    [(group, day)] = schedule.due(moment(21, 0))
    assert (group.at, day) == (time(21), DAY)
    schedule.mark_done(group, day)
    assert schedule.due(moment(23)) == [] and schedule.next_at(moment(23)) == moment(20, day=date(2026, 6, 16))
    tomorrow = date(2026, 6, 16)
    due = schedule.due(moment(21, 30, tomorrow))
    assert [(g.at, d) for g, d in due] == [(time(20), tomorrow), (time(21), tomorrow)]
    # the 21:00 run of the 16th fails; at 00:40 on the 17th it is still owed, for the 16th
    schedule.mark_done(groups[0], tomorrow)
    assert [(g.at, d) for g, d in schedule.due(moment(0, 40, date(2026, 6, 17)))] == [(time(21), tomorrow)]


@pytest.mark.parametrize(("day", "now", "refused"), [
    (date(2026, 6, 16), moment(12), False),
    (DAY, moment(20, 59), False),
    (DAY, moment(21, 0), True),
    (date(2026, 6, 14), moment(8), True),
    (date(2027, 6, 17), moment(8), True),
])
def test_enterprises_declare_ahead_of_the_cutoff(day, now, refused):
    assert (closures.enterprise_may_declare(day, now, time(21)) is not None) is refused


def test_regulators_record_after_the_fact_and_only_they_cancel_theirs():
    assert closures.regulator_may_record(date(2026, 1, 1), DAY) is None
    assert closures.regulator_may_record(date(2024, 1, 1), DAY) is not None
    assert closures.enterprise_may_cancel("regulator", date(2026, 6, 20), moment(8), time(21)) is not None
    assert closures.enterprise_may_cancel("enterprise", date(2026, 6, 20), moment(8), time(21)) is None


def test_the_maintenance_policy_and_lapses():
    policy = maintenance.MaintenancePolicy.parse({"version": "t", "intervals": [
        {"category": "3000", "days": 15}, {"category": "3300", "days": 30}]})
    assert (policy.interval_days("3110"), policy.interval_days("3300"), policy.interval_days("2300")) == (15, 30, None)
    due = maintenance.due_date(date(2026, 6, 1), date(2026, 1, 1), 15)
    assert due == date(2026, 6, 16)
    assert not maintenance.lapsed(due, date(2026, 6, 16)) and maintenance.lapsed(due, date(2026, 6, 17))
    assert maintenance.due_date(None, date(2026, 6, 1), 15) == date(2026, 6, 16)
    for bad in ([], {"version": "x", "intervals": [{"category": "9999", "days": 1}]},
                {"version": "x", "intervals": [{"category": "3000", "days": 0}]},
                {"version": "", "intervals": []},
                {"version": "x", "intervals": [{"category": "3000", "days": 1}, {"category": "3000", "days": 2}]}):
        with pytest.raises(maintenance.PolicyInvalid):
            maintenance.MaintenancePolicy.parse(bad)


def test_the_shipped_policy_has_lifts_every_15_days():
    import yaml

    from services.inspection.config import DEFAULT_MAINTENANCE_POLICY

    policy = maintenance.MaintenancePolicy.parse(yaml.safe_load(DEFAULT_MAINTENANCE_POLICY.read_text()))
    assert policy.interval_days("3110") == 15


@pytest.mark.parametrize(("day", "working"), [
    (date(2026, 1, 1), False),   # 元旦
    (date(2026, 1, 4), True),    # Sunday, 调休 working day
    (date(2026, 2, 14), True),   # Saturday, 调休 before 春节
    (date(2026, 2, 16), False),  # 春节
    (date(2026, 2, 23), False),  # 春节 (Monday)
    (date(2026, 2, 28), True),   # Saturday, 调休 after 春节
    (date(2026, 5, 1), False),   # 劳动节
    (date(2026, 5, 9), True),    # Saturday, 调休
    (date(2026, 10, 1), False),  # 国庆节
    (date(2026, 10, 10), True),  # Saturday, 调休
    (date(2026, 6, 13), False),  # an ordinary Saturday
    (date(2026, 6, 15), True),   # an ordinary Monday
])
def test_working_days_of_2026(day, working):
    assert is_working_day(day) is working


@pytest.mark.parametrize(("start", "n", "expected"), [
    (date(2026, 6, 15), 0, date(2026, 6, 15)),
    (date(2026, 6, 12), 1, date(2026, 6, 15)),            # Friday + 1 → Monday
    (date(2026, 6, 15), 10, date(2026, 6, 30)),           # two weeks, 端午 (Friday 6/19) off
    (date(2026, 2, 12), 2, date(2026, 2, 14)),            # Thu → Fri, then the make-up Saturday
    (date(2026, 2, 14), 1, date(2026, 2, 24)),            # across 春节 (2/15-2/23 off)
    (date(2026, 9, 30), 1, date(2026, 10, 8)),            # across 国庆 (10/1-10/7 off)
    (date(2026, 10, 9), 1, date(2026, 10, 10)),           # the make-up Saturday counts
    (date(2026, 9, 19), 1, date(2026, 9, 20)),            # the make-up Sunday before 国庆
    (date(2026, 6, 15), -1, date(2026, 6, 12)),
])
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_working_days_between():
    assert working_days_between(date(2026, 2, 13), date(2026, 2, 24)) == 2  # 2/14 and 2/24
    assert working_days_between(date(2026, 6, 15), date(2026, 6, 15)) == 0
