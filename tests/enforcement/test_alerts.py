"""Alerts through the real consumer runner: each rule by grade, one alert per cause whatever the
order and the redeliveries, the lifecycle with its history and 409s, SLA escalation up the
tree as the clock moves, and warnings that close themselves when the records arrive or a
correction clears the anomaly that raised them."""

from __future__ import annotations

import asyncio
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text

from services.enforcement import jobs
from shared.contracts import inspection, registry, scoring
from shared.contracts.enforcement import ALERT_RAISED, ALERT_STATUS_CHANGED
from tests.enforcement.support import (
    DONGGANG,
    GRID,
    INSPECTORS,
    TODAY,
    TOWNSHIP,
    accident,
    anomaly,
    arrived,
    certificate_expired,
    corrected,
    enterprise,
    hazard_overdue,
    inspection_overdue,
    inspectors,
    maintenance_lapsed,
    missing,
    score,
)

MISSING = inspection.FILLING_RECORDS_MISSING


async def station(enforcement, uscc: str, grade: str | None = None, *, with_inspectors: bool = True) -> None:  # type: ignore[no-untyped-def]
    await enforcement.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    if with_inspectors:
        await enforcement.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    if grade:
        await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, grade, trigger=registry.ENTERPRISE_REGISTERED))


async def missing_day(enforcement, uscc: str, grade: str, *, score_first: bool = False) -> str:  # type: ignore[no-untyped-def]
    """The cut-off's event and the rescoring it caused, in either order; the missing event's id."""
    missing_id = f"{uscc[:8].lower()}-0000-4000-8000-000000000001"
    caused = score(uscc, grade, trigger=MISSING, trigger_id=missing_id, day=TODAY)
    steps = [(MISSING, missing(uscc), missing_id), (scoring.SCORE_UPDATED, caused, None)]
    for spec, data, event_id in (reversed(steps) if score_first else steps):
        await enforcement.deliver(spec, data, event_id=event_id, correlation_id=missing_id)
    return missing_id


@pytest.mark.parametrize(("grade", "action", "status"), [
    ("A", "warning", "raised"), ("B", "warning", "raised"),
    ("C", "online_patrol", "dispatched"), ("D", "onsite_enforcement", "dispatched"),
])
async def test_missing_records_raise_the_action_of_the_fresh_grade(enforcement, usccs, grade, action, status):
    uscc = usccs(1)
    await station(enforcement, uscc, "A")  # the grade held before: the fresh one wins
    missing_id = await missing_day(enforcement, uscc, grade)

    [alert] = await enforcement.alerts(enterprise=uscc)

    assert (alert["kind"], alert["grade"], alert["action"], alert["status"], alert["correlation_id"]) == (
        "filling_records_missing", grade, action, status, missing_id)
    assert alert["grade_source"] == "score_event" and alert["business_date"] == TODAY.isoformat()
    assert alert["addressed_to"] == ("enterprise" if grade in "AB" else "grid_inspectors")
    assert alert["assignees"] == ([] if grade in "AB" else INSPECTORS)
    raised = [r for r in await enforcement.outbox(ALERT_RAISED.type) if r["data"]["alert_id"] == alert["id"]]
    assert len(raised) == 1 and raised[0]["attributes"]["correlationid"] == missing_id
    assert raised[0]["data"]["action"] == action and raised[0]["key"] == uscc


async def test_a_d_grade_alert_is_due_the_same_day_and_a_c_grade_one_within_24_hours(enforcement, usccs):
    await station(enforcement, usccs(1))
    await station(enforcement, usccs(2))
    await missing_day(enforcement, usccs(1), "D")
    await missing_day(enforcement, usccs(2), "C")
    [d] = await enforcement.alerts(enterprise=usccs(1))
    [c] = await enforcement.alerts(enterprise=usccs(2))
    assert d["due_at"].startswith("2026-06-15T16:00:00")  # midnight in Shanghai, in UTC
    assert c["due_at"].startswith("2026-06-16T13:05:00")  # 21:05 + 24 h


