"""Grade rules (§6): accident lock, ceiling, manual adjustment, credit repair eligibility."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.scoring.domain import (
    AccidentFact,
    GradePeriod,
    GradePolicy,
    HazardFact,
    ManagementFact,
    ManualAdjustment,
    check_repair_eligibility,
    decide_grade,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)


def at(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=SHANGHAI)


def accident(occurred: date, responsible: bool = True, accident_id: str = "acc1") -> AccidentFact:
    return AccidentFact(accident_id=accident_id, occurred_date=occurred, responsible=responsible,
                        severity="general", event_id=f"ev-{accident_id}")


def manual(grade: str, expires_on: date = TODAY + timedelta(days=30)) -> ManualAdjustment:
    return ManualAdjustment(grade=grade, reason="rectified on site", expires_on=expires_on, set_by="city-regulator-7")


def c_held_until(days_ago: int) -> list[GradePeriod]:
    return [GradePeriod(grade="C", from_date=date(2024, 1, 1), to_date=TODAY - timedelta(days=days_ago)),
            GradePeriod(grade="B", from_date=TODAY - timedelta(days=days_ago), to_date=None)]


def rules(decision) -> list[str]:
    return [r.rule for r in decision.reasons]


# --- no rule --------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", ["A", "B", "C", "D"])
def test_without_history_or_accident_the_raw_grade_holds(make_facts, raw):
    decision = decide_grade(raw, make_facts(), [], None, at(TODAY))
    assert (decision.grade, decision.raw_grade, decision.reasons) == (raw, raw, [])
    assert decision.locked_until is None and decision.ceiling_until is None


# --- accident lock --------------------------------------------------------------------------

@pytest.mark.parametrize(("occurred", "as_of_date", "grade", "locked_until"), [
    (date(2023, 6, 15), date(2026, 6, 14), "D", date(2026, 6, 15)),  # the day before 3 years
    (date(2023, 6, 15), date(2026, 6, 15), "A", None),  # 3 calendar years on: lifted
    (date(2023, 6, 15), date(2023, 6, 15), "D", date(2026, 6, 15)),  # the day itself
    (date(2024, 2, 29), date(2027, 2, 27), "D", date(2027, 2, 28)),  # Feb 29 -> Feb 28
    (date(2024, 2, 29), date(2027, 2, 28), "A", None),
    (date(2026, 6, 16), date(2026, 6, 15), "A", None),  # not happened yet
])
def test_accident_lock_for_3_calendar_years(make_facts, occurred, as_of_date, grade, locked_until):
    decision = decide_grade("A", make_facts(accidents=[accident(occurred)]), [], None, at(as_of_date))
    assert (decision.grade, decision.locked_until) == (grade, locked_until)
    assert ("accident_lock" in rules(decision)) is (grade == "D")


def test_accident_without_responsibility_does_not_lock(make_facts):
    facts = make_facts(accidents=[accident(TODAY - timedelta(days=10), responsible=False)])
    assert decide_grade("A", facts, [], None, at(TODAY)).grade == "A"


def test_latest_of_several_accidents_sets_the_lock(make_facts):
    facts = make_facts(accidents=[accident(date(2025, 1, 10), accident_id="a1"),
                                  accident(date(2024, 3, 1), accident_id="a2")])
    decision = decide_grade("B", facts, [], None, at(TODAY))
    assert decision.locked_until == date(2028, 1, 10)
    assert "a1" in decision.reasons[-1].detail


def test_accident_lock_follows_the_policy(make_facts):
    facts = make_facts(accidents=[accident(date(2025, 6, 15))])
    assert decide_grade("A", facts, [], None, at(TODAY), GradePolicy(accident_lock_years=1)).grade == "A"
    assert decide_grade("A", facts, [], None, at(TODAY), GradePolicy(accident_lock_years=2)).grade == "D"


# --- ceiling --------------------------------------------------------------------------------

@pytest.mark.parametrize(("days_ago", "grade", "ceiling_until"), [
    (0, "B", TODAY + timedelta(days=365)),
    (364, "B", TODAY + timedelta(days=1)),  # held C 364 days ago: inside the 365-day window
    (365, "A", None),
    (366, "A", None),
])
def test_ceiling_after_c_or_d_within_365_days(make_facts, days_ago, grade, ceiling_until):
    decision = decide_grade("A", make_facts(), c_held_until(days_ago), None, at(TODAY))
    assert (decision.grade, decision.ceiling_until) == (grade, ceiling_until)
    assert ("ceiling" in rules(decision)) is (grade == "B")


@pytest.mark.parametrize(("history_grade", "bounded"), [("C", True), ("D", True), ("B", False), ("A", False)])
def test_only_c_or_d_sets_the_ceiling(make_facts, history_grade, bounded):
    history = [GradePeriod(grade=history_grade, from_date=TODAY - timedelta(days=100), to_date=None)]
    assert decide_grade("A", make_facts(), history, None, at(TODAY)).grade == ("B" if bounded else "A")


@pytest.mark.parametrize("raw", ["B", "C", "D"])
def test_ceiling_leaves_b_c_d_unchanged(make_facts, raw):
    decision = decide_grade(raw, make_facts(), c_held_until(10), None, at(TODAY))
    assert decision.grade == raw
    assert "ceiling" not in rules(decision)


def test_a_period_that_starts_after_as_of_sets_no_ceiling(make_facts):
    history = [GradePeriod(grade="D", from_date=TODAY + timedelta(days=1))]
    assert decide_grade("A", make_facts(), history, None, at(TODAY)).grade == "A"


def test_grade_period_must_not_end_before_it_starts():
    with pytest.raises(ValueError, match="before from_date"):
        GradePeriod(grade="C", from_date=TODAY, to_date=TODAY - timedelta(days=1))


# --- manual adjustment ----------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "manual_grade", "history", "accidents", "grade", "expected_rules"), [
    ("A", "C", [], [], "C", ["manual_adjustment"]),  # worse is always allowed
    ("C", "A", [], [], "A", ["manual_adjustment"]),  # outside both locks
    ("C", "A", "ceiling", [], "B", ["manual_adjustment", "ceiling"]),  # ceiling beats the manual A
    ("C", "B", "ceiling", [], "B", ["manual_adjustment"]),
    ("A", "A", [], "accident", "D", ["manual_adjustment", "accident_lock"]),  # nothing moves the lock
    ("D", "A", "ceiling", "accident", "D", ["manual_adjustment", "ceiling", "accident_lock"]),
])
def test_manual_adjustment_within_the_locks(make_facts, raw, manual_grade, history, accidents, grade,
                                            expected_rules):
    facts = make_facts(accidents=[accident(TODAY - timedelta(days=100))] if accidents else [])
    decision = decide_grade(raw, facts, c_held_until(30) if history else [], manual(manual_grade), at(TODAY))
    assert decision.grade == grade
    assert decision.raw_grade == raw
    assert rules(decision) == expected_rules


def test_reasons_say_which_lock_beat_the_manual_grade(make_facts):
    facts = make_facts(accidents=[accident(TODAY - timedelta(days=100))])
    decision = decide_grade("A", facts, [], manual("A"), at(TODAY))
    lock = decision.reasons[-1]
    assert lock.rule == "accident_lock"
    assert "manual grade A overridden" in lock.detail
    ceiling = decide_grade("C", make_facts(), c_held_until(30), manual("A"), at(TODAY)).reasons[-1]
    assert "manual grade A lowered to B" in ceiling.detail


@pytest.mark.parametrize(("expires_in_days", "grade", "rule"), [
    (1, "A", "manual_adjustment"),
    (0, "A", "manual_adjustment"),  # applies through its expiry date
    (-1, "C", "manual_adjustment_expired"),
])
def test_manual_adjustment_expiry(make_facts, expires_in_days, grade, rule):
    adjustment = manual("A", expires_on=TODAY + timedelta(days=expires_in_days))
    decision = decide_grade("C", make_facts(), [], adjustment, at(TODAY))
    assert decision.grade == grade
    assert rules(decision) == [rule]


def test_manual_adjustment_needs_a_reason():
    with pytest.raises(ValueError):
        ManualAdjustment(grade="A", reason="", expires_on=TODAY, set_by="x")


def test_ceiling_best_grade_follows_the_policy(make_facts):
    decision = decide_grade("A", make_facts(), c_held_until(10), None, at(TODAY),
                            GradePolicy(ceiling_best_grade="C", ceiling_window_days=30))
    assert decision.grade == "C"
    assert decision.ceiling_until == TODAY + timedelta(days=20)


# --- credit repair eligibility --------------------------------------------------------------

def test_clean_enterprise_is_eligible(make_facts):
    assert check_repair_eligibility(make_facts(), at(TODAY)).model_dump() == {"eligible": True, "reasons": []}


@pytest.mark.parametrize(("occurred", "responsible", "eligible"), [
    (date(2024, 6, 15), True, False),
    (date(2023, 6, 16), False, False),  # any accident counts, responsible or not
    (date(2023, 6, 15), True, True),  # exactly 3 calendar years accident-free
    (date(2020, 1, 1), True, True),
])
def test_repair_needs_3_accident_free_years(make_facts, occurred, responsible, eligible):
    facts = make_facts(accidents=[accident(occurred, responsible)])
    result = check_repair_eligibility(facts, at(TODAY))
    assert result.eligible is eligible
    if not eligible:
        assert result.reasons == [f"accident acc1 on {occurred}: 3 accident-free years needed, "
                                  f"reached on {occurred.replace(year=occurred.year + 3)}"]


@pytest.mark.parametrize("key", ["safety_organization", "responsible_persons", "management_system"])
def test_repair_needs_three_in_place(make_facts, key):
    result = check_repair_eligibility(make_facts(management_changes={key: None}), at(TODAY))
    assert not result.eligible
    assert len(result.reasons) == 1 and result.reasons[0].startswith("三落实 not in place")


def test_repair_reads_three_in_place_after_patrol_override(make_facts, make_patrol):
    facts = make_facts(patrols=[make_patrol(days_ago=2, item2="fail")])
    result = check_repair_eligibility(facts, at(TODAY))
    assert result.reasons == ["三落实 not in place: responsible persons"]


def test_repair_ignores_three_on_duty(make_facts):
    facts = make_facts(management_changes={"training": ManagementFact(
        in_place=False, source="declared", as_of=at(TODAY - timedelta(days=1)), event_id="ev")})
    assert check_repair_eligibility(facts, at(TODAY)).eligible


@pytest.mark.parametrize(("deadline_in_days", "rectified_days_ago", "eligible"), [
    (10, None, False),  # open, even before its deadline
    (-10, None, False),
    (-10, 1, True),
    (-10, 0, True),
    (-10, -1, False),  # rectified only after as_of
])
def test_repair_needs_no_hazard_left_unrectified(make_facts, deadline_in_days, rectified_days_ago, eligible):
    hazard = HazardFact(hazard_id="h1", deadline_date=TODAY + timedelta(days=deadline_in_days),
                        rectified_date=None if rectified_days_ago is None
                        else TODAY - timedelta(days=rectified_days_ago), event_id="ev-h1")
    result = check_repair_eligibility(make_facts(hazards=[hazard]), at(TODAY))
    assert result.eligible is eligible
    assert any("hazard h1" in r for r in result.reasons) is not eligible


def test_repair_needs_no_open_order(make_facts):
    result = check_repair_eligibility(make_facts(), at(TODAY), open_orders=2)
    assert result.reasons == ["2 order(s) to correct not yet complied with"]
    with pytest.raises(ValueError):
        check_repair_eligibility(make_facts(), at(TODAY), open_orders=-1)


def test_repair_lists_every_reason(make_facts):
    facts = make_facts(
        accidents=[accident(TODAY - timedelta(days=5))],
        management_changes={"safety_organization": None},
        hazards=[HazardFact(hazard_id="h1", deadline_date=TODAY, event_id="ev-h1")],
    )
    result = check_repair_eligibility(facts, at(TODAY), open_orders=1)
    assert not result.eligible
    assert len(result.reasons) == 4
