"""compute_score with the default model rizhao-2026.1: every indicator, cap, window and band."""

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest

from services.scoring.domain import (
    CaseFact,
    EquipmentFact,
    HazardFact,
    ManagementFact,
    MissingRecordsDayFact,
    OperatorFact,
    PenaltyFact,
    SelfInspectionTaskFact,
    parse_model,
)

TODAY = date(2026, 6, 15)


def ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def unit(equipment_id="u1", category="2300", registered=True, status="in_use", due_in_days=100):
    due = None if due_in_days is None else TODAY + timedelta(days=due_in_days)
    return EquipmentFact(equipment_id=equipment_id, category=category, registered=registered, status=status,
                         next_inspection_due=due, event_id=f"ev-{equipment_id}")


def missing_day(days_ago: int, event_id: str | None = None, repaired: bool = False):
    return MissingRecordsDayFact(business_date=ago(days_ago), event_id=event_id or f"ev-miss-{days_ago}",
                                 repaired=repaired)


# --- baseline and headline ------------------------------------------------------------------

def test_clean_enterprise_scores_zero(make_facts, score, model):
    result = score(make_facts())
    assert result.score == 0
    assert result.raw_grade == "A"
    assert result.breakdown == []
    assert [g.group for g in result.groups] == [g.id for g in model.groups]
    assert all(g.points == 0 and not g.capped for g in result.groups)
    assert result.model_version == "rizhao-2026.1"


def test_headline_gas_filling_station_with_one_missing_day_scores_9_grade_a(make_facts, score, line):
    facts = make_facts(general_credit_grade="B", kinds=["gas_filling"], equipment=[unit()],
                       missing_record_days=[missing_day(0, "ev-missing-1")])
    result = score(facts)
    assert result.score == 9
    assert result.raw_grade == "A"
    assert {(bl.indicator, bl.points) for bl in result.breakdown} == {
        ("G0.general_credit_grade", 3), ("G4.inherently_hazardous_kind", 3), ("G5.missing_filling_records", 3)}
    assert line(result, "G5.missing_filling_records").evidence == ["ev-missing-1"]
    assert line(result, "G0.general_credit_grade").evidence == ["ev-credit"]
    assert line(result, "G5.missing_filling_records").label_zh == "一记录：近90日气瓶充装记录缺失"


def test_a_neglectful_filling_station_scores_d(make_facts, score):
    facts = make_facts(
        general_credit_grade="D", kinds=["gas_filling"], venue_type="station",
        management_changes={"safety_organization": None, "management_system": None, "training": None},
        equipment=[unit("u1", registered=False), unit("u2", due_in_days=-10)],
        operators=[OperatorFact(operator_id="o1", certificate_valid_until=None, event_id="ev-o1")],
        missing_record_days=[missing_day(n) for n in (1, 2, 3)],
        cases=[CaseFact(case_id="c1", opened_date=ago(30), event_id="ev-c1")],
        penalties=[PenaltyFact(penalty_id="p1", decided_date=ago(20), event_id="ev-p1")],
    )
    result = score(facts)
    # G0 10 + G1 10 + G2 10 + G3 0 + G4 20 + G5 11 + G6 10
    assert result.score == 71
    assert result.raw_grade == "D"


def test_naive_as_of_is_refused(make_facts, score):
    with pytest.raises(ValueError, match="timezone"):
        score(make_facts(), at=datetime(2026, 6, 15, 12, 0))


def test_business_date_is_taken_in_shanghai(make_facts, score, points):
    # 2026-06-14 17:00 UTC is 2026-06-15 01:00 in Shanghai: windows are measured from 06-15.
    utc_evening = datetime(2026, 6, 14, 17, 0, tzinfo=UTC)
    facts = make_facts(missing_record_days=[missing_day(0)])  # dated 2026-06-15
    assert points(score(facts, at=utc_evening), "G5.missing_filling_records") == 3
    facts = make_facts(missing_record_days=[missing_day(90)])  # 90 days before 06-15, 89 before 06-14
    assert points(score(facts, at=utc_evening), "G5.missing_filling_records") == 0


