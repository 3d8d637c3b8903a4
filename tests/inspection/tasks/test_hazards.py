"""Hazards (隐患): raised from failed items with a deadline by severity, evidence with the re-check
due in 10 working days (across a public holiday), a rejected verdict reopening it, an accepted one
rectifying it (hazard.rectified), hazard.overdue once per hazard past its deadline, and
hazard.recheck_overdue once per piece of evidence left unverified past its re-check due date."""

from __future__ import annotations

import asyncio
from datetime import date, time, timedelta

import pytest

from services.inspection import jobs
from services.inspection.models import Hazard, HazardEvidence
from shared.contracts import inspection as events
from tests.inspection.support import LANSHAN, TODAY, at
from tests.inspection.tasks_support import Tasks, submission, task_body

pytestmark = pytest.mark.postgres


async def failed_submission(tasks: Tasks, uscc: str, day: date = TODAY, failed=("valve", "extinguisher")
                            ) -> dict:  # type: ignore[no-untyped-def, type-arg]
    tasks.clock.set(day, time(12))
    await tasks.station(uscc)
    response = await tasks.client.post("/api/v1/tasks", json=task_body(uscc, day), headers=tasks.city)
    [task_id] = response.json()["task_ids"]
    photo = await tasks.photo(uscc)
    response = await tasks.submit(task_id, uscc, submission(photo, device=at(day, 10), failed=failed))
    assert response.status_code == 201, response.text
    return response.json()


async def test_failed_items_raise_hazards_with_deadlines_by_severity(tasks, usccs):
    uscc = usccs(0)
    body = await failed_submission(tasks, uscc)
    assert len(body["hazard_ids"]) == 2
    listed = (await tasks.client.get(f"/api/v1/hazards?enterprise={uscc}", headers=tasks.city)).json()["items"]
    deadlines = {h["item_code"]: (h["severity"], h["deadline_date"]) for h in listed}
    assert deadlines == {"valve": ("general", (TODAY + timedelta(days=7)).isoformat()),
                         "extinguisher": ("major", (TODAY + timedelta(days=30)).isoformat())}
    raised = await tasks.outbox(events.HAZARD_RAISED.type, uscc)
    assert {e["data"]["hazard_id"] for e in raised} == set(body["hazard_ids"])
    links = (await tasks.client.get(f"/api/v1/enterprises/{uscc}/chain/links", headers=tasks.admin)).json()["items"]
    assert [link["kind"] for link in links] == ["task_submission", "hazard", "hazard"]


async def test_the_lifecycle_evidence_rejected_evidence_accepted_rectified(tasks, usccs):
    uscc = usccs(0)
    day = date(2026, 9, 29)  # a Tuesday before the National Day holiday (10-01..10-07, 10-10 a make-up day)
    [hazard_id, _] = (await failed_submission(tasks, uscc, day))["hazard_ids"]
    photo = await tasks.photo(uscc)
    path = f"/api/v1/hazards/{hazard_id}"
    early = await tasks.client.post(f"{path}/verify", json={"verdict": "accepted"}, headers=tasks.city)
    assert early.status_code == 409  # nothing to verify yet
    sent = await tasks.client.post(f"{path}/evidence", json={"note": "已更换阀门", "photos": [photo]},
                                   headers=tasks.user(uscc))
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "evidence_submitted"
    assert sent.json()["recheck_due_date"] == "2026-10-19"  # not 10-13: the holiday's days do not count
    twice = await tasks.client.post(f"{path}/evidence", json={"photos": [photo]}, headers=tasks.user(uscc))
    assert twice.status_code == 409
    unexplained = await tasks.client.post(f"{path}/verify", json={"verdict": "rejected"}, headers=tasks.city)
    assert unexplained.status_code == 422
    rejected = await tasks.client.post(f"{path}/verify", json={"verdict": "rejected", "note": "照片模糊"},
                                       headers=tasks.city)
    assert rejected.status_code == 200 and rejected.json()["status"] == "open"
    assert rejected.json()["recheck_due_date"] is None
    tasks.clock.set(date(2026, 10, 8), time(9))
    await tasks.client.post(f"{path}/evidence", json={"note": "重拍", "photos": [photo]}, headers=tasks.user(uscc))
    accepted = await tasks.client.post(f"{path}/verify", json={"verdict": "accepted", "note": "合格"},
                                       headers=tasks.city)
    assert accepted.status_code == 200, accepted.text
    got = accepted.json()
    assert got["status"] == "rectified" and got["rectified_date"] == "2026-10-08"
    assert [e["verdict"] for e in got["evidence"]] == ["rejected", "accepted"]
    [rectified] = await tasks.outbox(events.HAZARD_RECTIFIED.type, uscc)
    assert rectified["data"] == {"hazard_id": hazard_id, "enterprise_uscc": uscc, "rectified_date": "2026-10-08"}
    again = await tasks.client.post(f"{path}/verify", json={"verdict": "accepted"}, headers=tasks.city)
    assert again.status_code == 409
    kinds = [link["kind"] for link in (await tasks.client.get(
        f"/api/v1/enterprises/{uscc}/chain/links", headers=tasks.admin)).json()["items"]]
    assert kinds[-4:] == ["hazard_evidence", "hazard_verification", "hazard_evidence", "hazard_verification"]
    assert (await tasks.verify(uscc))["intact"] is True