async def test_one_cause_gives_one_alert_redelivered_and_in_either_order(enforcement, usccs):
    for n, score_first in ((1, False), (2, True)):
        uscc = usccs(n)
        await station(enforcement, uscc)
        missing_id = await missing_day(enforcement, uscc, "D", score_first=score_first)
        # the same score event redelivered is dropped by the inbox; a second rescoring of that day merges
        again = score(uscc, "D", trigger=MISSING, trigger_id=missing_id, day=TODAY)
        outcome, score_id = await enforcement.deliver(scoring.SCORE_UPDATED, again)
        assert outcome == "applied"
        assert (await enforcement.deliver(scoring.SCORE_UPDATED, again, event_id=score_id))[0] == "duplicate"
        assert (await enforcement.deliver(MISSING, missing(uscc), event_id=missing_id))[0] == "duplicate"

        [alert] = await enforcement.alerts(enterprise=uscc)
        assert (alert["correlation_id"], alert["merged_events"], alert["action"]) == (missing_id, 2,
                                                                                      "onsite_enforcement")
    raised = await enforcement.outbox(ALERT_RAISED.type)
    assert sorted(r["key"] for r in raised) == [usccs(1), usccs(2)]


@pytest.mark.parametrize(("spec", "data", "kind", "by_grade"), [
    (registry.EQUIPMENT_INSPECTION_OVERDUE, inspection_overdue, "equipment_inspection_overdue", True),
    (registry.OPERATOR_CERTIFICATE_EXPIRED, certificate_expired, "operator_certificate_expired", True),
    (inspection.HAZARD_OVERDUE, hazard_overdue, "hazard_overdue", True),
    (inspection.MAINTENANCE_LAPSED, maintenance_lapsed, "maintenance_lapsed", True),
    (registry.ACCIDENT_REPORTED, accident, "accident", False),
    (inspection.FILLING_ANOMALY_DETECTED, anomaly, "expired_cylinder_filled", False),
    (inspection.FILLING_ANOMALY_DETECTED, lambda u: anomaly(u, "scrapped_cylinder"), "scrapped_cylinder_filled",
     False),
    (inspection.FILLING_ANOMALY_DETECTED, lambda u: anomaly(u, "night_fill", "general"), "filling_anomaly", True),
])
async def test_other_causes_follow_the_latest_grade_or_raise_on_site_enforcement_whatever_it_is(
        enforcement, usccs, spec, data, kind, by_grade):
    expected = {"A": "warning", "B": "warning", "C": "online_patrol", "D": "onsite_enforcement"}
    for n, grade in enumerate("ABCD"):
        uscc = usccs(n)
        await station(enforcement, uscc, grade)
        await enforcement.deliver(spec, data(uscc))
        await enforcement.deliver(spec, data(uscc))  # reported again with a new event id: merged

        [alert] = await enforcement.alerts(enterprise=uscc)

        assert (alert["kind"], alert["grade"], alert["grade_source"]) == (kind, grade, "projection")
        assert alert["action"] == (expected[grade] if by_grade else "onsite_enforcement")
        assert alert["merged_events"] == 2


