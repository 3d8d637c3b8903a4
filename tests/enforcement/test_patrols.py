"""332211 patrols through the API: two inspectors on site, items marked one by one, completion
only with every item marked (patrol.completed in the outbox, the planned visit done), and a failed
item's finding that issues an order to correct and opens a case; by role and jurisdiction."""

from __future__ import annotations

import asyncio

import pytest

from shared.contracts import registry, scoring
from shared.contracts.enforcement import CASE_OPENED, ORDER_ISSUED, PATROL_COMPLETED
from tests.enforcement.support import INSPECTORS, LANSHAN, accident, enterprise, inspectors, score

PHOTO = "ab" * 32


async def d_unit(e, uscc: str) -> None:  # type: ignore[no-untyped-def]
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await e.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    await e.deliver(scoring.SCORE_UPDATED, score(uscc, "D"))


async def start(e, uscc: str, mode: str = "onsite", people=INSPECTORS, headers=None, **extra):  # type: ignore[no-untyped-def]
    return await e.client.post("/api/v1/patrols", json={"enterprise_uscc": uscc, "mode": mode, "inspectors": people,
                                                        **extra}, headers=headers or e.regulator())


async def mark_all(e, patrol_id: str, fail: tuple[int, ...] = ()) -> None:  # type: ignore[no-untyped-def]
    for item in range(1, 13):
        body = {"mark": "fail", "note": "no filling records for 3 days", "photos": [PHOTO]} if item in fail else \
            {"mark": "na" if item == 5 else "pass"}
        response = await e.client.put(f"/api/v1/patrols/{patrol_id}/items/{item}", json=body, headers=e.regulator())
        assert response.status_code == 200, response.text


async def test_a_patrol_marks_every_item_and_completing_it_publishes_the_marks(enforcement, usccs):
    e, uscc = enforcement, usccs(1)
    await d_unit(e, uscc)
    plan = (await e.client.post("/api/v1/plans", json={"jurisdiction_code": "371102", "month": "2026-06"},
                                headers=e.regulator())).json()
    alone = await start(e, uscc, people=INSPECTORS[:1])
    assert alone.status_code == 422 and alone.json()["errors"][0]["field"] == "inspectors"
    patrol = (await start(e, uscc)).json()
    url = f"/api/v1/patrols/{patrol['id']}"

    no_note = await e.client.put(f"{url}/items/12", json={"mark": "fail"}, headers=e.regulator())
    assert no_note.status_code == 422 and no_note.json()["errors"][0]["field"] == "note"
    await e.client.put(f"{url}/items/1", json={"mark": "pass"}, headers=e.regulator())
    early = await e.client.post(f"{url}/complete", json={}, headers=e.regulator())
    assert early.status_code == 422 and "[2, 3, 4" in early.json()["detail"]
    await mark_all(e, patrol["id"], fail=(12,))

    done = await e.client.post(f"{url}/complete", json={"summary": "records missing"}, headers=e.regulator())
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "completed" and done.json()["unmarked"] == []
    [event] = await e.outbox(PATROL_COMPLETED.type)
    assert event["key"] == uscc and event["data"]["mode"] == "onsite"
    assert event["data"]["items"] == {str(n): "fail" if n == 12 else "na" if n == 5 else "pass" for n in range(1, 13)}
    onsite = (await e.client.get(f"/api/v1/plans/{plan['id']}/items", params={"mode": "onsite"},
                                 headers=e.admin)).json()["items"]
    assert [(i["status"], i["patrol_id"]) for i in onsite] == [("done", patrol["id"])]
    final = await e.client.put(f"{url}/items/1", json={"mark": "fail", "note": "x"}, headers=e.regulator())
    assert final.status_code == 409
    assert (await e.client.post(f"{url}/complete", json={}, headers=e.regulator())).status_code == 409


