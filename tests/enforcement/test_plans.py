"""Supervision plans through the API and the consumer runner: a month's visits by grade and key
supervision (domain.md §7), assigned by grid, completed by patrols, following a grade that changes
mid-month; one plan per jurisdiction and month even when two regulators generate it at once."""

from __future__ import annotations

import asyncio

import pytest

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