@pytest.mark.parametrize(("raised_on", "grade", "kind", "severity", "resolved"), [
    (date(2027, 1, 4), "A", "night_fill", "general", True),  # a warning under 2026.2: the correction resolves it
    (TODAY, "A", "night_fill", "general", False),  # a warning raised under 2026.1, which has no such rule
    (date(2027, 1, 4), "C", "night_fill", "general", False),  # an online patrol: noted, the inspector looks
    (date(2027, 1, 4), "A", "expired_cylinder", "serious", False),  # on-site whatever the grade: noted
], ids=["warning", "warning-2026.1", "online-patrol", "serious"])
async def test_a_correction_that_clears_an_anomaly_resolves_its_warning_and_notes_any_other_alert(
        enforcement, usccs, raised_on, grade, kind, severity, resolved):
    uscc = usccs()
    enforcement.clock.set(raised_on)
    await station(enforcement, uscc, grade)
    _, cleared_by = await enforcement.deliver(inspection.FILLING_ANOMALY_DETECTED,
                                              anomaly(uscc, kind, severity, record="R1"))
    _, kept_by = await enforcement.deliver(inspection.FILLING_ANOMALY_DETECTED,
                                           anomaly(uscc, "failed_pre_check", "general", record="R1"))
    by_cause = {a["cause_event_id"]: a for a in await enforcement.alerts(enterprise=uscc)}
    before, other = by_cause[cleared_by], by_cause[kept_by]
    changes = len(await enforcement.outbox(ALERT_STATUS_CHANGED.type))

    outcome, _ = await enforcement.deliver(inspection.FILLING_RECORD_CORRECTED, corrected(uscc, {kind: "R1"}))
    assert outcome == "applied"
    detail = await enforcement.alert(before["id"])
    assert detail["status"] == ("resolved" if resolved else before["status"])
    last = detail["history"][-1]
    assert last["step"] == ("resolved" if resolved else "corrected")
    assert "misread" in last["note"] and "R2" in last["note"]
    assert len(await enforcement.outbox(ALERT_STATUS_CHANGED.type)) == changes + resolved
    # the anomaly the correction did not clear keeps its alert as it was
    kept = await enforcement.alert(other["id"])
    assert (kept["status"], kept["updated_at"]) == (other["status"], other["updated_at"])
    assert "corrected" not in [s["step"] for s in kept["history"]]


async def test_a_correction_naming_no_alert_changes_nothing(enforcement, usccs):
    uscc = usccs()
    await station(enforcement, uscc, "A")
    await enforcement.deliver(inspection.FILLING_ANOMALY_DETECTED, anomaly(uscc, "night_fill", "general"))
    [alert] = await enforcement.alerts(enterprise=uscc)
    # a kind this fill never raised, and a raiser that is not the version the alert names
    await enforcement.deliver(inspection.FILLING_RECORD_CORRECTED, corrected(uscc, {"failed_post_check": "R1"}))
    await enforcement.deliver(inspection.FILLING_RECORD_CORRECTED, corrected(uscc, {"night_fill": "R9"}))
    assert [s["step"] for s in (await enforcement.alert(alert["id"]))["history"]] == ["raised"]


async def test_an_alert_before_any_score_or_snapshot_uses_the_unknown_grade_and_learns_its_place(enforcement, usccs):
    uscc = usccs(1)
    await enforcement.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await enforcement.deliver(registry.EQUIPMENT_INSPECTION_OVERDUE, inspection_overdue(uscc))
    [alert] = await enforcement.alerts(enterprise=uscc)
    assert (alert["grade"], alert["grade_source"], alert["action"], alert["status"]) == (
        None, "none", "online_patrol", "raised")
    assert await enforcement.alerts(enforcement.regulator(DONGGANG)) == []  # nobody's jurisdiction yet

    await enforcement.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))

    [alert] = await enforcement.alerts(enforcement.regulator(DONGGANG))
    assert (alert["grid_code"], alert["status"], alert["assignees"]) == (GRID, "dispatched", INSPECTORS)


async def test_alerts_wait_for_inspectors_and_are_dispatched_when_registry_names_them(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc, with_inspectors=False)
    await missing_day(enforcement, uscc, "C")
    [alert] = await enforcement.alerts(enterprise=uscc)
    assert alert["status"] == "raised"

    await enforcement.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors(revision=2))
    await enforcement.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors(revision=1, people=[]))  # older: ignored

    detail = await enforcement.alert(alert["id"])
    assert (detail["status"], detail["assignees"]) == ("dispatched", INSPECTORS)
    assert [(s["step"], s["actor"], s["to_status"]) for s in detail["history"]] == [
        ("raised", "system", "raised"), ("dispatched", "system", "dispatched")]


