"""The supervision policy file (domain.md §7): supervision grades with key supervision, the visits
of a month by frequency and slot, sampling rates, working days, and the draw's edge cases."""

from __future__ import annotations

from datetime import date

import pytest

from services.enforcement.domain import sampling
from services.enforcement.domain.supervision import (
    Standing,
    SupervisionBook,
    SupervisionPolicyInvalid,
    load_supervision,
    parse_supervision_policy,
    sampling_rate,
    spread_month,
    supervision_grade,
    visits,
)
from shared.workdays import add_working_days

POLICY = load_supervision().in_effect(date(2026, 6, 15))
TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(("grade", "venue", "designated", "accidents", "expected"), [
    ("A", "other", False, (), "A"),
    (None, "other", False, (), "B"),  # not scored yet
    ("A", "school", False, (), "C"),
    ("B", "other", True, (), "C"),
    ("A", "other", False, (date(2023, 6, 16),), "C"),  # within 3 years
    ("A", "other", False, (date(2023, 6, 14),), "A"),  # older
    ("D", "hospital", False, (), "D"),  # key supervision never lowers a grade
])
def test_supervision_grade(grade, venue, designated, accidents, expected):
    found = supervision_grade(POLICY, Standing("X", grade, venue, designated, accidents), TODAY)
    assert found.grade == expected
    assert ("key supervision" in " ".join(found.reasons)) is (venue != "other" or designated or expected != grade
                                                             and grade is not None)


@pytest.mark.parametrize(("grade", "month", "expected"), [
    ("A", 6, []),
    ("C", 7, [("onsite", "Q2026-3"), ("online", "M2026-07")]),
    ("D", 6, [("onsite", "M2026-06"), ("online", "W2026-23"), ("online", "W2026-24"), ("online", "W2026-25"),
              ("online", "W2026-26"), ("online", "W2026-27")]),
    ("D", 2, [("onsite", "M2026-02"), ("online", "W2026-06"), ("online", "W2026-07"), ("online", "W2026-08"),
              ("online", "W2026-09")]),
])
def test_the_visits_of_a_month(grade, month, expected):
    assert [(v.mode, v.slot) for v in visits(POLICY, grade, "X", 2026, month)] == expected


def test_weekly_visits_are_due_on_sunday_and_past_ones_left_out_mid_month():
    found = visits(POLICY, "D", "X", 2026, 6, from_date=date(2026, 6, 22))
    assert [(v.slot, v.due_date) for v in found if v.mode == "online"] == [
        ("W2026-26", date(2026, 6, 28)), ("W2026-27", date(2026, 7, 5))]


def test_a_yearly_visit_is_planned_from_its_spread_month():
    uscc = "91371102MA3C5K0X1Q"
    month = spread_month(uscc)
    assert 1 <= month <= 12
    assert visits(POLICY, "B", uscc, 2026, month)[0].slot == "Y2026"
    if month > 1:
        assert visits(POLICY, "B", uscc, 2026, month - 1) == []


def test_sampling_rates_stay_within_the_policy():
    assert sampling_rate(POLICY, "A", None) == 0.05 and sampling_rate(POLICY, "B", 0.2) == 0.2
    with pytest.raises(ValueError, match="5%-20%"):
        sampling_rate(POLICY, "B", 0.04)
    with pytest.raises(ValueError, match="not sampled"):
        sampling_rate(POLICY, "C", 0.1)


def test_a_bad_policy_file_names_each_problem():
    with pytest.raises(SupervisionPolicyInvalid) as raised:
        parse_supervision_policy("version: x\neffective_from: 2026-01-01\nfrequencies: {A: {onsite: daily}}\n")
    assert any(p.startswith("frequencies.A") for p in raised.value.problems)
    assert any(p.startswith("unscored_as") for p in raised.value.problems)
    with pytest.raises(SupervisionPolicyInvalid):
        SupervisionBook([])


@pytest.mark.parametrize(("start", "expected"), [
    (date(2026, 9, 28), date(2026, 10, 16)),  # National Day 10/1-7 off, Saturday 10/10 worked
    (date(2026, 6, 15), date(2026, 6, 30)),  # 6/19 Dragon Boat Festival
    (date(2026, 12, 1), date(2026, 12, 15)),
])
def test_working_days(start, expected):
    assert add_working_days(start, 10) == expected


@pytest.mark.parametrize(("rate", "population", "size"), [
    ("0.05", 0, 0), ("0.05", 9, 0), ("0.05", 10, 1), ("0.05", 30, 2), ("0.2", 10, 2), ("0.125", 4, 1), ("0", 50, 0),
])
def test_the_sample_size_rounds_half_up_in_decimals(rate, population, size):
    assert sampling.sample_size(rate, population) == size


def test_a_draw_depends_on_the_seed_only_not_on_the_order_of_the_lists():
    units = {"A": [f"U{n:02d}" for n in range(40)]}
    people = [f"P{n}" for n in range(5)]
    one = sampling.draw("seed-1", units, {"A": "0.1"}, people, 2)
    assert one == sampling.draw("seed-1", {"A": list(reversed(units["A"]))}, {"A": "0.1"}, people[::-1], 2)
    assert one != sampling.draw("seed-2", units, {"A": "0.1"}, people, 2)
    assert len(one) == 4 and all(len(set(d.inspectors)) == 2 for d in one)
    with pytest.raises(ValueError, match="inspector list holds 1"):
        sampling.draw("s", units, {"A": "0.1"}, ["P1", "P1"], 2)