async def test_overdue_is_reported_once_and_pending_evidence_stops_the_clock(tasks, usccs):
    late, pending = usccs(0), usccs(1)
    [late_hazard] = (await failed_submission(tasks, late, failed=("valve",)))["hazard_ids"]
    [pending_hazard] = (await failed_submission(tasks, pending, failed=("valve",)))["hazard_ids"]
    photo = await tasks.photo(pending)
    await tasks.client.post(f"/api/v1/hazards/{pending_hazard}/evidence", json={"photos": [photo]},
                            headers=tasks.user(pending))
    deadline = TODAY + timedelta(days=7)
    tasks.clock.set(deadline, time(23))
    assert (await tasks.jobs(deadline))["hazards_overdue"] == []  # the deadline day itself still counts
    tasks.clock.set(deadline + timedelta(days=1), time(0, 5))
    [reported] = (await tasks.jobs())["hazards_overdue"]
    assert reported["hazard_id"] == late_hazard
    assert (await tasks.jobs())["hazards_overdue"] == []
    [event] = await tasks.outbox(events.HAZARD_OVERDUE.type, late)
    assert event["data"]["deadline_date"] == deadline.isoformat() and event["event_id"] == reported["event_id"]
    assert await tasks.outbox(events.HAZARD_OVERDUE.type, pending) == []
    overdue = (await tasks.client.get("/api/v1/hazards?overdue=true", headers=tasks.city)).json()["items"]
    assert [h["id"] for h in overdue] == [late_hazard] and overdue[0]["overdue_reported"] is True


async def test_who_may_see_submit_evidence_and_verify(tasks, usccs):
    uscc = usccs(0)
    [hazard_id, _] = (await failed_submission(tasks, uscc))["hazard_ids"]
    photo = await tasks.photo(uscc)
    path = f"/api/v1/hazards/{hazard_id}"
    lanshan = tasks.auth("regulator", jurisdiction=LANSHAN)
    reads = {"own": tasks.user(uscc), "other enterprise": tasks.user("91371102MA3C5K0X1Q"), "city": tasks.city,
             "lanshan": lanshan, "association": tasks.auth("association")}
    assert {k: (await tasks.client.get(path, headers=h)).status_code for k, h in reads.items()} == {
        "own": 200, "other enterprise": 403, "city": 200, "lanshan": 403, "association": 403}
    regulator_evidence = await tasks.client.post(f"{path}/evidence", json={"photos": [photo]}, headers=tasks.city)
    assert regulator_evidence.status_code == 403
    await tasks.client.post(f"{path}/evidence", json={"photos": [photo]}, headers=tasks.user(uscc))
    for headers in (tasks.user(uscc), lanshan):
        refused = await tasks.client.post(f"{path}/verify", json={"verdict": "accepted"}, headers=headers)
        assert refused.status_code == 403
    assert await tasks.count(HazardEvidence.__table__, HazardEvidence.verdict.is_not(None)) == 0
    assert await tasks.count(Hazard.__table__, Hazard.status == "rectified") == 0
    listed = (await tasks.client.get("/api/v1/hazards", headers=lanshan)).json()["items"]
    assert listed == []


async def test_a_recheck_left_past_its_10_working_days_is_reported_once_per_evidence(tasks, usccs):
    uscc = usccs(0)
    day = date(2026, 9, 29)  # evidence on the 29th: the re-check is due 2026-10-19 (National Day not counted)
    [late, verified] = (await failed_submission(tasks, uscc, day))["hazard_ids"]
    photo = await tasks.photo(uscc)
    for hazard_id in (late, verified):
        sent = await tasks.client.post(f"/api/v1/hazards/{hazard_id}/evidence", json={"photos": [photo]},
                                       headers=tasks.user(uscc))
        assert sent.json()["recheck_due_date"] == "2026-10-19"
    await tasks.client.post(f"/api/v1/hazards/{verified}/verify", json={"verdict": "accepted"}, headers=tasks.city)
    tasks.clock.set(date(2026, 10, 19), time(23))
    assert (await tasks.jobs(date(2026, 10, 19)))["rechecks_overdue"] == []  # the due day itself still counts
    tasks.clock.set(date(2026, 10, 20), time(0, 5))
    runs = await asyncio.gather(*(jobs.run_task_jobs(tasks.runtime, date(2026, 10, 20)) for _ in range(3)))
    [reported] = [r for run in runs for r in run["rechecks_overdue"]]  # replicas at once: one event
    assert (await tasks.jobs())["rechecks_overdue"] == []
    [event] = await tasks.outbox(events.HAZARD_RECHECK_OVERDUE.type, uscc)
    evidence = (await tasks.client.get(f"/api/v1/hazards/{late}", headers=tasks.city)).json()["evidence"]
    assert event["event_id"] == reported["event_id"] and event["data"] == {
        "hazard_id": late, "enterprise_uscc": uscc, "evidence_id": evidence[0]["id"],
        "recheck_due_date": "2026-10-19", "detected_on": "2026-10-20"}
    assert evidence[0]["recheck_overdue_reported"] is True
    # rejected late, new evidence: its own due date, and its own event once that passes
    await tasks.client.post(f"/api/v1/hazards/{late}/verify", json={"verdict": "rejected", "note": "不合格"},
                            headers=tasks.city)
    again = await tasks.client.post(f"/api/v1/hazards/{late}/evidence", json={"photos": [photo]},
                                    headers=tasks.user(uscc))
    assert again.json()["recheck_due_date"] == "2026-11-03"
    tasks.clock.set(date(2026, 11, 4), time(0, 5))
    [second] = (await tasks.jobs())["rechecks_overdue"]
    assert second["evidence_id"] != reported["evidence_id"]
    assert len(await tasks.outbox(events.HAZARD_RECHECK_OVERDUE.type, uscc)) == 2