# --- G0 general credit ----------------------------------------------------------------------

@pytest.mark.parametrize(("grade", "expected"), [("A", 0), ("B", 3), ("C", 7), ("D", 10), (None, 3)])
def test_general_credit_grade_points(make_facts, score, points, grade, expected):
    result = score(make_facts(general_credit_grade=grade))
    assert points(result, "G0.general_credit_grade") == expected
    assert result.score == expected


# --- management facts: G1 三落实, G3 双机制, G5 三到位 ------------------------------------------

MANAGEMENT_INDICATORS = [
    ("safety_organization", "G1.safety_organization_missing", 5),
    ("responsible_persons", "G1.responsible_persons_missing", 5),
    ("management_system", "G1.management_system_missing", 5),
    ("risk_control_mechanism", "G3.risk_control_mechanism_missing", 4),
    ("hazard_investigation_mechanism", "G3.hazard_investigation_mechanism_missing", 4),
    ("emergency_plan", "G5.emergency_plan_missing", 2),
    ("emergency_drills", "G5.emergency_drills_missing", 2),
    ("training", "G5.training_missing", 2),
]


@pytest.mark.parametrize(("key", "indicator", "expected"), MANAGEMENT_INDICATORS)
def test_never_declared_management_fact_counts_as_missing(make_facts, score, line, key, indicator, expected):
    result = score(make_facts(management_changes={key: None}))
    missing = line(result, indicator)
    assert missing.points == expected
    assert missing.evidence == []
    assert "never declared nor observed" in missing.detail
    assert result.score == expected


@pytest.mark.parametrize(("key", "indicator", "expected"), MANAGEMENT_INDICATORS)
def test_declared_not_in_place_scores_with_its_event(make_facts, score, line, as_of, key, indicator, expected):
    fact = ManagementFact(in_place=False, source="declared", as_of=as_of - timedelta(days=3), event_id="ev-decl")
    missing = line(score(make_facts(management_changes={key: fact})), indicator)
    assert (missing.points, missing.evidence) == (expected, ["ev-decl"])


# --- patrol override of management facts ----------------------------------------------------

def _declared(in_place: bool, days_ago: int, event_id: str = "ev-decl") -> ManagementFact:
    at = datetime.combine(ago(days_ago), time(10, 0), tzinfo=timezone(timedelta(hours=8)))
    return ManagementFact(in_place=in_place, source="declared", as_of=at, event_id=event_id)


@pytest.mark.parametrize(
    ("declared", "patrols", "expected_points", "expected_evidence"),
    [
        # a later patrol fail overrides an in-place declaration
        (_declared(True, 10), [(5, "fail")], 5, ["ev-patrol-5"]),
        # a later patrol pass overrides a not-in-place declaration
        (_declared(False, 10), [(5, "pass")], 0, []),
        # an earlier patrol does not override a later declaration
        (_declared(True, 5), [(10, "fail")], 0, []),
        (_declared(False, 5), [(10, "pass")], 5, ["ev-decl"]),
        # "na" observes nothing: the earlier fail stands
        (_declared(True, 20), [(10, "fail"), (5, "na")], 5, ["ev-patrol-10"]),
        # the latest marking patrol wins among patrols
        (_declared(True, 20), [(10, "fail"), (5, "pass")], 0, []),
        # never declared, observed in place by a patrol
        (None, [(5, "pass")], 0, []),
        # a patrol older than the findings window still observes the management fact
        (_declared(True, 600), [(400, "fail")], 5, ["ev-patrol-400"]),
        # a patrol after as_of has not happened yet
        (_declared(True, 10), [(-1, "fail")], 0, []),
    ],
)
def test_latest_observation_of_a_management_fact_wins(make_facts, make_patrol, score, points, line,
                                                       declared, patrols, expected_points, expected_evidence):
    facts = make_facts(
        management_changes={"safety_organization": declared},
        patrols=[make_patrol(days_ago=d, event_id=f"ev-patrol-{d}", item1=mark) for d, mark in patrols],
    )
    result = score(facts)
    assert points(result, "G1.safety_organization_missing") == expected_points
    if expected_points:
        assert line(result, "G1.safety_organization_missing").evidence == expected_evidence