async def test_a_failed_item_opens_a_finding_an_order_and_a_case(enforcement_lite, usccs):
    e, uscc = enforcement_lite, usccs(1)
    await d_unit(e, uscc)
    await e.deliver(registry.ACCIDENT_REPORTED, accident(uscc))
    [alert] = await e.alerts(enterprise=uscc)
    patrol = (await start(e, uscc, mode="online", people=INSPECTORS[:1], alert_id=alert["id"])).json()
    await mark_all(e, patrol["id"], fail=(12,))
    assert (await e.client.post(f"/api/v1/patrols/{patrol['id']}/complete", json={},
                                headers=e.regulator())).status_code == 200
    steps = (await e.alert(alert["id"]))["history"]
    assert steps[-1]["step"] == "patrolled" and steps[-1]["detail"] == {"patrol_id": patrol["id"],
                                                                        "failed_items": [12]}
    url = f"/api/v1/patrols/{patrol['id']}/findings"

    passed = await e.client.post(url, json={"item": 3, "note": "x"}, headers=e.regulator())
    assert passed.status_code == 422 and passed.json()["errors"][0]["field"] == "item"
    bad_code = await e.client.post(url, json={"item": 12, "note": "x", "case": {"offence_code": "SESL-99-9"}},
                                   headers=e.regulator())
    assert bad_code.status_code == 422 and bad_code.json()["errors"][0]["field"] == "case.offence_code"
    past = await e.client.post(url, json={"item": 12, "note": "x", "order": {"deadline_date": "2026-06-01"}},
                               headers=e.regulator())
    assert past.status_code == 422 and past.json()["errors"][0]["field"] == "order.deadline_date"
    assert await e.outbox(ORDER_ISSUED.type) == [], "a refused finding changed nothing"

    finding = await e.client.post(url, json={
        "item": 12, "note": "pre/post-fill check records missing for 3 days",
        "order": {"deadline_date": "2026-06-25"}, "case": {"offence_code": "SESL-85-1"}}, headers=e.regulator())
    assert finding.status_code == 201, finding.text
    found = finding.json()
    [issued] = await e.outbox(ORDER_ISSUED.type)
    [opened] = await e.outbox(CASE_OPENED.type)
    assert issued["data"]["order_id"] == found["order_id"] and issued["data"]["case_id"] == found["case_id"]
    assert opened["data"] == {"case_id": found["case_id"], "enterprise_uscc": uscc, "opened_date": "2026-06-15",
                              "offence_code": "SESL-85-1"}
    case = (await e.client.get(f"/api/v1/cases/{found['case_id']}", headers=e.regulator())).json()
    assert (case["source_kind"], case["source_id"], case["status"]) == ("finding", found["id"], "opened")
    detail = (await e.client.get(f"/api/v1/patrols/{patrol['id']}", headers=e.regulator())).json()
    assert [f["id"] for f in detail["findings"]] == [found["id"]] and detail["marks"][11]["photos"] == [PHOTO]


async def test_patrols_by_role_and_jurisdiction(enforcement_lite, usccs):
    e, uscc = enforcement_lite, usccs(1)
    await d_unit(e, uscc)
    assert (await start(e, uscc, headers=e.regulator(LANSHAN))).status_code == 403
    assert (await start(e, uscc, headers=e.auth("enterprise", enterprise=uscc))).status_code == 403
    assert (await start(e, uscc, headers=e.auth("integrator", scopes=["enforcement:read"]))).status_code == 403
    assert (await start(e, usccs(2))).status_code == 422  # an enterprise registry never published
    patrol = (await start(e, uscc, headers=e.auth("integrator", scopes=["enforcement:write"]))).json()
    url = f"/api/v1/patrols/{patrol['id']}"
    assert (await e.client.get(url, headers=e.auth("enterprise", enterprise=uscc))).status_code == 200
    assert (await e.client.get(url, headers=e.auth("enterprise", enterprise=usccs(2)))).status_code == 403
    assert (await e.client.get(url, headers=e.regulator(LANSHAN))).status_code == 403
    mark = await e.client.put(f"{url}/items/1", json={"mark": "pass"}, headers=e.regulator(LANSHAN))
    assert mark.status_code == 403
    own = (await e.client.get("/api/v1/patrols", headers=e.auth("enterprise", enterprise=uscc))).json()["items"]
    assert [p["id"] for p in own] == [patrol["id"]]
    assert (await e.client.get("/api/v1/patrols", headers=e.regulator(LANSHAN))).json()["items"] == []
    outside = await e.client.get("/api/v1/patrols", params={"jurisdiction": "371102"}, headers=e.regulator(LANSHAN))
    assert outside.status_code == 403
    assert (await e.client.get("/api/v1/patrols", headers=e.auth("association", sub="assoc"))).status_code == 403


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_patrol_completed_twice_at_once_is_completed_once(enforcement, usccs):
    e, uscc = enforcement, usccs(1)
    await d_unit(e, uscc)
    patrol = (await start(e, uscc)).json()
    await mark_all(e, patrol["id"])
    url = f"/api/v1/patrols/{patrol['id']}/complete"
    answers = await asyncio.gather(*(e.client.post(url, json={}, headers=e.regulator()) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert len(await e.outbox(PATROL_COMPLETED.type)) == 1