async def test_a_warning_closes_itself_when_the_records_arrive_in_either_order(enforcement, usccs):
    await station(enforcement, usccs(1))
    missing_id = await missing_day(enforcement, usccs(1), "B")
    await enforcement.deliver(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(usccs(1), missing_id=missing_id))
    [closed] = await enforcement.alerts(enterprise=usccs(1))
    assert (closed["status"], closed["resolved_by"], closed["due_at"]) == ("resolved", "system", None)
    assert "arrived late" in closed["resolution_note"]

    await station(enforcement, usccs(2))
    await enforcement.deliver(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(usccs(2)))  # before the score
    await missing_day(enforcement, usccs(2), "A")
    [early] = await enforcement.alerts(enterprise=usccs(2))
    assert early["status"] == "resolved"

    await station(enforcement, usccs(3))
    await missing_day(enforcement, usccs(3), "D")  # on-site enforcement stays open; the arrival is noted
    await enforcement.deliver(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(usccs(3)))
    [kept] = await enforcement.alerts(enterprise=usccs(3))
    detail = await enforcement.alert(kept["id"])
    assert kept["status"] == "dispatched" and detail["history"][-1]["step"] == "records_arrived"


async def test_the_lifecycle_with_its_history_and_invalid_transitions(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc)
    await missing_day(enforcement, uscc, "D")
    [alert] = await enforcement.alerts(enterprise=uscc)
    path = f"/api/v1/alerts/{alert['id']}"
    inspector = enforcement.regulator(GRID, sub="insp-1")

    enforcement.clock.advance(minutes=10)
    reassigned = await enforcement.client.post(f"{path}/dispatch", json={"assignees": [{"id": "insp-9", "name": "李"}]},
                                               headers=enforcement.regulator(DONGGANG, sub="district-chief"))
    assert reassigned.status_code == 200 and reassigned.json()["assignees"] == [{"id": "insp-9", "name": "李"}]
    acked = await enforcement.client.post(f"{path}/acknowledge", json={"note": "on my way"}, headers=inspector)
    assert acked.status_code == 200 and acked.json()["acknowledged_by"] == "insp-1"
    again = await enforcement.client.post(f"{path}/acknowledge", json={}, headers=inspector)
    assert again.status_code == 409 and again.json()["current_status"] == "acknowledged"
    no_note = await enforcement.client.post(f"{path}/resolve", json={}, headers=inspector)
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    resolved = await enforcement.client.post(f"{path}/resolve", headers=inspector,
                                             json={"note": "records kept on paper; ordered to upload"})
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    for verb, body in (("resolve", {"note": "x"}), ("dispatch", {}), ("acknowledge", {})):
        refused = await enforcement.client.post(f"{path}/{verb}", json=body, headers=inspector)
        assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"

    detail = await enforcement.alert(alert["id"])
    assert [(s["step"], s["actor"], s["from_status"], s["to_status"]) for s in detail["history"]] == [
        ("raised", "system", None, "raised"), ("dispatched", "system", "raised", "dispatched"),
        ("dispatched", "district-chief", "dispatched", "dispatched"),
        ("acknowledged", "insp-1", "dispatched", "acknowledged"), ("resolved", "insp-1", "acknowledged", "resolved")]
    assert detail["history"][2]["at"] > detail["history"][1]["at"]
    changes = [r["data"]["status"] for r in await enforcement.outbox(ALERT_STATUS_CHANGED.type)]
    assert changes == ["dispatched", "dispatched", "acknowledged", "resolved"]
    assert (await enforcement.client.post("/api/v1/alerts/00000000-0000-4000-8000-000000000000/resolve",
                                          json={"note": "x"}, headers=inspector)).status_code == 404


async def test_dispatch_without_anyone_to_send_is_a_conflict_and_changes_nothing(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc, with_inspectors=False)
    await missing_day(enforcement, uscc, "C")
    [alert] = await enforcement.alerts(enterprise=uscc)
    refused = await enforcement.client.post(f"/api/v1/alerts/{alert['id']}/dispatch", json={},
                                            headers=enforcement.regulator())
    assert refused.status_code == 409
    assert (await enforcement.alert(alert["id"]))["status"] == "raised"