def test_declaration_and_patrol_at_the_same_instant_keep_the_declaration(make_facts, make_patrol, score, points):
    patrol = make_patrol(days_ago=5, item1="fail")
    declared = ManagementFact(in_place=True, source="declared", as_of=patrol.patrolled_at, event_id="ev-decl")
    result = score(make_facts(management_changes={"safety_organization": declared}, patrols=[patrol]))
    assert points(result, "G1.safety_organization_missing") == 0


@pytest.mark.parametrize(("item", "indicator", "expected"), [
    (2, "G1.responsible_persons_missing", 5), (3, "G1.management_system_missing", 5),
    (4, "G5.emergency_plan_missing", 2), (5, "G5.emergency_drills_missing", 2), (6, "G5.training_missing", 2),
    (7, "G3.risk_control_mechanism_missing", 4), (8, "G3.hazard_investigation_mechanism_missing", 4),
])
def test_checklist_items_1_to_8_map_to_management_facts_in_order(make_facts, make_patrol, score, line,
                                                                  item, indicator, expected):
    result = score(make_facts(patrols=[make_patrol(days_ago=1, **{f"item{item}": "fail"})]))
    assert [bl.indicator for bl in result.breakdown] == [indicator]
    assert line(result, indicator).points == expected
    assert f"item {item}" in line(result, indicator).detail


# --- G2 operators ---------------------------------------------------------------------------

def operators(*valid_until_days: int | None):
    return [OperatorFact(operator_id=f"o{n}", event_id=f"ev-o{n}",
                         certificate_valid_until=None if d is None else TODAY + timedelta(days=d))
            for n, d in enumerate(valid_until_days)]


@pytest.mark.parametrize(("ops", "expected"), [
    ([], 0),
    (operators(30), 0),
    (operators(0), 0),  # valid through its valid-until date
    (operators(-1), 10),
    (operators(None), 10),
    (operators(-1, None, 5, 5, 5), 4),
    (operators(-1, 5, 5), 3.33),  # a third of 10, rounded to 2 decimals
])
def test_share_of_operators_without_valid_certificate(make_facts, score, points, ops, expected):
    result = score(make_facts(operators=ops))
    assert points(result, "G2.operators_without_certificate") == expected
    assert result.score == expected


def test_the_grade_comes_from_the_exact_score_and_only_the_display_is_rounded(make_facts, score, points):
    """3,999 of 4,000 operators uncertified (9.9975) plus credit D (10) is 19.9975: under the
    0-20 band's upper bound, so A, although the score shows as 20.0."""
    result = score(make_facts(general_credit_grade="D", operators=operators(*([-1] * 3999), 5)))
    assert points(result, "G2.operators_without_certificate") == 10.0  # 9.9975, shown to 2 decimals
    assert result.score == 20.0
    assert result.raw_grade == "A"
    result = score(make_facts(general_credit_grade="D", operators=operators(-1)))
    assert (result.score, result.raw_grade) == (20.0, "B")  # exactly 20 is B's lower bound


def test_operator_detail_names_the_share(make_facts, score, line):
    result = score(make_facts(operators=operators(-1, None, 5, 5, 5)))
    g2 = line(result, "G2.operators_without_certificate")
    assert g2.detail == "2 of 5 operators lack a valid certificate"
    assert g2.evidence == ["ev-o0", "ev-o1"]


