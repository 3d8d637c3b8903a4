"""The pure step of a rescoring: rows → score → grade rules → stored content, and its fingerprint."""

import json
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from services.scoring.domain import EnterpriseRows, default_model
from services.scoring.domain.evaluation import as_date, evaluate

AS_OF = datetime.combine(date(2026, 6, 15), time(12), tzinfo=ZoneInfo("Asia/Shanghai"))


def rows(**fields) -> EnterpriseRows:  # type: ignore[no-untyped-def]
    profile = {"uscc": "91371102MA3C5K0X1Q", "jurisdiction_code": "371102", "general_credit_grade": "C",
               "venue_type": "other", "kinds": [], "management": {}, "key_supervision": True,
               "general_credit_event_id": "ev-credit", "profile_event_id": "ev-profile"}
    return EnterpriseRows(profile=profile, **fields)


def test_a_first_scoring_stores_the_explanation_without_labels():
    [scored] = evaluate({"X": rows()}, default_model(), AS_OF)

    explanation = json.loads(scored.content["explanation"])
    assert (scored.content["score"], scored.content["grade"], scored.content["key_supervision"]) == (36.0, "B", True)
    assert explanation["breakdown"][0] == {"indicator": "G0.general_credit_grade", "group": "G0", "points": 7.0,
                                           "evidence": ["ev-credit"],
                                           "detail": "general credit grade C (national classification)"}
    assert "label_zh" not in scored.content["explanation"]
    assert (scored.held_grade, scored.grade_changed, scored.unchanged) == (None, True, False)


def test_the_grade_rules_read_the_periods_and_the_adjustment_not_lifted():
    held = {"grade": "D", "fingerprint": "x", "grade_since": "2026-05-01", "revision": 3}
    [scored] = evaluate({"X": rows(
        score=[held],
        periods=[{"grade": "D", "from_date": "2026-05-01", "to_date": None}],
        adjustments=[{"id": "a1", "grade": "A", "reason": "older", "expires_on": "2026-12-31", "set_by": "u",
                      "set_at": datetime(2026, 6, 1, tzinfo=ZoneInfo("UTC"))},
                     {"id": "a2", "grade": "A", "reason": "newer", "expires_on": "2026-12-31", "set_by": "u",
                      "set_at": datetime(2026, 6, 2, tzinfo=ZoneInfo("UTC"))}],
    )}, default_model(), AS_OF)

    rules = json.loads(scored.content["explanation"])["rules"]
    assert [r["rule"] for r in rules] == ["manual_adjustment", "ceiling"]
    assert "newer" in rules[0]["detail"]
    assert (scored.content["grade"], scored.content["ceiling_until"]) == ("B", date(2027, 6, 15))
    assert (scored.held_grade_since, scored.held_revision) == (date(2026, 5, 1), 3)


def test_the_fingerprint_tells_an_unchanged_score():
    [first] = evaluate({"X": rows()}, default_model(), AS_OF)
    held = {"grade": first.content["grade"], "fingerprint": first.fingerprint, "grade_since": date(2026, 1, 1),
            "revision": 1}
    [again] = evaluate({"X": rows(score=[held])}, default_model(), AS_OF)
    [moved] = evaluate({"X": rows(score=[held], missing_days=[
        {"business_date": "2026-06-14", "event_id": "ev-m", "repair_id": None}])}, default_model(), AS_OF)
    assert again.unchanged and not moved.unchanged
    assert as_date("2026-06-14") == as_date(date(2026, 6, 14)) == date(2026, 6, 14)