async def test_an_overdue_alert_escalates_up_the_jurisdiction_tree_as_time_passes(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc)
    await missing_day(enforcement, uscc, "C")  # online patrol within 24 h, dispatched to the grid
    [alert] = await enforcement.alerts(enterprise=uscc)
    runtime = enforcement.svc.runtime

    enforcement.clock.advance(hours=23)
    assert await jobs.sweep_once(runtime) == 0
    nodes = []
    for _ in range(4):
        enforcement.clock.advance(hours=24, minutes=1)
        await jobs.sweep_once(runtime)
        current = await enforcement.alert(alert["id"])
        nodes.append((current["status"], current["responsible_node"], current["escalation_level"]))

    assert nodes == [("escalated", TOWNSHIP, 1), ("escalated", DONGGANG, 2), ("escalated", "371100", 3),
                     ("escalated", "371100", 3)]
    assert current["due_at"] is None and current["history"][-1]["step"] == "overdue_at_top"
    assert [s["detail"].get("to_node") for s in current["history"] if s["step"] == "escalated"] == [
        TOWNSHIP, DONGGANG, "371100"]
    # the city acknowledges; an acknowledged alert still escalates when it stays unresolved past its SLA
    acked = await enforcement.client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={},
                                          headers=enforcement.regulator("371100"))
    assert acked.status_code == 200


async def test_a_warning_the_enterprise_lets_lapse_goes_to_its_grid_inspectors(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc)
    await missing_day(enforcement, uscc, "A")
    [alert] = await enforcement.alerts(enterprise=uscc)
    enforcement.clock.advance(hours=24)

    assert await jobs.sweep_once(enforcement.svc.runtime) == 1

    current = await enforcement.alert(alert["id"])
    assert (current["status"], current["responsible_node"], current["assignees"]) == ("escalated", GRID, INSPECTORS)
    assert current["due_at"] > alert["due_at"]
    # records arriving late still close it
    await enforcement.deliver(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(uscc))
    assert (await enforcement.alert(alert["id"]))["status"] == "resolved"


async def test_the_list_filters_and_pages(enforcement, usccs):
    for n, grade in enumerate("ABCD"):
        await station(enforcement, usccs(n))
        await missing_day(enforcement, usccs(n), grade)
        enforcement.clock.advance(seconds=1)
    await station(enforcement, usccs(9))
    await enforcement.deliver(registry.ACCIDENT_REPORTED, accident(usccs(9)))

    assert [a["grade"] for a in await enforcement.alerts(kind="filling_records_missing")] == list("DCBA")
    assert [a["enterprise_uscc"] for a in await enforcement.alerts(action="warning")] == [usccs(1), usccs(0)]
    assert [a["kind"] for a in await enforcement.alerts(grade="D")] == ["filling_records_missing"]
    assert len(await enforcement.alerts(status="dispatched")) == 3
    assert len(await enforcement.alerts(jurisdiction=TOWNSHIP)) == 5
    assert await enforcement.alerts(jurisdiction="371103") == []
    first = (await enforcement.client.get("/api/v1/alerts", params={"limit": 2}, headers=enforcement.admin)).json()
    second = (await enforcement.client.get("/api/v1/alerts", params={"limit": 2, "cursor": first["next_cursor"]},
                                           headers=enforcement.admin)).json()
    third = (await enforcement.client.get("/api/v1/alerts", params={"limit": 2, "cursor": second["next_cursor"]},
                                          headers=enforcement.admin)).json()
    ids = [a["id"] for page in (first, second, third) for a in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    for bad in ({"grade": "E"}, {"status": "lost"}, {"enterprise": "short"}, {"jurisdiction": "12"},
                {"cursor": "forged.cursor"}, {"limit": 0}):
        response = await enforcement.client.get("/api/v1/alerts", params=bad, headers=enforcement.admin)
        assert response.status_code == 422, bad


async def test_each_day_of_missing_records_is_its_own_cause(enforcement, usccs):
    uscc = usccs(1)
    await station(enforcement, uscc)
    for offset in (1, 0):
        day = TODAY - timedelta(days=offset)
        await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, "C", trigger=MISSING,
                                                               trigger_id=f"m-{offset}", day=day))
    assert sorted(a["business_date"] for a in await enforcement.alerts(enterprise=uscc)) == [
        (TODAY - timedelta(days=1)).isoformat(), TODAY.isoformat()]
    # a rescoring caused by something else raises nothing
    await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, "D", trigger=registry.ENTERPRISE_UPDATED))
    assert len(await enforcement.alerts(enterprise=uscc)) == 2


