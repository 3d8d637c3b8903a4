"""Credit repair (信用修复): eligibility with reasons, the application, the regulator's decision,
and what an approval does to the score and its history."""

from __future__ import annotations

from services.scoring import models as tables
from shared.contracts import enforcement, inspection, registry
from shared.contracts.scoring import CREDIT_REPAIR_APPROVED, SCORE_UPDATED
from tests.scoring.support import DONGGANG, LANSHAN, enterprise, management, missing_day


async def fined_enterprise(scoring, uscc: str, **fields) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """National grade C (7) with a case (5), a penalty (5) and a missing-records day (3): 20, grade B."""
    clock = scoring.clock
    ids = {}
    _, ids["registered"] = await scoring.deliver(registry.ENTERPRISE_REGISTERED,
                                                 enterprise(uscc, general_credit_grade="C", **fields))
    _, ids["case"] = await scoring.deliver(enforcement.CASE_OPENED, {
        "case_id": "C1", "enterprise_uscc": uscc, "opened_date": clock.days_ago(200).isoformat()})
    _, ids["penalty"] = await scoring.deliver(enforcement.PENALTY_DECIDED, {
        "penalty_id": "F1", "case_id": "C1", "enterprise_uscc": uscc, "decided_date": clock.days_ago(180).isoformat()})
    _, ids["missing"] = await scoring.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, clock.days_ago(5)))
    return ids


def url(uscc: str, tail: str = "") -> str:
    return f"/api/v1/enterprises/{uscc}/credit-repairs{tail}"


async def test_an_ineligible_enterprise_is_told_every_reason_and_nothing_is_written(scoring, usccs):
    uscc = usccs()
    await fined_enterprise(scoring, uscc, management=management(missing=("responsible_persons",)))
    await scoring.deliver(registry.ACCIDENT_REPORTED, {"uscc": uscc, "accident_id": "A9", "occurred_date": "2024-03-01",
                                                       "enterprise_responsible": False})
    await scoring.deliver(inspection.HAZARD_RAISED, {"hazard_id": "H1", "enterprise_uscc": uscc,
                                                     "deadline_date": scoring.clock.days_ago(1).isoformat()})

    response = await scoring.client.post(url(uscc), json={"reason": "we fixed everything"},
                                         headers=scoring.auth("enterprise", enterprise=uscc))

    assert response.status_code == 422
    problem = response.json()
    assert problem["reasons"] == [
        "accident A9 on 2024-03-01: 3 accident-free years needed, reached on 2027-03-01",
        "三落实 not in place: responsible persons",
        "hazard H1 not rectified (deadline 2026-06-14)",
    ]
    assert [e["field"] for e in problem["errors"]] == ["eligibility"] * 3
    assert await scoring.count(tables.repairs) == 0
    assert await scoring.audit("credit_repair.applied") == []


async def test_an_approved_repair_takes_the_items_out_of_the_score_and_keeps_them_in_history(scoring, usccs):
    uscc = usccs()
    ids = await fined_enterprise(scoring, uscc)
    assert ((await scoring.score(uscc))["score"], (await scoring.score(uscc))["grade"]) == (20, "B")
    own = scoring.auth("enterprise", sub="safety-director", enterprise=uscc)

    applied = await scoring.client.post(url(uscc), json={"reason": "paid the fine, records restored"}, headers=own)

    assert applied.status_code == 201, applied.text
    repair = applied.json()
    assert (repair["status"], repair["case_ids"], repair["penalty_ids"], repair["missing_record_dates"]) == (
        "pending", ["C1"], ["F1"], [scoring.clock.days_ago(5).isoformat()])
    again = await scoring.client.post(url(uscc), json={"reason": "again"}, headers=own)
    assert again.status_code == 409
    listed = await scoring.client.get(url(uscc), headers=scoring.auth("regulator", jurisdiction=DONGGANG))
    assert [r["id"] for r in listed.json()["items"]] == [repair["id"]]

    approve = url(uscc, f"/{repair['id']}/approve")
    for headers, status in [(own, 403), (scoring.auth("regulator", jurisdiction=LANSHAN), 403),
                            (scoring.auth("integrator"), 403)]:
        assert (await scoring.client.post(approve, json={"reason": "ok"}, headers=headers)).status_code == status
    for body in ({}, {"reason": "   "}, {"reason": "ok", "extra": 1}):
        response = await scoring.client.post(approve, json=body, headers=scoring.city)
        assert response.status_code == 422, body
    assert (await scoring.score(uscc))["score"] == 20, "nothing was applied by the refused requests"

    approved = await scoring.client.post(approve, json={"reason": "corrected in time; fine paid"},
                                         headers=scoring.auth("regulator", sub="officer-7", jurisdiction=DONGGANG))

    assert approved.status_code == 200, approved.text
    decided = approved.json()
    assert (decided["repair"]["status"], decided["repair"]["decided_by"]) == ("approved", "officer-7")
    assert sorted(decided["repair"]["repaired_event_ids"]) == sorted([ids["case"], ids["penalty"], ids["missing"]])
    assert (decided["score"]["score"], decided["score"]["grade"]) == (7, "A")
    [event] = await scoring.outbox(CREDIT_REPAIR_APPROVED.type, uscc)
    assert event["data"]["repaired_event_ids"] == decided["repair"]["repaired_event_ids"]
    [rescored] = [e for e in await scoring.outbox(SCORE_UPDATED.type, uscc)
                  if e["attributes"].get("causationid") == event["attributes"]["id"]]
    assert rescored["attributes"]["correlationid"] == event["attributes"]["id"]
    assert rescored["data"]["trigger_event_type"] == "scoring.credit_repair.approved"
    history = (await scoring.client.get(f"/api/v1/enterprises/{uscc}/score-history", headers=own)).json()["items"]
    before = next(h for h in history if h["score"] == 20)
    assert ids["case"] in next(b["evidence"] for b in before["breakdown"] if b["indicator"] == "G6.cases_opened")
    assert await scoring.count(tables.cases, tables.cases.c.repair_id == repair["id"]) == 1
    assert [a["actor"] for a in await scoring.audit("credit_repair.approved")] == ["officer-7"]
    assert (await scoring.client.post(approve, json={"reason": "twice"}, headers=scoring.city)).status_code == 409


