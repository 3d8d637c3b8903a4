"""The projection's pure mapping: event data → row values (provenance, revisions), rows → facts."""

from datetime import UTC, date, datetime

import pytest

from services.scoring.domain.projection import (
    EnterpriseRows,
    facts_from_rows,
    is_newer,
    management_values,
    profile_values,
)
from shared.contracts.registry import EnterpriseSnapshot, ManagementFactState

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
USCC = "91371102MA3C5K0X1Q"


def snapshot(revision: int = 1, **fields) -> EnterpriseSnapshot:  # type: ignore[no-untyped-def]
    data = {"uscc": USCC, "revision": revision, "name": "站", "jurisdiction_code": "371102", "venue_type": "other",
            "kinds": ["gas_filling"], "general_credit_grade": "B",
            "management": {"training": {"in_place": True, "source": "declared", "as_of": AT}}}
    data.update(fields)
    return EnterpriseSnapshot.model_validate(data)


@pytest.mark.parametrize(("revision", "held", "newer"), [(1, None, True), (1, 0, True), (2, 1, True), (1, 1, False),
                                                          (1, 2, False)])
def test_a_snapshot_applies_only_when_newer_than_the_one_held(revision, held, newer):
    assert is_newer(revision, held) is newer


def test_an_unchanged_management_fact_keeps_the_event_that_established_it():
    first = management_values(None, {"training": ManagementFactState(in_place=True, source="declared", as_of=AT)},
                              "ev-1")
    same = management_values(first, {"training": ManagementFactState(in_place=True, source="declared", as_of=AT)},
                             "ev-2")
    refuted = management_values(first, {"training": ManagementFactState(in_place=False, source="observed",
                                                                         as_of=AT)}, "ev-3")
    assert first["training"]["event_id"] == "ev-1"
    assert same["training"]["event_id"] == "ev-1"
    assert refuted["training"] == {"in_place": False, "source": "observed", "as_of": AT.isoformat(),
                                   "event_id": "ev-3"}


def test_a_naive_timestamp_is_read_as_utc():
    values = management_values(None, {"training": ManagementFactState(in_place=True, source="declared",
                                                                      as_of=datetime(2026, 3, 1, 9, 0))}, "ev")
    assert values["training"]["as_of"] == "2026-03-01T09:00:00+00:00"


def test_profile_evidence_moves_only_with_the_fields_it_stands_for():
    first = profile_values(snapshot(1), "ev-1", None)
    held = {**first, "revision": 1}
    renamed = profile_values(snapshot(2, name="新名"), "ev-2", held)
    regraded = profile_values(snapshot(3, general_credit_grade="D"), "ev-3", held)
    retyped = profile_values(snapshot(4, venue_type="mall"), "ev-4", held)

    assert (first["general_credit_event_id"], first["profile_event_id"], first["snapshot_event_id"]) == (
        "ev-1", "ev-1", "ev-1")
    assert (renamed["general_credit_event_id"], renamed["profile_event_id"], renamed["snapshot_event_id"]) == (
        "ev-1", "ev-1", "ev-2")
    assert (regraded["general_credit_event_id"], regraded["profile_event_id"]) == ("ev-3", "ev-1")
    assert (retyped["general_credit_event_id"], retyped["profile_event_id"]) == ("ev-1", "ev-4")


def test_a_placeholder_row_does_not_count_as_a_previous_snapshot():
    placeholder = {"revision": 0, "general_credit_grade": None, "general_credit_event_id": None,
                   "venue_type": "other", "kinds": [], "profile_event_id": None, "management": {}}
    values = profile_values(snapshot(1), "ev-1", placeholder)
    assert (values["general_credit_event_id"], values["management"]["training"]["event_id"]) == ("ev-1", "ev-1")


def test_rows_become_facts_with_raw_dates_parsed_and_placeholders_of_facts_left_out():
    profile = {**profile_values(snapshot(1), "ev-1", None), "revision": 1}
    rows = EnterpriseRows(
        profile=profile,
        equipment=[{"equipment_id": "E1", "category": "2300", "registered": False, "status": "in_use",
                    "next_inspection_due": "2026-05-01", "event_id": "ev-e"}],
        operators=[{"operator_id": "O1", "certificate_valid_until": None, "active": True, "event_id": "ev-o1"},
                   {"operator_id": "O2", "certificate_valid_until": None, "active": False, "event_id": "ev-o2"}],
        hazards=[{"hazard_id": "H1", "deadline_date": None, "rectified_date": date(2026, 2, 1),
                  "raised_event_id": None},
                 {"hazard_id": "H2", "deadline_date": "2026-02-01", "rectified_date": None, "raised_event_id": "ev-h"}],
        missing_days=[{"business_date": "2026-02-10", "event_id": "ev-m", "repair_id": "R1"}],
        patrols=[{"patrol_id": "P1", "patrolled_at": AT, "items": {"12": "fail"}, "event_id": "ev-p"}],
        cases=[{"case_id": "C1", "opened_date": date(2025, 1, 1), "repair_id": None, "event_id": "ev-c"}],
    )

    facts = facts_from_rows(rows)

    assert facts.equipment[0].next_inspection_due == date(2026, 5, 1) and not facts.equipment[0].registered
    assert [o.operator_id for o in facts.operators] == ["O1"], "inactive operators do not count"
    assert [h.hazard_id for h in facts.hazards] == ["H2"], "a rectification whose raise has not arrived waits"
    assert facts.missing_record_days[0].repaired and not facts.cases[0].repaired
    assert facts.patrols[0].items == {12: "fail"}
    assert facts.management["training"].as_of == AT
    assert (facts.general_credit_grade, facts.general_credit_event_id, facts.kinds) == ("B", "ev-1", ["gas_filling"])