async def test_a_missing_day_whose_score_never_comes_raises_its_alert_and_the_late_score_regrades_it(
        enforcement, usccs):
    """Scoring down: after score_wait_s the sweep raises the alert with the grade enforcement
    holds, in the missing-records event's chain; the score event, when it comes, merges into it
    and moves it to the fresh grade's action, once."""
    uscc, runtime = usccs(1), enforcement.svc.runtime
    await station(enforcement, uscc, "B")
    missing_id = f"{uscc[:8].lower()}-0000-4000-8000-000000000001"
    await enforcement.deliver(MISSING, missing(uscc), event_id=missing_id, correlation_id=missing_id)
    assert await jobs.sweep_once(runtime) == 0  # 21:05: the cut-off ran just score_wait_s (300 s) ago
    assert await enforcement.alerts(enterprise=uscc) == []

    enforcement.clock.advance(seconds=runtime.settings.score_wait_s)
    assert await jobs.sweep_once(runtime) == 1
    assert await jobs.sweep_once(runtime) == 0  # raised once
    [alert] = await enforcement.alerts(enterprise=uscc)
    assert (alert["grade"], alert["grade_source"], alert["action"], alert["correlation_id"]) == (
        "B", "projection", "warning", missing_id)
    assert alert["cause_event_id"] == missing_id

    await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, "D", trigger=MISSING, trigger_id=missing_id,
                                                           day=TODAY))
    [alert] = await enforcement.alerts(enterprise=uscc)
    assert (alert["grade"], alert["grade_source"], alert["action"], alert["status"], alert["assignees"]) == (
        "D", "score_event", "onsite_enforcement", "dispatched", INSPECTORS)
    history = (await enforcement.alert(alert["id"]))["history"]
    assert [s["step"] for s in history] == ["raised", "merged", "regraded", "dispatched"]
    regraded = [r["data"] for r in await enforcement.outbox(ALERT_STATUS_CHANGED.type)
                if r["data"]["alert_id"] == alert["id"] and r["data"]["status"] == "raised"]
    assert [(r["grade"], r["action"]) for r in regraded] == [("D", "onsite_enforcement")]
    assert len([r for r in await enforcement.outbox(ALERT_RAISED.type) if r["key"] == uscc]) == 1


async def test_the_fallback_leaves_days_alerted_by_their_score_or_whose_records_arrived(enforcement, usccs):
    await station(enforcement, usccs(1), "C")
    await missing_day(enforcement, usccs(1), "C")  # alerted by its score
    await station(enforcement, usccs(2), "C")
    await enforcement.deliver(MISSING, missing(usccs(2)))
    await enforcement.deliver(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(usccs(2)))  # records came
    enforcement.clock.advance(hours=1)
    assert await jobs.sweep_once(enforcement.svc.runtime) == 0
    assert len(await enforcement.alerts(enterprise=usccs(1))) == 1
    assert await enforcement.alerts(enterprise=usccs(2)) == []


def withdrawal(uscc: str, missing_id: str) -> dict:  # type: ignore[type-arg]
    return {"enterprise_uscc": uscc, "business_date": TODAY.isoformat(), "missing_event_id": missing_id,
            "withdrawn_at": "2026-06-16T09:00:00+08:00"}