async def test_a_rejected_application_changes_no_score_and_may_be_filed_again(scoring, usccs):
    uscc = usccs()
    await fined_enterprise(scoring, uscc)
    own = scoring.auth("enterprise", enterprise=uscc)
    repair = (await scoring.client.post(url(uscc), json={"reason": "please"}, headers=own)).json()

    rejected = await scoring.client.post(url(uscc, f"/{repair['id']}/reject"),
                                         json={"reason": "the records are still incomplete"}, headers=scoring.city)

    assert rejected.status_code == 200
    assert (rejected.json()["repair"]["status"], rejected.json()["score"]) == ("rejected", None)
    assert (await scoring.score(uscc))["score"] == 20
    assert await scoring.outbox(CREDIT_REPAIR_APPROVED.type, uscc) == []
    assert (await scoring.audit("credit_repair.rejected"))[0]["detail"]["reason"] == "the records are still incomplete"
    assert (await scoring.client.post(url(uscc), json={"reason": "now complete"}, headers=own)).status_code == 201
    unknown = await scoring.client.post(url(uscc, "/no-such-repair/approve"), json={"reason": "x"},
                                        headers=scoring.city)
    assert unknown.status_code == 404


async def test_an_application_may_name_the_items_it_asks_to_repair(scoring, usccs):
    uscc = usccs()
    ids = await fined_enterprise(scoring, uscc)
    own = scoring.auth("enterprise", enterprise=uscc)
    for body, field in [({"reason": "x", "case_ids": ["C404"]}, "case_ids"),
                        ({"reason": "x", "missing_record_dates": ["2020-01-01"]}, "missing_record_dates"),
                        ({"reason": "x", "missing_record_dates": ["yesterday"]}, "missing_record_dates.0"),
                        ({"case_ids": ["C1"]}, "reason")]:
        response = await scoring.client.post(url(uscc), json=body, headers=own)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert await scoring.count(tables.repairs) == 0

    repair = (await scoring.client.post(url(uscc), json={"reason": "the case only", "case_ids": ["C1"],
                                                         "penalty_ids": [], "missing_record_dates": []},
                                        headers=own)).json()
    approved = await scoring.client.post(url(uscc, f"/{repair['id']}/approve"), json={"reason": "ok"},
                                         headers=scoring.city)

    assert approved.json()["repair"]["repaired_event_ids"] == [ids["case"]]
    assert approved.json()["score"]["score"] == 15


async def test_only_the_enterprise_applies_and_only_for_something_to_repair(scoring, usccs):
    clean, fined = usccs(1), usccs(2)
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(clean))
    await fined_enterprise(scoring, fined)

    nothing = await scoring.client.post(url(clean), json={"reason": "x"},
                                        headers=scoring.auth("enterprise", enterprise=clean))
    assert nothing.status_code == 422 and nothing.json()["errors"][0]["field"] == "items"
    for headers, status in [(scoring.city, 403), (scoring.auth("enterprise", enterprise=clean), 403), ({}, 401)]:
        response = await scoring.client.post(url(fined), json={"reason": "x"}, headers=headers)
        assert response.status_code == status
    assert await scoring.count(tables.repairs) == 0


async def test_an_open_order_to_correct_bars_repair_until_rectified_whatever_the_order_of_events(scoring, usccs):
    first, second = usccs(1), usccs(2)
    own = {u: scoring.auth("enterprise", enterprise=u) for u in (first, second)}

    def order(uscc: str, rectified: bool = False) -> dict[str, str | None]:
        return {"order_id": f"O-{uscc[-4:]}", "enterprise_uscc": uscc, "case_id": "C1",
                "issued_date": scoring.clock.days_ago(30).isoformat(),
                "deadline_date": scoring.clock.days_ago(10).isoformat(),
                "rectified_date": scoring.clock.days_ago(1).isoformat() if rectified else None}

    for uscc in (first, second):
        await fined_enterprise(scoring, uscc)
    await scoring.deliver(enforcement.ORDER_ISSUED, order(first))
    refused = await scoring.client.post(url(first), json={"reason": "fixed"}, headers=own[first])
    assert refused.status_code == 422
    assert refused.json()["reasons"] == ["1 order(s) to correct not yet complied with"]
    assert (await scoring.score(first))["score"] == 20, "an order moves no score by itself"

    await scoring.deliver(enforcement.ORDER_RECTIFIED, order(first, rectified=True))
    await scoring.deliver(enforcement.ORDER_RECTIFIED, order(second, rectified=True))  # before its issue
    await scoring.deliver(enforcement.ORDER_ISSUED, order(second))  # a late issue does not reopen it
    for uscc in (first, second):
        applied = await scoring.client.post(url(uscc), json={"reason": "fixed"}, headers=own[uscc])
        assert applied.status_code == 201, applied.text