@pytest.mark.parametrize(("ops", "patrol_days_ago", "expected"), [
    ([], 1, 5),  # item 10 fail sets G2 to at least 5
    (operators(-1, 5, 5, 5), 1, 5),  # 2.5 from the share, 5 from the patrol
    (operators(-1, -1, -1, 5), 1, 7.5),  # the share is higher
    ([], 365, 0),  # patrol outside the findings window
])
def test_patrol_item_10_fail_floors_g2(make_facts, make_patrol, score, points, ops, patrol_days_ago, expected):
    facts = make_facts(operators=ops, patrols=[make_patrol(days_ago=patrol_days_ago, item10="fail")])
    assert points(score(facts), "G2.operators_without_certificate") == expected


# --- G3 hazards and self-inspection ---------------------------------------------------------

def hazard(n: int, deadline_days_ago: int, rectified_days_ago: int | None = None) -> HazardFact:
    rectified = None if rectified_days_ago is None else ago(rectified_days_ago)
    return HazardFact(hazard_id=f"h{n}", deadline_date=ago(deadline_days_ago), rectified_date=rectified,
                      event_id=f"ev-h{n}")


@pytest.mark.parametrize(("hazards", "expected"), [
    ([hazard(1, 1)], 2),
    ([hazard(1, 0)], 0),  # deadline today: not past yet
    ([hazard(1, -5)], 0),  # deadline ahead
    ([hazard(1, 10, rectified_days_ago=2)], 0),  # rectified late but rectified
    ([hazard(1, 10, rectified_days_ago=0)], 0),  # rectified today
    ([hazard(1, 10, rectified_days_ago=-1)], 2),  # rectified only after as_of
    ([hazard(1, 1), hazard(2, 2)], 4),
    ([hazard(1, 1), hazard(2, 2), hazard(3, 3)], 4),  # max 4
])
def test_hazards_past_deadline(make_facts, score, points, hazards, expected):
    assert points(score(make_facts(hazards=hazards)), "G3.hazards_past_deadline") == expected


def test_hazard_max_points_is_said_in_the_detail(make_facts, score, line):
    result = score(make_facts(hazards=[hazard(n, n) for n in (1, 2, 3)]))
    g3 = line(result, "G3.hazards_past_deadline")
    assert g3.evidence == ["ev-h1", "ev-h2", "ev-h3"]
    assert "3 hazards" in g3.detail and "up to 4 points" in g3.detail


def tasks(*due_days_ago_completed: tuple[int, bool]):
    return [SelfInspectionTaskFact(task_id=f"t{n}", due_date=ago(d), completed=done, event_id=f"ev-t{n}")
            for n, (d, done) in enumerate(due_days_ago_completed)]


@pytest.mark.parametrize(("task_list", "expected"), [
    ([], 0),  # nothing due: nothing to measure
    (tasks(*[(5, True)] * 9, (5, False)), 0),  # 90% is enough
    (tasks(*[(5, True)] * 8, (5, False), (5, False)), 3),  # 80%
    (tasks((29, False)), 3),  # due 29 days ago: inside the 30-day window
    (tasks((30, False)), 0),  # 30 days ago: outside
    (tasks((31, False)), 0),
    (tasks((0, False)), 0),  # due today and open: not late yet
    (tasks((0, True), (1, False)), 3),  # due today and done counts: 1 of 2
    (tasks((-3, False)), 0),  # due in the future
])
def test_self_inspection_completion_in_the_last_30_days(make_facts, score, points, task_list, expected):
    result = score(make_facts(self_inspection_tasks=task_list))
    assert points(result, "G3.self_inspection_completion_low") == expected


def test_self_inspection_detail_and_evidence(make_facts, score, line):
    result = score(make_facts(self_inspection_tasks=tasks((1, True), (2, False), (3, False))))
    g3 = line(result, "G3.self_inspection_completion_low")
    assert g3.evidence == ["ev-t1", "ev-t2"]
    assert g3.detail.startswith("1 of 3 self-inspection tasks due in the last 30 days completed (33%")