async def test_a_closed_day_declared_after_the_cut_off_resolves_its_alert_or_keeps_it_from_being_raised(
        enforcement, usccs):
    # alerted first: the withdrawal resolves it, whatever its action
    await station(enforcement, usccs(1))
    missing_id = await missing_day(enforcement, usccs(1), "D")
    await enforcement.deliver(inspection.FILLING_RECORDS_MISSING_WITHDRAWN, withdrawal(usccs(1), missing_id))
    [alert] = await enforcement.alerts(enterprise=usccs(1))
    assert (alert["action"], alert["status"]) == ("onsite_enforcement", "resolved")
    assert "closed day" in (await enforcement.alert(alert["id"]))["history"][-1]["note"]

    # withdrawn before its score event: neither the score event nor the fallback raises anything
    uscc = usccs(2)
    await station(enforcement, uscc, "D")
    missing_id = f"{uscc[:8].lower()}-0000-4000-8000-000000000001"
    await enforcement.deliver(MISSING, missing(uscc), event_id=missing_id, correlation_id=missing_id)
    await enforcement.deliver(inspection.FILLING_RECORDS_MISSING_WITHDRAWN, withdrawal(uscc, missing_id))
    await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, "D", trigger=MISSING, trigger_id=missing_id,
                                                           day=TODAY))
    enforcement.clock.advance(hours=1)
    await jobs.sweep_once(enforcement.svc.runtime)
    assert await enforcement.alerts(enterprise=uscc) == []


def report(uscc: str, report_id: str = "RPT-1") -> dict:  # type: ignore[type-arg]
    return {"report_id": report_id, "enterprise_uscc": uscc, "category": "gas_leak", "description": "闻到异味",
            "channel": "qr", "submitted_at": "2026-06-15T18:00:00+08:00"}


async def test_a_public_report_raises_on_site_enforcement_at_a_c_or_d_unit_and_nothing_at_a_or_b(enforcement,
                                                                                                   usccs):
    from shared.contracts import portal

    for n, grade in enumerate("ABCD", 1):
        await station(enforcement, usccs(n), grade)
        outcome, report_id = await enforcement.deliver(portal.REPORT_SUBMITTED, report(usccs(n)))
        assert outcome == "applied"
        await enforcement.deliver(portal.REPORT_SUBMITTED, report(usccs(n)), event_id=report_id)  # redelivered
        found = await enforcement.alerts(enterprise=usccs(n))
        if grade in "AB":
            assert found == []
            continue
        [alert] = found
        assert (alert["kind"], alert["action"], alert["status"], alert["cause_event_id"]) == (
            "public_report", "onsite_enforcement", "dispatched", report_id)
        assert alert["merged_events"] == 1


async def test_reading_alerts_on_sqlite_does_not_queue_behind_a_write(enforcement_lite, usccs):
    """The list and one alert read the last committed snapshot while the consumer (here: any
    writer) holds SQLite's write lock: a poll never waits for a batch, nor delays it."""
    e, uscc = enforcement_lite, usccs(1)
    await station(e, uscc, "D")
    await missing_day(e, uscc, "D")
    [alert] = await e.alerts(enterprise=uscc)
    holding, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with e.svc.runtime.session_factory() as session, session.begin():
            await session.execute(text("UPDATE alerts SET merged_events = merged_events + 1"))
            holding.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await holding.wait()
    try:
        started = time.monotonic()
        listed, one = await asyncio.wait_for(asyncio.gather(e.alerts(enterprise=uscc), e.alert(alert["id"])), 5)
        waited = time.monotonic() - started
    finally:
        release.set()
        await task
    assert [a["merged_events"] for a in listed] == [1] and one["merged_events"] == 1  # the committed snapshot
    assert waited < 1.0, f"the reads waited {waited:.2f}s behind the writer"
    assert (await e.alert(alert["id"]))["merged_events"] == 2
