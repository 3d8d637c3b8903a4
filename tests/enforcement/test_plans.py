"""Supervision plans through the API and the consumer runner: a month's visits by grade and key
supervision (domain.md §7), assigned by grid, completed by patrols, following a grade that changes
mid-month; one plan per jurisdiction and month even when two regulators generate it at once."""

from __future__ import annotations

import asyncio

import pytest

from services.enforcement import jobs
from shared.contracts import registry, scoring
from tests.enforcement.support import CITY, DONGGANG, GRID, INSPECTORS, LANSHAN, enterprise, inspectors, score

POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
MONTH = "2026-06"  # the clock's month (2026-06-15); its ISO weeks starting in June: 1, 8, 15, 22, 29


async def unit(enforcement, uscc: str, grade: str | None, **fields) -> None:  # type: ignore[no-untyped-def]
    await enforcement.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc, **fields))
    if grade:
        await enforcement.deliver(scoring.SCORE_UPDATED, score(uscc, grade))


async def generate(enforcement, jurisdiction: str = DONGGANG, month: str = MONTH, headers=None):  # type: ignore[no-untyped-def]
    return await enforcement.client.post("/api/v1/plans", json={"jurisdiction_code": jurisdiction, "month": month},
                                         headers=headers or enforcement.regulator(DONGGANG))


async def items(enforcement, plan_id: str, headers=None, **params) -> list[dict]:  # type: ignore[no-untyped-def]
    response = await enforcement.client.get(f"/api/v1/plans/{plan_id}/items", params={"limit": 500, **params},
                                            headers=headers or enforcement.admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def visits(found: list[dict], uscc: str, status: str = "open") -> list[tuple[str, str]]:
    return sorted((i["mode"], i["slot"]) for i in found if i["enterprise_uscc"] == uscc and i["status"] == status)


async def test_a_month_plan_follows_grade_and_key_supervision_and_is_assigned_by_grid(enforcement_lite, usccs):
    e = enforcement_lite
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await unit(e, usccs(1), "A")
    await unit(e, usccs(2), "C")
    await unit(e, usccs(3), "D")
    await unit(e, usccs(4), "A", venue_type="school")  # key supervision: at least C
    await unit(e, usccs(5), "D", jurisdiction=LANSHAN, grid=None)  # another district: not in this plan

    response = await generate(e)
    assert response.status_code == 201, response.text
    plan = response.json()
    found = await items(e, plan["id"])

    assert visits(found, usccs(1)) == []
    # the quarter's on-site visit: no earlier plan of Q2 held it, so this one does
    assert visits(found, usccs(2)) == [("online", "M2026-06"), ("onsite", "Q2026-2")]
    assert visits(found, usccs(3)) == [("online", "W2026-25"), ("online", "W2026-26"), ("online", "W2026-27"),
                                       ("onsite", "M2026-06")]  # weeks from the 15th on: the earlier ones passed
    school = [i for i in found if i["enterprise_uscc"] == usccs(4)]
    assert {i["supervision_grade"] for i in school} == {"C"} and "key supervision" in school[0]["reasons"][1]
    assert not any(i["enterprise_uscc"] == usccs(5) for i in found)
    assert all(i["assignees"] == INSPECTORS and i["grid_code"] == GRID for i in found)
    assert plan["total"]["open"] == len(found) and plan["total"]["completion"] == 0.0
    again = await generate(e)
    assert again.status_code == 409 and again.json()["plan_id"] == plan["id"]


async def test_a_grade_that_changes_mid_month_updates_the_plan(enforcement_lite, usccs):
    e = enforcement_lite
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await unit(e, usccs(1), "B")
    plan = (await generate(e)).json()
    assert visits(await items(e, plan["id"]), usccs(1)) in ([], [("onsite", "Y2026")])  # by its spread month

    await e.deliver(scoring.SCORE_UPDATED, score(usccs(1), "D", computed_at=e.clock.moment))
    found = await items(e, plan["id"])
    assert visits(found, usccs(1)) == [("online", "W2026-25"), ("online", "W2026-26"), ("online", "W2026-27"),
                                       ("onsite", "M2026-06")]
    assert {i["supervision_grade"] for i in found if i["status"] == "open"} == {"D"}

    e.clock.advance(hours=1)
    await e.deliver(scoring.SCORE_UPDATED, score(usccs(1), "A", computed_at=e.clock.moment))
    found = await items(e, plan["id"])
    assert visits(found, usccs(1)) == []
    assert all(i["cancelled_reason"].startswith("no longer needed") for i in found if i["status"] == "cancelled")
    detail = (await e.client.get(f"/api/v1/plans/{plan['id']}", headers=e.admin)).json()
    assert detail["revision"] >= 3 and detail["total"]["open"] == 0


async def test_an_onsite_visit_needs_two_inspectors(enforcement_lite, usccs):
    e = enforcement_lite
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors(people=INSPECTORS[:1]))
    await unit(e, usccs(1), "D")
    plan = (await generate(e)).json()
    [onsite] = [i for i in await items(e, plan["id"], mode="onsite")]
    assert onsite["needs_inspectors"] is True
    url = f"/api/v1/plan-items/{onsite['id']}/assignees"
    one = await e.client.put(url, json={"assignees": INSPECTORS[:1]}, headers=e.regulator())
    assert one.status_code == 422 and one.json()["errors"][0]["field"] == "assignees"
    two = await e.client.put(url, json={"assignees": INSPECTORS}, headers=e.regulator())
    assert two.status_code == 200 and two.json()["needs_inspectors"] is False and two.json()["version"] == 2
    elsewhere = await e.client.put(url, json={"assignees": INSPECTORS}, headers=e.regulator(LANSHAN))
    assert elsewhere.status_code == 403


