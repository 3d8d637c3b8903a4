"""Pure helpers of the service: when the nightly pass runs, jurisdiction child nodes, monthly
trend points, grades held on a date, and model problems split into field errors."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from services.scoring.domain import grades_held_on, month_ends
from services.scoring.errors import model_invalid
from shared.locality import child_node
from shared.schedule import next_run_at

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("now", "expected"), [
    (datetime(2026, 6, 15, 1, 0, tzinfo=SHANGHAI), datetime(2026, 6, 15, 2, 30, tzinfo=SHANGHAI)),
    (datetime(2026, 6, 15, 2, 30, tzinfo=SHANGHAI), datetime(2026, 6, 16, 2, 30, tzinfo=SHANGHAI)),
    (datetime(2026, 6, 15, 20, 0, tzinfo=UTC), datetime(2026, 6, 17, 2, 30, tzinfo=SHANGHAI)),  # 04:00 on the 16th
    (datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI), datetime(2027, 1, 1, 2, 30, tzinfo=SHANGHAI)),
])
def test_the_nightly_pass_runs_next_at_the_configured_shanghai_time(now, expected):
    assert next_run_at(now, time(2, 30)) == expected


@pytest.mark.parametrize(("node", "code", "child"), [
    (None, "371102", "370000"),
    ("370000", "371102", "371100"),
    ("371100", "371102", "371102"),
    ("371100", "371102001", "371102"),
    ("371102", "371102001", "371102001"),
    ("371102", "371102", "371102"),
    ("371102001", "371102001002", "371102001002"),
])
def test_the_child_node_under_which_a_code_lies(node, code, child):
    assert child_node(node, code) == child


def test_month_ends_run_oldest_first_and_stop_at_today():
    assert month_ends(date(2026, 3, 10), 4) == [
        ("2025-12", date(2025, 12, 31)), ("2026-01", date(2026, 1, 31)), ("2026-02", date(2026, 2, 28)),
        ("2026-03", date(2026, 3, 10))]


def test_the_grade_held_on_a_day_is_the_period_that_started_last():
    periods = [
        {"id": 1, "uscc": "a", "grade": "C", "from_date": date(2026, 1, 1), "to_date": date(2026, 2, 1)},
        {"id": 2, "uscc": "a", "grade": "B", "from_date": date(2026, 2, 1), "to_date": None},
        {"id": 3, "uscc": "b", "grade": "D", "from_date": date(2026, 3, 1), "to_date": None},
    ]
    assert grades_held_on(periods, date(2026, 2, 1)) == {"A": 0, "B": 1, "C": 0, "D": 0, "total": 1}
    assert grades_held_on(periods, date(2026, 1, 15)) == {"A": 0, "B": 0, "C": 1, "D": 0, "total": 1}
    assert grades_held_on(periods, date(2026, 3, 1)) == {"A": 0, "B": 1, "C": 0, "D": 1, "total": 2}


def test_model_problems_become_field_errors():
    problem = model_invalid(["indicators[1].points: Input should be greater than or equal to 0",
                             "not valid YAML or JSON: mapping values are not allowed here"])
    assert problem.status == 422
    assert problem.errors == [
        {"field": "indicators[1].points", "message": "Input should be greater than or equal to 0"},
        {"field": "model", "message": "not valid YAML or JSON: mapping values are not allowed here"}]
