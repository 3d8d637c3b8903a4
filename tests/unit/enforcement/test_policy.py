"""The alert policy file (domain.md §10): what each cause raises at each grade, whom to, and the
validation that refuses a bad file at start-up."""

from __future__ import annotations

from datetime import date

import pytest

from services.enforcement.domain.policy import PolicyBook, PolicyInvalid, load_policies, parse_policy

DEFAULT = load_policies().in_effect(date(2026, 6, 15))


@pytest.mark.parametrize(("kind", "grade", "action", "addressed_to", "closes"), [
    ("filling_records_missing", "A", "warning", "enterprise", True),
    ("filling_records_missing", "B", "warning", "enterprise", True),
    ("filling_records_missing", "C", "online_patrol", "grid_inspectors", False),
    ("filling_records_missing", "D", "onsite_enforcement", "grid_inspectors", False),
    ("filling_records_missing", None, "online_patrol", "grid_inspectors", False),
    ("expired_cylinder_filled", "A", "onsite_enforcement", "grid_inspectors", False),
    ("scrapped_cylinder_filled", "B", "onsite_enforcement", "grid_inspectors", False),
    ("accident", "A", "onsite_enforcement", "grid_inspectors", False),
    ("accident", None, "onsite_enforcement", "grid_inspectors", False),
    ("public_report", "C", "onsite_enforcement", "grid_inspectors", False),
    ("public_report", "D", "onsite_enforcement", "grid_inspectors", False),
    ("equipment_inspection_overdue", "B", "warning", "enterprise", False),
    ("operator_certificate_expired", "C", "online_patrol", "grid_inspectors", False),
    ("hazard_overdue", "D", "onsite_enforcement", "grid_inspectors", False),
    ("maintenance_lapsed", "A", "warning", "enterprise", False),
    ("filling_anomaly", "D", "onsite_enforcement", "grid_inspectors", False),
])
def test_the_default_policy_decides_as_domain_md_says(kind, grade, action, addressed_to, closes):
    decision = DEFAULT.decide(kind, grade)
    assert decision is not None
    assert (decision.action, decision.addressed_to) == (action, addressed_to)
    assert decision.closes_when_records_arrive is closes


@pytest.mark.parametrize("grade", ["A", "B", None])
def test_a_public_report_at_an_a_or_b_unit_raises_nothing(grade):
    assert DEFAULT.decide("public_report", grade) is None


def test_slas_of_the_default_policy():
    assert DEFAULT.actions["warning"].due.hours == 24
    assert DEFAULT.actions["online_patrol"].due.hours == 24
    assert DEFAULT.actions["onsite_enforcement"].due.end_of_day
    assert DEFAULT.escalation.top == "city"


MINIMAL = """
version: v{n}
effective_from: {day}
actions:
  warning: {{addressed_to: enterprise, due: {{hours: 24}}}}
  online_patrol: {{addressed_to: grid_inspectors, due: {{hours: 24}}}}
  onsite_enforcement: {{addressed_to: grid_inspectors, due: {{end_of_day: true}}}}
escalation: {{due: {{hours: 12}}}}
rules:
  accident: {{always: {action}}}
"""


def test_the_version_in_effect_is_the_latest_whose_date_passed():
    book = PolicyBook([parse_policy(MINIMAL.format(n=1, day="2026-01-01", action="onsite_enforcement")),
                       parse_policy(MINIMAL.format(n=2, day="2026-07-01", action="online_patrol"))])
    assert book.in_effect(date(2026, 6, 30)).version == "v1"
    assert book.in_effect(date(2026, 7, 1)).version == "v2"
    assert book.in_effect(date(2025, 1, 1)).version == "v1"
    assert book.in_effect(date(2026, 7, 1)).decide("accident", "A").action == "online_patrol"  # type: ignore[union-attr]


@pytest.mark.parametrize(("text", "field"), [
    (MINIMAL.format(n=1, day="2026-01-01", action="arrest"), "rules.accident.always"),
    (MINIMAL.format(n=1, day="not-a-date", action="warning"), "effective_from"),
    (MINIMAL.format(n=1, day="2026-01-01", action="warning").replace("accident:", "coffee:"), "unknown alert kinds"),
    (MINIMAL.format(n=1, day="2026-01-01", action="warning").replace("  warning: {addressed_to: enterprise, "
                                                                     "due: {hours: 24}}\n", ""), "missing"),
    (MINIMAL.format(n=1, day="2026-01-01", action="warning").replace("{hours: 12}", "{hours: 12, end_of_day: true}"),
     "escalation.due"),
    ("- just a list", "file"),
    ("version: [", "not YAML"),
])
def test_a_bad_policy_file_is_refused_with_its_field_named(text, field):
    with pytest.raises(PolicyInvalid) as refused:
        parse_policy(text)
    assert any(field in p for p in refused.value.problems), refused.value.problems


def test_two_versions_on_one_date_are_refused(tmp_path):
    for n in (1, 2):
        (tmp_path / f"p{n}.yaml").write_text(MINIMAL.format(n=n, day="2026-01-01", action="warning"))
    with pytest.raises(PolicyInvalid, match="same date"):
        load_policies(tmp_path)
    with pytest.raises(PolicyInvalid, match="no alert policy"):
        load_policies(tmp_path / "empty")