# --- G4 equipment and place -----------------------------------------------------------------

@pytest.mark.parametrize(("equipment", "indicator", "expected"), [
    ([unit(registered=False)], "G4.unregistered_equipment_in_use", 6),
    ([unit("a", registered=False), unit("b", registered=False)], "G4.unregistered_equipment_in_use", 6),
    ([unit(registered=False, status="suspended")], "G4.unregistered_equipment_in_use", 0),
    ([unit(registered=False, status="scrapped")], "G4.unregistered_equipment_in_use", 0),
    ([unit(due_in_days=-1)], "G4.equipment_past_inspection", 8),
    ([unit("a", due_in_days=-1), unit("b", due_in_days=-30)], "G4.equipment_past_inspection", 8),
    ([unit(due_in_days=0)], "G4.equipment_past_inspection", 0),  # due today: still valid
    ([unit(due_in_days=None)], "G4.equipment_past_inspection", 0),  # no due date recorded
    ([unit(due_in_days=-1, status="suspended")], "G4.equipment_past_inspection", 0),
])
def test_equipment_indicators(make_facts, score, points, equipment, indicator, expected):
    result = score(make_facts(equipment=equipment))
    assert points(result, indicator) == expected
    assert result.score == expected


@pytest.mark.parametrize(("item", "indicator", "expected"), [
    (9, "G4.unregistered_equipment_in_use", 6),
    (11, "G4.equipment_past_inspection", 8),
    (12, "G5.patrol_record_gaps", 3),
])
def test_latest_patrol_findings_items_9_11_12(make_facts, make_patrol, score, line, item, indicator, expected):
    result = score(make_facts(patrols=[make_patrol(days_ago=3, event_id="ev-p", **{f"item{item}": "fail"})]))
    finding = line(result, indicator)
    assert (finding.points, finding.evidence) == (expected, ["ev-p"])
    assert f"item {item}" in finding.detail
    assert result.score == expected


@pytest.mark.parametrize(("patrol_days", "expected"), [
    (0, 3), (364, 3),  # the latest patrol counts while younger than 365 days
    (365, 0), (366, 0),
])
def test_patrol_findings_window(make_facts, make_patrol, score, points, patrol_days, expected):
    facts = make_facts(patrols=[make_patrol(days_ago=patrol_days, item12="fail")])
    assert points(score(facts), "G5.patrol_record_gaps") == expected


def test_only_the_latest_patrol_finds(make_facts, make_patrol, score, points):
    facts = make_facts(patrols=[make_patrol(days_ago=10, event_id="old", item12="fail", item9="fail"),
                                make_patrol(days_ago=2, event_id="new")])
    result = score(facts)
    assert points(result, "G5.patrol_record_gaps") == 0
    assert points(result, "G4.unregistered_equipment_in_use") == 0


def test_ledger_and_patrol_evidence_combine(make_facts, make_patrol, score, line):
    facts = make_facts(equipment=[unit("u9", registered=False)],
                       patrols=[make_patrol(days_ago=1, event_id="ev-p", item9="fail")])
    g4 = line(score(facts), "G4.unregistered_equipment_in_use")
    assert (g4.points, g4.evidence) == (6, ["ev-u9", "ev-p"])


@pytest.mark.parametrize(("venue", "expected"), [
    ("other", 0), ("school", 3), ("kindergarten", 3), ("nursing_home", 3), ("hospital", 3), ("station", 3),
    ("passenger_terminal", 3), ("mall", 3), ("stadium", 3), ("exhibition_hall", 3), ("park", 3),
])
def test_public_gathering_venue(make_facts, score, points, venue, expected):
    assert points(score(make_facts(venue_type=venue)), "G4.public_gathering_venue") == expected


