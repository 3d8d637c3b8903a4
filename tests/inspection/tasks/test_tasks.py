"""Self-inspection tasks: issuing (one enterprise, a filtered set, templates and their
occurrences), each 五定 rejection and flag, idempotent retries, corrections and the record chain,
and task.closed once per task (completed or missed), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import pytest

from services.inspection.models import ChainLink, Submission, Task, platform
from shared.contracts import inspection as events
from shared.contracts import registry, scoring
from tests.inspection.support import LANSHAN, TODAY, at, station
from tests.inspection.tasks_support import MATTERS, PNG, SPOT, Tasks, moment, submission, task_body

pytestmark = pytest.mark.postgres


@pytest.fixture
async def unit(tasks: Tasks, usccs):  # type: ignore[no-untyped-def]
    """A station with a task for today (08:00-18:00, spot 储罐区, photo required) and a photo."""
    uscc = usccs(0)
    await tasks.station(uscc)
    task_id = await tasks.issue(uscc)
    return uscc, task_id, await tasks.photo(uscc)


async def test_a_task_carries_its_five_fixes_and_is_announced(tasks, unit):
    uscc, task_id, _ = unit
    got = (await tasks.client.get(f"/api/v1/tasks/{task_id}", headers=tasks.user(uscc))).json()
    assert got["fence"] == {"lat": 35.42, "lon": 119.52, "radius_m": 200}  # centred on the ledger's location
    assert got["assignee"] == {"kind": "user", "id": f"user-{uscc}"} and got["scene"]["spot"] == SPOT
    assert list(got["matters"]) == ["valve", "extinguisher"] and got["status"] == "open"
    assert got["due_date"] == TODAY.isoformat() and got["cycle"] == "adhoc"
    [issued] = await tasks.outbox(events.TASK_ISSUED.type, uscc)
    assert issued["data"]["task_id"] == task_id


REJECTIONS = {
    "before the window": (dict(device=at(TODAY, 7)), "time", "before_window", "device_time"),
    "device clock ahead of the server": (dict(device=at(TODAY, 13)), "time", "clock_skew", "device_time"),
    "outside the fence": (dict(location={"lat": 35.43, "lon": 119.52}), "location", "outside_fence", "location"),
    "inaccurate GPS": (dict(gps_accuracy_m=500.0), "location", "gps_inaccurate", "gps_accuracy_m"),
    "wrong scene": (dict(spot="办公室"), "scene", "wrong_scene", "spot"),
    "missing photo": (dict(photos=[]), "scene", "photo_missing", "photos"),
    "missing matter": (dict(results={"valve": {"passed": True}}), "matters", "matter_missing",
                       "results.extinguisher"),
}


@pytest.mark.parametrize("case", REJECTIONS)
async def test_each_broken_rule_is_a_422_naming_rule_and_field_and_stores_nothing(tasks, unit, case):
    uscc, task_id, photo = unit
    overrides, rule, code, field = REJECTIONS[case]
    response = await tasks.submit(task_id, uscc, submission(photo, **overrides))
    assert response.status_code == 422, response.text
    problem = response.json()
    assert [(v["rule"], v["code"], v["field"]) for v in problem["violations"]] == [(rule, code, field)]
    assert problem["errors"][0]["field"] == field and problem["type"].endswith("submission-rejected")
    assert await tasks.count(Submission.__table__) == 0
    assert await tasks.count(ChainLink.__table__, ChainLink.enterprise_uscc == uscc) == 0
    assert await tasks.outbox(events.TASK_SUBMITTED.type, uscc) == []


async def test_after_the_window_and_past_the_grace_are_rejected(tasks, unit):
    uscc, task_id, photo = unit
    tasks.clock.set(TODAY, time(19))
    late = await tasks.submit(task_id, uscc, submission(photo, device=at(TODAY, 18, 30)))
    assert late.status_code == 422 and late.json()["violations"][0]["code"] == "after_window"
    tasks.clock.set(TODAY + timedelta(days=3), time(9))  # grace (48 h) over
    offline = await tasks.submit(task_id, uscc, submission(photo, device=at(TODAY, 10)))
    assert offline.status_code == 422
    assert [v["code"] for v in offline.json()["violations"]] == ["past_grace"]


async def test_someone_else_than_the_assignee_is_rejected(tasks, unit):
    uscc, task_id, photo = unit
    response = await tasks.submit(task_id, uscc, submission(photo), headers=tasks.user(uscc, "someone-else"))
    assert response.status_code == 422
    [violation] = response.json()["violations"]
    assert violation["code"] == "wrong_assignee" and "someone-else" in violation["reason"]


async def test_an_operator_assignee_is_matched_by_operator_id(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc, operators={"P-0001": None})
    task_id = await tasks.issue(uscc, assignee=None)
    photo = await tasks.photo(uscc)
    unassigned = await tasks.submit(task_id, uscc, submission(photo))
    assert unassigned.json()["violations"][0]["code"] == "unassigned"
    unknown = await tasks.client.put(f"/api/v1/tasks/{task_id}/assignee", json={"kind": "operator", "id": "OP-x"},
                                     headers=tasks.user(uscc))
    assert unknown.status_code == 422
    operator_id = f"OP-{uscc[-6:]}-0"
    assigned = await tasks.client.put(f"/api/v1/tasks/{task_id}/assignee",
                                      json={"kind": "operator", "id": operator_id}, headers=tasks.user(uscc))
    assert assigned.status_code == 200, assigned.text
    wrong = await tasks.submit(task_id, uscc, submission(photo, operator_id="OP-other"))
    assert wrong.status_code == 422 and wrong.json()["violations"][0]["field"] == "operator_id"
    right = await tasks.submit(task_id, uscc, submission(photo, operator_id=operator_id))
    assert right.status_code == 201, right.text


async def test_a_policy_may_flag_instead_of_reject_with_the_exact_reason(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    task_id = await tasks.issue(uscc, policy={"location": "flag"})
    photo = await tasks.photo(uscc)
    response = await tasks.submit(task_id, uscc, submission(photo, location={"lat": 35.43, "lon": 119.52}))
    assert response.status_code == 201, response.text
    [flag] = response.json()["flags"]
    assert flag["code"] == "outside_fence" and "radius is 200 m" in flag["reason"]
    [submitted] = await tasks.outbox(events.TASK_SUBMITTED.type, uscc)
    assert submitted["data"]["flags"] == ["outside_fence"]


async def test_a_mock_location_and_a_late_offline_arrival_are_accepted_but_flagged(tasks, unit):
    uscc, task_id, photo = unit
    tasks.clock.set(TODAY + timedelta(days=1), time(9))  # offline overnight, within the 48 h grace
    response = await tasks.submit(task_id, uscc, submission(photo, device=at(TODAY, 10), mock_location=True))
    assert response.status_code == 201, response.text
    body = response.json()
    assert sorted(f["code"] for f in body["flags"]) == ["late_offline", "mock_location"]
    assert body["device_time"].startswith(f"{TODAY.isoformat()}T10:00") and body["mock_location"] is True
    assert body["gps_accuracy_m"] == 8.0 and body["server_time"] != body["device_time"]
    got = (await tasks.client.get(f"/api/v1/tasks/{task_id}", headers=tasks.city)).json()
    assert got["status"] == "completed"


async def test_offline_submissions_out_of_order_are_judged_by_device_time(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    tasks.clock.set(TODAY, time(7))
    morning = await tasks.issue(uscc, window_start=at(TODAY, 8), duration_minutes=240)
    afternoon = await tasks.issue(uscc, window_start=at(TODAY, 13), duration_minutes=240)
    photo = await tasks.photo(uscc)
    tasks.clock.set(TODAY, time(20))
    second = await tasks.submit(afternoon, uscc, submission(photo, device=at(TODAY, 14)))
    first = await tasks.submit(morning, uscc, submission(photo, device=at(TODAY, 9)))
    assert second.status_code == first.status_code == 201
    assert [f["code"] for f in first.json()["flags"]] == ["late_offline"]


async def test_retries_are_idempotent_by_key_and_by_client_id(tasks, unit):
    uscc, task_id, photo = unit
    body = submission(photo)
    key = {"Idempotency-Key": "submit-1"}
    first = await tasks.submit(task_id, uscc, body, extra_headers=key)
    replay = await tasks.submit(task_id, uscc, body, extra_headers=key)
    assert first.status_code == replay.status_code == 201 and replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["id"] == first.json()["id"]
    other = await tasks.submit(task_id, uscc, {**body, "note": "changed"}, extra_headers=key)
    assert other.status_code == 422
    by_client = submission(photo, client_id="device-42")
    stored = await tasks.submit(task_id, uscc, by_client)
    again = await tasks.submit(task_id, uscc, by_client)
    assert stored.status_code == 201 and again.status_code == 200 and again.json()["id"] == stored.json()["id"]
    changed = await tasks.submit(task_id, uscc, {**by_client, "note": "edited"})
    assert changed.status_code == 409
    assert await tasks.count(Submission.__table__) == 2
    assert len(await tasks.outbox(events.TASK_SUBMITTED.type, uscc)) == 2


async def test_submissions_join_the_chain_and_a_correction_points_at_the_old(tasks, unit):
    uscc, task_id, photo = unit
    first = (await tasks.submit(task_id, uscc, submission(photo))).json()
    tasks.clock.advance(minutes=5)
    fixed = await tasks.submit(task_id, uscc, submission(photo, note="补充", corrects=first["id"]))
    assert fixed.status_code == 201, fixed.text
    links = (await tasks.client.get(f"/api/v1/enterprises/{uscc}/chain/links", headers=tasks.admin)).json()["items"]
    assert [(link["kind"], link["corrects"]) for link in links] == [
        ("task_submission", None), ("task_submission", first["chain_sequence"])]
    assert photo in links[0]["payload"]  # the photo's hash is sealed in the chain
    assert (await tasks.verify(uscc))["intact"] is True
    stranger = await tasks.submit(task_id, uscc, submission(photo, corrects="not-a-submission"))
    assert stranger.status_code == 422 and stranger.json()["errors"][0]["field"] == "corrects"
    listed = (await tasks.client.get(f"/api/v1/tasks/{task_id}/submissions", headers=tasks.city)).json()
    assert [s["id"] for s in listed["items"]] == [first["id"], fixed.json()["id"]]


async def test_photos_must_be_the_enterprises_own_uploads(tasks, unit, usccs):
    uscc, task_id, _ = unit
    other = usccs(1)
    await tasks.station(other)
    foreign = await tasks.photo(other, PNG, "image/png")
    response = await tasks.submit(task_id, uscc, submission(foreign))
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "photos.0"
    unknown_item = await tasks.submit(task_id, uscc, submission(await tasks.photo(uscc), results={
        "valve": {"passed": True}, "extinguisher": {"passed": True}, "ghost": {"passed": True}}))
    assert unknown_item.status_code == 422 and unknown_item.json()["errors"][0]["field"] == "results.ghost"


async def test_closing_emits_task_closed_once_completed_or_missed(tasks, usccs):
    done, missed = usccs(0), usccs(1)
    for uscc in (done, missed):
        await tasks.station(uscc)
    done_task, missed_task = await tasks.issue(done), await tasks.issue(missed)
    await tasks.submit(done_task, done, submission(await tasks.photo(done)))
    tasks.clock.set(TODAY + timedelta(days=1), time(9))
    assert (await tasks.jobs())["tasks_closed"] == []  # the grace is still running
    tasks.clock.set(TODAY + timedelta(days=2), time(19))
    closed = (await tasks.jobs())["tasks_closed"]
    assert {(c["task_id"], c["completed"]) for c in closed} == {(done_task, True), (missed_task, False)}
    assert (await tasks.jobs())["tasks_closed"] == []
    for uscc, completed in ((done, True), (missed, False)):
        [event] = await tasks.outbox(events.TASK_CLOSED.type, uscc)
        assert event["data"]["completed"] is completed and event["data"]["due_date"] == TODAY.isoformat()
    assert await tasks.count(Task.__table__, Task.status == "missed") == 1


async def test_a_set_is_filtered_by_grade_kind_and_key_supervision_within_the_jurisdiction(tasks, usccs):
    d_unit, key_unit, plain, elsewhere = usccs(0), usccs(1), usccs(2), usccs(3)
    for uscc in (d_unit, key_unit, plain):
        await tasks.station(uscc)
        await tasks.deliver_facts(registry.ENTERPRISE_REGISTERED, station(uscc, key_supervision=uscc == key_unit))
    await tasks.station(elsewhere, jurisdiction=LANSHAN)
    await tasks.deliver_facts(scoring.SCORE_UPDATED, {
        "enterprise_uscc": d_unit, "score": 41.0, "grade": "D", "raw_grade": "D", "model_version": "m",
        "computed_at": at(TODAY, 1)})

    async def issue(target):  # type: ignore[no-untyped-def]
        response = await tasks.client.post("/api/v1/tasks", json=task_body(d_unit, target=target),
                                           headers=tasks.auth("regulator", jurisdiction="371102"))
        assert response.status_code == 201, response.text
        return response.json()

    mine = {d_unit, key_unit, plain}
    graded = await issue({"grades": ["D"]})
    assert graded["issued"] == 1
    keyed = await issue({"key_supervision": True})
    assert keyed["issued"] == 1
    everyone = await issue({"kinds": ["gas_filling"]})
    assert everyone["issued"] == 3
    rows = {r["enterprise_uscc"] for r in (await tasks.client.get("/api/v1/tasks?limit=100", headers=tasks.admin)
                                           ).json()["items"]}
    assert rows == mine  # never the Lanshan station
    outside = await tasks.client.post("/api/v1/tasks", json=task_body(d_unit, target={"jurisdiction_code": LANSHAN}),
                                      headers=tasks.auth("regulator", jurisdiction="371102"))
    assert outside.status_code == 403


async def test_recurring_templates_yield_one_occurrence_per_period_and_inherit_the_assignee(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    template = {"name": "日管控", "cycle": "daily", "target": {"jurisdiction_code": "371102"},
                "opens_at": "08:00", "closes_at": "18:00", "scene": {"kind": "spot", "id": SPOT}, "matters": MATTERS}
    created = await tasks.client.post("/api/v1/task-templates", json=template, headers=tasks.city)
    assert created.status_code == 201, created.text
    assert created.json()["issued"] >= 1
    assert (await tasks.jobs(TODAY))["issued"] == 0  # same period: nothing new
    [today_task] = (await tasks.client.get(f"/api/v1/tasks?enterprise={uscc}", headers=tasks.admin)).json()["items"]
    assert today_task["period_key"] == TODAY.isoformat() and today_task["assignee"] is None
    await tasks.client.put(f"/api/v1/tasks/{today_task['id']}/assignee", json={"kind": "user", "id": f"user-{uscc}"},
                           headers=tasks.user(uscc))
    tasks.clock.set(TODAY + timedelta(days=1), time(0, 5))
    assert (await tasks.jobs())["issued"] >= 1
    assert (await tasks.jobs())["issued"] == 0
    items = (await tasks.client.get(f"/api/v1/tasks?enterprise={uscc}", headers=tasks.admin)).json()["items"]
    assert [t["period_key"] for t in items] == [TODAY.isoformat(), (TODAY + timedelta(days=1)).isoformat()]
    assert items[1]["assignee"] == {"kind": "user", "id": f"user-{uscc}"}
    weekly = await tasks.client.post("/api/v1/task-templates", json={**template, "cycle": "weekly", "name": "周排查"},
                                     headers=tasks.city)
    assert weekly.status_code == 201
    week = [t for t in (await tasks.client.get(f"/api/v1/tasks?enterprise={uscc}", headers=tasks.admin)
                        ).json()["items"] if t["cycle"] == "weekly"]
    assert [t["period_key"] for t in week] == ["2026-W25"] and week[0]["due_date"] == "2026-06-21"


async def test_a_template_is_changed_under_if_match_and_deactivated_stops_its_occurrences(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    template = {"name": "日管控", "cycle": "daily", "target": {"jurisdiction_code": "371102"},
                "opens_at": "08:00", "closes_at": "18:00", "scene": {"kind": "spot", "id": SPOT}, "matters": MATTERS}
    created = (await tasks.client.post("/api/v1/task-templates", json=template, headers=tasks.city)).json()
    path = f"/api/v1/task-templates/{created['id']}"
    read = await tasks.client.get(path, headers=tasks.city)
    assert read.headers["ETag"] == '"1"' and read.json()["revision"] == 1

    async def patch(body, if_match=None, headers=None):  # type: ignore[no-untyped-def]
        extra = {"If-Match": if_match} if if_match else {}
        return await tasks.client.patch(path, json=body, headers={**(headers or tasks.city), **extra})

    assert (await patch({"name": "新"})).status_code == 428
    stale = await patch({"name": "新"}, '"7"')
    assert stale.status_code == 412 and stale.headers["ETag"] == '"1"'
    for bad in ({"cycle": "weekly"}, {"name": ""}, {"opens_at": "25:00"}, {"active": "no"}, {"matters": {}}):
        assert (await patch(bad, '"1"')).status_code == 422, bad
    lanshan = tasks.auth("regulator", jurisdiction=LANSHAN)
    assert (await patch({"name": "新"}, '"1"', lanshan)).status_code == 403
    assert (await tasks.client.get(path, headers=tasks.city)).json() == read.json()  # nothing changed
    renamed = await patch({"name": "日管控(新)", "opens_at": "09:00"}, '"1"')
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["revision"], renamed.headers["ETag"], renamed.json()["opens_at"]) == (2, '"2"', "09:00:00")
    tomorrow = TODAY + timedelta(days=1)
    tasks.clock.set(tomorrow, time(0, 5))
    assert (await tasks.jobs())["issued"] == 1
    off = await patch({"active": False}, '"2"')
    assert off.status_code == 200 and off.json()["active"] is False
    tasks.clock.set(tomorrow + timedelta(days=1), time(0, 5))
    assert (await tasks.jobs())["issued"] == 0  # deactivated: no occurrence, no campaign round either
    extra = await tasks.client.post(f"{path}/tasks", json={"window_start": at(tomorrow + timedelta(days=1), 13),
                                                            "duration_minutes": 60}, headers=tasks.city)
    assert extra.status_code == 409
    on = await patch({"active": True}, "W/\"3\"")
    assert on.json()["issued"] == 1  # reactivated: this period's at once
    items = (await tasks.client.get(f"/api/v1/tasks?enterprise={uscc}", headers=tasks.admin)).json()["items"]
    assert [(t["period_key"], t["title"], moment(t["window_start"]).strftime("%H:%M")) for t in items] == [
        (TODAY.isoformat(), "日管控", "08:00"), (tomorrow.isoformat(), "日管控(新)", "09:00"),
        ((tomorrow + timedelta(days=1)).isoformat(), "日管控(新)", "09:00")]
    assert await tasks.count(platform.audit_log, platform.audit_log.c.action == "task_template.updated") == 3


async def test_two_edits_of_one_revision_at_once_one_wins_the_other_is_412(tasks, usccs):
    """The template is read under lock: on PostgreSQL the second waits, then finds revision 2."""
    template = {"name": "周排查", "cycle": "weekly", "target": {"jurisdiction_code": "371102"},
                "scene": {"kind": "spot", "id": SPOT}, "matters": MATTERS}
    created = (await tasks.client.post("/api/v1/task-templates", json=template, headers=tasks.city)).json()
    path = f"/api/v1/task-templates/{created['id']}"
    answers = await asyncio.gather(*(tasks.client.patch(path, json={"name": name}, headers={
        **tasks.city, "If-Match": '"1"'}) for name in ("甲", "乙")))
    assert sorted(a.status_code for a in answers) == [200, 412]
    final = (await tasks.client.get(path, headers=tasks.city)).json()
    [winner] = [a.json()["name"] for a in answers if a.status_code == 200]
    assert (final["revision"], final["name"]) == (2, winner)