async def test_plans_are_generated_and_read_within_the_callers_jurisdiction(enforcement_lite, usccs):
    e = enforcement_lite
    await unit(e, usccs(1), "D")
    assert (await generate(e, headers=e.regulator(LANSHAN))).status_code == 403
    assert (await generate(e, headers=e.auth("enterprise", enterprise=usccs(1)))).status_code == 403
    assert (await generate(e, month="2026-05")).status_code == 422  # a month past
    plan = (await generate(e, headers=e.regulator(CITY))).json()
    grid_view = e.regulator(GRID)  # a grid inspector reads their grid's share of the district plan
    assert (await e.client.get(f"/api/v1/plans/{plan['id']}", headers=grid_view)).status_code == 200
    assert len(await items(e, plan["id"], headers=grid_view)) > 0
    assert (await e.client.get(f"/api/v1/plans/{plan['id']}", headers=e.regulator(LANSHAN))).status_code == 403
    listed = (await e.client.get("/api/v1/plans", headers=e.regulator(LANSHAN))).json()["items"]
    assert listed == []


@POSTGRES_ONLY
async def test_two_regulators_generating_the_same_plan_at_once_get_one_plan(enforcement, usccs):
    await unit(enforcement, usccs(1), "D")
    first, second = await asyncio.gather(generate(enforcement), generate(enforcement, headers=enforcement.admin))
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    listed = (await enforcement.client.get("/api/v1/plans", headers=enforcement.admin)).json()["items"]
    assert len(listed) == 1


async def test_every_district_gets_its_month_plan_by_itself_once(enforcement_lite, usccs):
    e = enforcement_lite
    await unit(e, usccs(1), "D")
    await unit(e, usccs(2), "C", jurisdiction=LANSHAN, grid=None)
    made = await jobs.generate_month_plans(e.svc.runtime)
    assert len(made) == 2 and await jobs.generate_month_plans(e.svc.runtime) == []
    listed = (await e.client.get("/api/v1/plans", params={"month": MONTH}, headers=e.admin)).json()["items"]
    assert sorted((p["jurisdiction_code"], p["generated_by"]) for p in listed) == [(DONGGANG, "system"),
                                                                                   (LANSHAN, "system")]
