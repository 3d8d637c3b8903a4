"""Cases and decisions through the API: the full lifecycle (opened → evidence → proposal →
decided and signed → closed) with its events and history, the platform's proposals by the three
lists, refused decisions (a fine outside the article's range, an exemption of an offence that
leaves a hazard) that change nothing, and orders to correct re-checked in working days."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy import select

from services.enforcement.models import platform
from shared.contracts import registry, scoring
from shared.contracts.enforcement import CASE_DECIDED, ORDER_ISSUED, ORDER_RECTIFIED, PENALTY_DECIDED
from tests.enforcement.support import LANSHAN, SHANGHAI, accident, enterprise, score

FACTS = {"first_offence": False, "minor": False, "corrected_in_time": False, "leaves_hazard": False}


async def known(e, uscc: str, **fields) -> None:  # type: ignore[no-untyped-def]
    await e.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc, **fields))
    await e.deliver(scoring.SCORE_UPDATED, score(uscc, "D"))


async def case_for(e, uscc: str, offence: str = "SESL-85-1", facts: dict | None = None) -> dict:  # type: ignore[no-untyped-def]
    """A case opened from a public report, with evidence and a proposal from ``facts``."""
    opened = await e.client.post("/api/v1/cases", json={
        "enterprise_uscc": uscc, "offence_code": offence, "source": {"kind": "report", "id": "RPT-1"},
        "summary": "no pre/post-fill check records for a week"}, headers=e.regulator())
    assert opened.status_code == 201, opened.text
    url = f"/api/v1/cases/{opened.json()['id']}"
    evidence = await e.client.post(f"{url}/evidence", json={"kind": "record", "description": "ledger photos"},
                                   headers=e.regulator())
    assert evidence.status_code == 201, evidence.text
    proposed = await e.client.post(f"{url}/proposal", json={**FACTS, **(facts or {})}, headers=e.regulator())
    assert proposed.status_code == 200, proposed.text
    return proposed.json()


def decision(outcome: str = "fine", fine: int | None = 30000, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"outcome": outcome, "fine_yuan": fine, "reasons": "records missing a week", "signer_name": "李明",
            **extra}


async def test_a_case_runs_from_opening_to_close_and_publishes_its_penalty(enforcement, usccs):
    e, uscc = enforcement, usccs(1)
    await known(e, uscc)
    case = await case_for(e, uscc)
    url = f"/api/v1/cases/{case['id']}"
    assert case["status"] == "proposed" and case["proposal"]["outcome"] == "fine"
    assert case["proposal"]["legal_range"] == {"min": 20000, "max": 200000}

    decided = await e.client.post(f"{url}/decision", json=decision(), headers=e.regulator(sub="officer-7"))
    assert decided.status_code == 200, decided.text
    signed = decided.json()
    assert signed["status"] == "decided" and signed["decision"]["signed_by"] == "officer-7"
    assert signed["decision"]["article"] == "85(1)" and len(signed["decision"]["digest"]) == 64
    [penalty] = await e.outbox(PENALTY_DECIDED.type)
    assert penalty["data"] == {"penalty_id": signed["penalty_id"], "case_id": case["id"], "enterprise_uscc": uscc,
                               "decided_date": "2026-06-15", "fine_yuan": 30000}
    [published] = await e.outbox(CASE_DECIDED.type)
    assert (published["data"]["outcome"], published["data"]["penalty_id"], published["data"]["digest"]) == (
        "fine", signed["penalty_id"], signed["decision"]["digest"])
    again = await e.client.post(f"{url}/decision", json=decision(), headers=e.regulator())
    assert again.status_code == 409
    closed = await e.client.post(f"{url}/close", json={"note": "fine paid"}, headers=e.regulator())
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    detail = (await e.client.get(url, headers=e.auth("enterprise", enterprise=uscc))).json()
    assert [s["step"] for s in detail["history"]] == ["opened", "add_evidence", "propose", "decide", "close"]
    assert {s["actor"] for s in detail["history"]} == {"reg-371102", "officer-7"}
    async with e.svc.runtime.session_factory() as session:
        actions = (await session.execute(select(platform.audit_log.c.action).where(
            platform.audit_log.c.subject == case["id"]))).scalars().all()
    assert actions == ["case.opened", "case.decided", "case.closed"]


@pytest.mark.parametrize(("fine", "status"), [(19999, 422), (200001, 422), (20000, 200), (200000, 200)])
async def test_a_fine_outside_the_articles_range_is_refused_naming_it(enforcement_lite, usccs, fine, status):
    e, uscc = enforcement_lite, usccs(1)
    await known(e, uscc)
    case = await case_for(e, uscc)
    response = await e.client.post(f"/api/v1/cases/{case['id']}/decision", json=decision(fine=fine),
                                   headers=e.regulator())
    assert response.status_code == status, response.text
    if status == 422:
        problem = response.json()
        assert problem["fine_range"] == {"min": 20000, "max": 200000} and "¥20,000-¥200,000" in problem["detail"]
        assert problem["errors"][0]["field"] == "fine_yuan"
        after = (await e.client.get(f"/api/v1/cases/{case['id']}", headers=e.admin)).json()
        assert after["status"] == "proposed" and after["decision"] is None
        assert await e.outbox(PENALTY_DECIDED.type) == []


@pytest.mark.parametrize(("offence", "facts", "fields", "outcome", "listed"), [
    ("SESL-85-1", {"first_offence": True, "minor": True, "corrected_in_time": True}, {}, "exempt", "exempt"),
    ("SESL-84-1", {"first_offence": True, "minor": True, "corrected_in_time": True}, {}, "fine", "may_mitigate"),
    ("SESL-85-1", {"leaves_hazard": True, "first_offence": True, "minor": True, "corrected_in_time": True}, {},
     "fine", "may_mitigate"),
    ("SESL-85-1", {}, {"sandbox": True}, "soft_measures", None),
    ("SESL-83-1", {}, {}, "order_to_correct", None),
    ("SESL-83-1", {"prior_order_lapsed": True, "must_mitigate_grounds": ["eliminated_consequences"]}, {}, "fine",
     "must_mitigate"),
])
async def test_the_platform_proposes_by_the_three_lists(enforcement_lite, usccs, offence, facts, fields, outcome,
                                                         listed):
    e, uscc = enforcement_lite, usccs(1)
    await known(e, uscc, **fields)
    proposal = (await case_for(e, uscc, offence, facts))["proposal"]
    assert (proposal["outcome"], proposal["list"]) == (outcome, listed), proposal["reasons"]
    if facts.get("leaves_hazard") or offence == "SESL-84-1":
        assert any("hazard" in r for r in proposal["reasons"])


async def test_an_offence_that_leaves_a_hazard_is_never_exempt(enforcement_lite, usccs):
    e, uscc = enforcement_lite, usccs(1)
    await known(e, uscc)
    case = await case_for(e, uscc, "SESL-85-1", {"leaves_hazard": True, "first_offence": True, "minor": True,
                                                 "corrected_in_time": True})
    refused = await e.client.post(f"/api/v1/cases/{case['id']}/decision", json=decision("exempt", None),
                                  headers=e.regulator())
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "outcome"
    assert "never exempt" in refused.json()["detail"]


async def test_an_order_is_rechecked_within_ten_working_days_across_national_day(enforcement_lite, usccs):
    e, uscc = enforcement_lite, usccs(1)
    e.clock.moment = datetime(2026, 9, 28, 10, tzinfo=SHANGHAI)
    await known(e, uscc)
    case = await case_for(e, uscc, "SESL-83-1")
    decided = await e.client.post(f"/api/v1/cases/{case['id']}/decision", json=decision(
        "order_to_correct", None, order={"requirement": "register the two lifts", "deadline_date": "2026-10-20"}),
        headers=e.regulator())
    assert decided.status_code == 200, decided.text
    order_id = decided.json()["decision"]["order_id"]
    url = f"/api/v1/orders/{order_id}"
    [issued] = await e.outbox(ORDER_ISSUED.type)
    assert issued["data"]["deadline_date"] == "2026-10-20" and issued["data"]["rectified_date"] is None

    own, regulator = e.auth("enterprise", enterprise=uscc), e.regulator()
    assert (await e.client.post(f"{url}/rectification", json={"note": "done"},
                                headers=e.auth("enterprise", enterprise=usccs(2)))).status_code == 403
    assert (await e.client.post(f"{url}/rectification", json={"note": "done"}, headers=regulator)).status_code == 403

    reported = await e.client.post(f"{url}/rectification", json={"note": "registered one"}, headers=own)
    assert reported.status_code == 200, reported.text
    # 9/29, 9/30, then the National Day holiday 10/1-10/7; 10/10 (a Saturday) is a make-up working day
    assert reported.json()["recheck_due_date"] == "2026-10-16"
    assert (await e.client.post(f"{url}/rectification", json={"note": "again"}, headers=own)).status_code == 409
    failed = await e.client.post(f"{url}/verification", json={"passed": False, "note": "one lift still unregistered"},
                                 headers=regulator)
    assert failed.json()["status"] == "open" and failed.json()["recheck_due_date"] is None
    await e.client.post(f"{url}/rectification", json={"note": "registered both"}, headers=own)
    outside = await e.client.post(f"{url}/verification", json={"passed": True, "note": "ok"},
                                  headers=e.regulator(LANSHAN))
    assert outside.status_code == 403
    passed = await e.client.post(f"{url}/verification", json={"passed": True, "note": "both registered"},
                                 headers=regulator)
    assert passed.json()["status"] == "rectified" and passed.json()["version"] == 5
    [rectified] = await e.outbox(ORDER_RECTIFIED.type)
    assert rectified["data"]["order_id"] == order_id and rectified["data"]["rectified_date"] == "2026-09-28"
    assert (await e.client.post(f"{url}/verification", json={"passed": True, "note": "x"},
                                headers=regulator)).status_code == 409
    mine = (await e.client.get("/api/v1/orders", headers=own)).json()["items"]
    assert [o["id"] for o in mine] == [order_id]
    assert (await e.client.get("/api/v1/orders", headers=e.auth("enterprise", enterprise=usccs(2)))).json()[
        "items"] == []


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_regulators_deciding_a_case_at_once_sign_one_decision(enforcement, usccs):
    e, uscc = enforcement, usccs(1)
    await known(e, uscc)
    case = await case_for(e, uscc)
    url = f"/api/v1/cases/{case['id']}/decision"
    answers = await asyncio.gather(e.client.post(url, json=decision(fine=30000), headers=e.regulator(sub="a")),
                                   e.client.post(url, json=decision(fine=50000), headers=e.regulator(sub="b")))
    assert sorted(a.status_code for a in answers) == [200, 409]
    [penalty] = await e.outbox(PENALTY_DECIDED.type)
    winner = next(a.json() for a in answers if a.status_code == 200)
    assert penalty["data"]["fine_yuan"] == winner["decision"]["fine_yuan"]


async def test_a_case_opened_from_an_alert_names_it_and_unknown_sources_are_refused(enforcement_lite, usccs):
    e, uscc = enforcement_lite, usccs(1)
    await known(e, uscc)
    await e.deliver(registry.ACCIDENT_REPORTED, accident(uscc))
    [alert] = await e.alerts(enterprise=uscc)
    body = {"enterprise_uscc": uscc, "offence_code": "SESL-84-1", "summary": "accident on an uninspected lift"}
    opened = await e.client.post("/api/v1/cases", json={**body, "source": {"kind": "alert", "id": alert["id"]}},
                                 headers=e.regulator())
    assert opened.status_code == 201 and opened.json()["source_id"] == alert["id"]
    for source, field in [({"kind": "alert", "id": "00000000-0000-4000-8000-000000000000"}, "source.id"),
                          ({"kind": "finding", "id": "nope"}, "source.id")]:
        refused = await e.client.post("/api/v1/cases", json={**body, "source": source}, headers=e.regulator())
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field
    other = await e.client.post("/api/v1/cases", json={**body, "source": {"kind": "report", "id": "R"}},
                                headers=e.regulator(LANSHAN))
    assert other.status_code == 403
    listed = (await e.client.get("/api/v1/cases", headers=e.regulator(LANSHAN))).json()["items"]
    assert listed == []
    catalogue = (await e.client.get("/api/v1/legal-basis", headers=e.regulator())).json()
    assert "SESL-85-1" in {o["code"] for o in catalogue["offences"]}