@pytest.mark.parametrize(("kinds", "equipment", "expected"), [
    (["gas_filling"], [], 3), (["boiler"], [], 3), (["ropeway"], [], 3), (["amusement_ride"], [], 3),
    (["elevator_use"], [], 0),
    ([], [unit(category="1000")], 3), ([], [unit(category="1100")], 3),  # boiler family
    ([], [unit(category="6000")], 3), ([], [unit(category="9100")], 3),
    ([], [unit(category="2300")], 0), ([], [unit(category="3000")], 0),
    ([], [unit(category="1000", status="scrapped")], 0),
    (["gas_filling", "boiler"], [unit(category="1000")], 3),  # counted once
])
def test_inherently_hazardous_kind(make_facts, score, points, kinds, equipment, expected):
    result = score(make_facts(kinds=kinds, equipment=equipment))
    assert points(result, "G4.inherently_hazardous_kind") == expected


# --- G5 missing filling records -------------------------------------------------------------

@pytest.mark.parametrize(("days", "expected"), [
    ([0], 3), ([89], 3),  # the 90-day window: 0-89 days before as_of count
    ([90], 0), ([91], 0),
    ([-1], 0),  # a day after as_of does not count yet
    ([1, 2], 6),
    ([1, 2, 3], 9),
    ([1, 2, 3, 4], 9),  # max 9
])
def test_missing_filling_records_window_and_max(make_facts, score, points, days, expected):
    facts = make_facts(missing_record_days=[missing_day(d) for d in days])
    assert points(score(facts), "G5.missing_filling_records") == expected


def test_repaired_missing_day_is_excluded(make_facts, score, points):
    facts = make_facts(missing_record_days=[missing_day(1, repaired=True), missing_day(2)])
    assert points(score(facts), "G5.missing_filling_records") == 3


def test_two_events_for_one_date_are_one_day(make_facts, score, line):
    facts = make_facts(missing_record_days=[missing_day(1, "ev-a"), missing_day(1, "ev-b")])
    g5 = line(score(facts), "G5.missing_filling_records")
    assert (g5.points, sorted(g5.evidence)) == (3, ["ev-a", "ev-b"])


# --- G6 cases and penalties -----------------------------------------------------------------

THREE_YEARS_AGO = date(2023, 6, 15)


@pytest.mark.parametrize(("opened", "repaired", "expected"), [
    (TODAY, False, 5),
    (THREE_YEARS_AGO + timedelta(days=1), False, 5),  # the last day it counts
    (THREE_YEARS_AGO, False, 0),  # exactly 3 calendar years: no longer
    (THREE_YEARS_AGO - timedelta(days=1), False, 0),
    (TODAY - timedelta(days=10), True, 0),  # repaired
    (TODAY + timedelta(days=1), False, 0),  # not opened yet
])
def test_cases_and_penalties_in_the_last_3_years(make_facts, score, points, opened, repaired, expected):
    case = CaseFact(case_id="c1", opened_date=opened, repaired=repaired, event_id="ev-c1")
    penalty = PenaltyFact(penalty_id="p1", decided_date=opened, repaired=repaired, event_id="ev-p1")
    result = score(make_facts(cases=[case], penalties=[penalty]))
    assert points(result, "G6.cases_opened") == expected
    assert points(result, "G6.penalties_decided") == expected


# --- group caps -----------------------------------------------------------------------------

def _g6_four_cases(make_facts):
    return make_facts(cases=[CaseFact(case_id=f"c{n}", opened_date=ago(n), event_id=f"ev-c{n}") for n in range(4)])


def _g5_everything(make_facts):
    return make_facts(management_changes={"emergency_plan": None, "emergency_drills": None, "training": None},
                      missing_record_days=[missing_day(n) for n in range(4)])


