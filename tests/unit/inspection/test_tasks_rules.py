"""The 五定 rules, template periods and hazard deadlines (services/inspection/domain/tasks.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.inspection.domain import tasks as rules
from services.inspection.domain.blobs import digest, sniff

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 6, 15)


def moment(hour: int, minute: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


TASK = rules.TaskFacts(window_start=moment(8), window_end=moment(18), fence=rules.Fence(35.42, 119.52, 200),
                       assignee=rules.Assignee("user", "alice"), scene=rules.Scene(None, "储罐区", True),
                       matters=["valve", "extinguisher"], policy={})
LIMITS = rules.Limits(grace=timedelta(hours=48), max_clock_skew=timedelta(minutes=5), max_gps_accuracy_m=100)


def sub(**changes) -> rules.SubmissionFacts:  # type: ignore[no-untyped-def]
    base = dict(device_time=moment(10), server_time=moment(10, 1), lat=35.42, lon=119.52, gps_accuracy_m=10,
                mock_location=False, submitted_by="alice", operator_id=None, equipment_id=None, spot="储罐区",
                photos=1, results={"valve": True, "extinguisher": False})
    base.update(changes)
    return rules.SubmissionFacts(**base)  # type: ignore[arg-type]


def codes(findings: list[rules.Finding]) -> list[str]:
    return [f.code for f in findings]


def test_a_clean_submission_passes_every_rule():
    judged = rules.judge(TASK, sub(), LIMITS)
    assert judged.accepted and judged.flagged == []


@pytest.mark.parametrize(("changes", "code", "field"), [
    (dict(device_time=moment(7, 59), server_time=moment(8)), "before_window", "device_time"),
    (dict(device_time=moment(18, 1), server_time=moment(18, 2)), "after_window", "device_time"),
    (dict(device_time=moment(10, 6), server_time=moment(10)), "clock_skew", "device_time"),
    (dict(server_time=moment(10, day=DAY + timedelta(days=3))), "past_grace", "device_time"),
    (dict(lat=35.43), "outside_fence", "location"),
    (dict(gps_accuracy_m=150), "gps_inaccurate", "gps_accuracy_m"),
    (dict(submitted_by="bob"), "wrong_assignee", "submitted_by"),
    (dict(spot="门口"), "wrong_scene", "spot"),
    (dict(photos=0), "photo_missing", "photos"),
    (dict(results={"valve": True}), "matter_missing", "results.extinguisher"),
])
def test_each_rule_names_its_code_and_field(changes, code, field):
    judged = rules.judge(TASK, sub(**changes), LIMITS)
    [finding] = judged.rejected
    assert (finding.code, finding.field) == (code, field) and finding.reason


def test_the_fence_allows_for_gps_accuracy_and_its_radius():
    # 0.002° of latitude is about 222 m: outside a 200 m fence, inside once a 30 m accuracy is allowed for
    assert codes(rules.judge(TASK, sub(lat=35.422, gps_accuracy_m=5), LIMITS).rejected) == ["outside_fence"]
    assert rules.judge(TASK, sub(lat=35.422, gps_accuracy_m=30), LIMITS).accepted
    assert 221 < rules.distance_m(35.42, 119.52, 35.422, 119.52) < 224


def test_the_policy_turns_a_rejection_into_a_flag_per_rule():
    flagged = rules.TaskFacts(**{**TASK.__dict__, "policy": {"location": "flag"}})
    judged = rules.judge(flagged, sub(lat=35.43, submitted_by="bob"), LIMITS)
    assert codes(judged.flagged) == ["outside_fence"] and codes(judged.rejected) == ["wrong_assignee"]


def test_mock_location_and_late_offline_always_flag():
    late = sub(server_time=moment(9, day=DAY + timedelta(days=1)), mock_location=True)
    judged = rules.judge(TASK, late, LIMITS)
    assert judged.accepted and sorted(codes(judged.flagged)) == ["late_offline", "mock_location"]


def test_unassigned_and_operator_assignees():
    unassigned = rules.TaskFacts(**{**TASK.__dict__, "assignee": None})
    assert codes(rules.judge(unassigned, sub(), LIMITS).rejected) == ["unassigned"]
    operator = rules.TaskFacts(**{**TASK.__dict__, "assignee": rules.Assignee("operator", "OP-1")})
    assert rules.judge(operator, sub(operator_id="OP-1", submitted_by="anyone"), LIMITS).accepted
    assert codes(rules.judge(operator, sub(operator_id="OP-2"), LIMITS).rejected) == ["wrong_assignee"]


@pytest.mark.parametrize(("cycle", "day", "key", "first", "last"), [
    ("daily", date(2026, 6, 15), "2026-06-15", date(2026, 6, 15), date(2026, 6, 15)),
    ("weekly", date(2026, 6, 17), "2026-W25", date(2026, 6, 15), date(2026, 6, 21)),
    ("weekly", date(2027, 1, 1), "2026-W53", date(2026, 12, 28), date(2027, 1, 3)),
    ("monthly", date(2026, 2, 10), "2026-02", date(2026, 2, 1), date(2026, 2, 28)),
    ("monthly", date(2026, 12, 31), "2026-12", date(2026, 12, 1), date(2026, 12, 31)),
])
def test_periods_of_recurring_templates(cycle, day, key, first, last):
    assert rules.period_of(cycle, day) == rules.Period(key, first, last)


def test_adhoc_templates_have_no_periods_and_night_windows_close_the_next_day():
    with pytest.raises(ValueError):
        rules.period_of("adhoc", DAY)
    period = rules.period_of("daily", DAY)
    assert rules.window_of(period, time(22), time(6), TZ) == (moment(22), moment(6, day=DAY + timedelta(days=1)))
    assert rules.window_of(period, time(8), time(18), TZ) == (moment(8), moment(18))


def test_hazard_deadlines_recheck_across_a_holiday_and_overdue():
    assert rules.rectification_deadline(DAY, "major", {"general": 7, "major": 30}) == date(2026, 7, 15)
    assert rules.recheck_due(date(2026, 9, 29)) == date(2026, 10, 19)  # National Day off, 10-10 a make-up day
    assert rules.recheck_due(date(2026, 3, 2)) == date(2026, 3, 16)  # two plain weeks
    assert rules.recheck_due(date(2026, 6, 15)) == date(2026, 6, 30)  # 端午 (06-19) off
    assert not rules.is_overdue(DAY, DAY, "open") and rules.is_overdue(DAY, DAY + timedelta(days=1), "open")
    assert not rules.is_overdue(DAY, DAY + timedelta(days=1), "evidence_submitted")


def test_photos_are_recognised_by_their_bytes():
    assert sniff(b"\xff\xd8\xff\xe0rest") == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\nrest") == "image/png"
    assert sniff(b"RIFF\0\0\0\0WEBPVP8 ") == "image/webp"
    assert sniff(b"GIF89a") is None and sniff(b"") is None
    assert digest(b"abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
