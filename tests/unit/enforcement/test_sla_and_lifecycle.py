"""SLA deadlines, escalation targets up the jurisdiction tree, and the alert lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from services.enforcement.domain.lifecycle import InvalidTransition, transition
from services.enforcement.domain.policy import Due
from services.enforcement.domain.sla import due_at, escalation_target, first_responsible, is_overdue

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_due_after_hours_and_at_the_end_of_the_business_day():
    raised = datetime(2026, 6, 15, 21, 30, tzinfo=SHANGHAI)
    assert due_at(Due(hours=24), raised) == datetime(2026, 6, 16, 21, 30, tzinfo=SHANGHAI)
    assert due_at(Due(end_of_day=True), raised) == datetime(2026, 6, 16, 0, 0, tzinfo=SHANGHAI)
    # 17:00 UTC is 01:00 the next day in Shanghai: that business day ends at its midnight
    assert due_at(Due(end_of_day=True), datetime(2026, 6, 15, 17, 0, tzinfo=UTC)) == datetime(
        2026, 6, 17, 0, 0, tzinfo=SHANGHAI)
    assert is_overdue(raised, raised) and not is_overdue(None, raised)


@pytest.mark.parametrize(("node", "top", "target"), [
    ("371102003001", "city", "371102003"),
    ("371102003", "city", "371102"),
    ("371102", "city", "371100"),
    ("371100", "city", None),
    ("371102", "district", None),
    ("371102003", "district", "371102"),
    ("371100", "province", "370000"),
    (None, "city", None),
    ("nonsense", "city", None),
])
def test_escalation_goes_up_the_tree_until_the_top(node, top, target):
    assert escalation_target(node, top) == target


def test_an_alert_is_first_addressed_to_the_grid_else_the_jurisdiction():
    assert first_responsible("371102003001", "371102") == "371102003001"
    assert first_responsible(None, "371102") == "371102"
    assert first_responsible(None, None) is None


@pytest.mark.parametrize(("status", "verb", "after"), [
    ("raised", "dispatch", "dispatched"),
    ("dispatched", "dispatch", "dispatched"),
    ("acknowledged", "dispatch", "dispatched"),
    ("escalated", "dispatch", "dispatched"),
    ("raised", "acknowledge", "acknowledged"),
    ("dispatched", "acknowledge", "acknowledged"),
    ("escalated", "acknowledge", "acknowledged"),
    ("raised", "resolve", "resolved"),
    ("acknowledged", "resolve", "resolved"),
    ("dispatched", "escalate", "escalated"),
    ("acknowledged", "escalate", "escalated"),
])
def test_allowed_transitions(status, verb, after):
    assert transition(status, verb) == after


@pytest.mark.parametrize(("status", "verb"), [
    ("resolved", "dispatch"), ("resolved", "acknowledge"), ("resolved", "resolve"), ("resolved", "escalate"),
    ("acknowledged", "acknowledge"),
])
def test_invalid_transitions(status, verb):
    with pytest.raises(InvalidTransition, match=f"is {status}"):
        transition(status, verb)