@pytest.mark.parametrize(("build", "group", "uncapped", "capped_to"), [
    (lambda mf: _g6_four_cases(mf), "G6", 20, 15),
    (lambda mf: _g5_everything(mf), "G5", 15, 15),
    (lambda mf: mf(management_changes={k: None for k in
                                       ("safety_organization", "responsible_persons", "management_system")}),
     "G1", 15, 15),
    (lambda mf: mf(venue_type="mall", kinds=["boiler"], equipment=[unit(registered=False, due_in_days=-1)]),
     "G4", 20, 20),
    (lambda mf: mf(management_changes={"risk_control_mechanism": None, "hazard_investigation_mechanism": None},
                   hazards=[hazard(1, 1), hazard(2, 1)], self_inspection_tasks=tasks((1, False))),
     "G3", 15, 15),
    (lambda mf: mf(operators=operators(None)), "G2", 10, 10),
    (lambda mf: mf(general_credit_grade="D"), "G0", 10, 10),
])
def test_group_totals_and_caps(make_facts, score, build, group, uncapped, capped_to):
    result = score(build(make_facts))
    total = next(g for g in result.groups if g.group == group)
    assert (total.uncapped, total.points) == (uncapped, capped_to)
    assert total.capped is (uncapped > capped_to)
    assert result.score == capped_to


def test_g5_cap_cuts_patrol_gaps_too(make_facts, make_patrol, score):
    # the patrol marks items 4-6 too, or its passes would put 三到位 back in place
    patrol = make_patrol(days_ago=1, item4="fail", item5="fail", item6="fail", item12="fail")
    facts = _g5_everything(make_facts).model_copy(update={"patrols": [patrol]})
    total = next(g for g in score(facts).groups if g.group == "G5")
    assert (total.uncapped, total.points, total.capped) == (18, 15, True)


def test_a_smaller_cap_in_another_model_is_applied(make_facts, score, model):
    data = model.model_dump(mode="json", exclude_none=True)
    data["groups"][1]["cap"] = 8  # G1
    stricter = parse_model(data)
    result = score(make_facts(management_changes={"safety_organization": None, "responsible_persons": None}),
                   with_model=stricter)
    assert result.score == 8
    assert next(g for g in result.groups if g.group == "G1").uncapped == 10


# --- bands ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "grade"), [
    (0, "A"), (19.99, "A"), (20, "B"), (39.99, "B"), (40, "C"), (59.99, "C"), (60, "D"), (100, "D"),
])
def test_grade_bands(model, value, grade):
    assert model.grade_for(value) == grade


@pytest.mark.parametrize(("credit", "venue", "missing", "expected_score", "grade"), [
    ("D", "school", 2, 19, "A"),  # 10 + 3 + 6
    ("D", "school", 3, 22, "B"),  # 10 + 3 + 9
    ("C", "other", 3, 16, "A"),
])
def test_computed_score_takes_its_band(make_facts, score, credit, venue, missing, expected_score, grade):
    facts = make_facts(general_credit_grade=credit, venue_type=venue,
                       missing_record_days=[missing_day(n) for n in range(missing)])
    result = score(facts)
    assert (result.score, result.raw_grade) == (expected_score, grade)


THREE_IN_PLACE_MISSING = {"safety_organization": None, "responsible_persons": None, "management_system": None}


def test_score_of_exactly_20_is_b(make_facts, score):
    # G1 15 + G4 venue 3 + G5 emergency plan 2
    facts = make_facts(venue_type="park", management_changes={**THREE_IN_PLACE_MISSING, "emergency_plan": None})
    result = score(facts)
    assert (result.score, result.raw_grade) == (20, "B")


def test_score_of_exactly_60_is_d(make_facts, score):
    # G0 10 + G1 15 + G4 20 + G5 15 = 60
    facts = make_facts(
        general_credit_grade="D", venue_type="park", kinds=["boiler"],
        management_changes={**THREE_IN_PLACE_MISSING, "emergency_plan": None, "emergency_drills": None,
                            "training": None},
        equipment=[unit(registered=False, due_in_days=-1)],
        missing_record_days=[missing_day(n) for n in range(3)],
    )
    result = score(facts)
    assert (result.score, result.raw_grade) == (60, "D")
