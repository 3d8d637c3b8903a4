"""双随机、一公开: a draw of units and inspectors that anyone can reproduce from what it publishes.
The check below is a second implementation of ``safegrid-draw-v1`` written from the README's
description only (bytes hashed whole, fractions for the size, a heap for the smallest ranks),
run on the draw as the public endpoint publishes it."""

from __future__ import annotations

import hashlib
import heapq
from fractions import Fraction

from sqlalchemy import select

from services.enforcement.models import platform
from shared.contracts import registry, scoring
from tests.enforcement.support import GRID, LANSHAN, enterprise, inspectors, score

SECOND_GRID = "371102003002"
PEOPLE = [{"id": f"insp-{n}", "name": f"检查员{n}"} for n in range(1, 7)]


def reproduce(published: dict) -> list[tuple[str, str, tuple[str, ...]]]:
    """(stratum, uscc, inspectors) in draw order, from the published draw alone."""
    seed = published["seed"].encode()
    out = []
    for stratum in ("A", "B", "C", "D"):
        units = published["units"].get(stratum)
        if units is None:
            continue
        size = int(Fraction(published["rates"][stratum]) * len(units) + Fraction(1, 2))
        ranked = heapq.nsmallest(size, units, key=lambda u: (
            hashlib.sha256(seed + b":unit:" + stratum.encode() + b":" + u.encode()).hexdigest(), u))
        for uscc in ranked:
            pool = [p["id"] for p in published["inspectors"]]
            chosen = heapq.nsmallest(published["inspectors_per_unit"], pool, key=lambda i: (
                hashlib.sha256(seed + b":inspector:" + uscc.encode() + b":" + i.encode()).hexdigest(), i))
            out.append((stratum, uscc, tuple(chosen)))
    return out


async def test_a_draw_is_published_reproducible_and_audited(enforcement_lite, usccs):
    e = enforcement_lite
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors(people=PEOPLE[:3]))
    await e.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors(grid=SECOND_GRID, people=PEOPLE[3:]))
    for n in range(30):
        await e.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(n), grid=GRID if n % 2 else SECOND_GRID))
        await e.deliver(scoring.SCORE_UPDATED, score(usccs(n), "A" if n < 20 else "B"))
    await e.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(99), jurisdiction=LANSHAN, grid=None))
    plan = (await e.client.post("/api/v1/plans", json={"jurisdiction_code": "371102", "month": "2026-06"},
                                headers=e.regulator())).json()
    body = {"rates": {"A": 0.05, "B": 0.2}, "seed": "2026-06-donggang-lottery-0427"}

    response = await e.client.post(f"/api/v1/plans/{plan['id']}/draws", json=body, headers=e.regulator())
    assert response.status_code == 201, response.text
    published = (await e.client.get(f"/api/v1/public/draws/{response.json()['id']}")).json()  # no token

    assert published["algorithm"] == "safegrid-draw-v1" and published["rates"] == {"A": "0.05", "B": "0.2"}
    assert len(published["units"]["A"]) == 20 and len(published["units"]["B"]) == 10
    assert usccs(99) not in published["units"]["A"]  # another district's unit is not in the population
    assert [p["id"] for p in published["inspectors"]] == sorted(p["id"] for p in PEOPLE)
    drawn = [(d["stratum"], d["enterprise_uscc"], tuple(d["inspectors"])) for d in published["sample"]]
    assert drawn == reproduce(published) and len(drawn) == 3  # 5% of 20 and 20% of 10

    sampled = (await e.client.get(f"/api/v1/plans/{plan['id']}/items", params={"source": "sampling"},
                                  headers=e.admin)).json()["items"]
    assert sorted((i["enterprise_uscc"], tuple(a["id"] for a in i["assignees"])) for i in sampled) == sorted(
        (u, i) for _, u, i in drawn)
    assert all(i["mode"] == "onsite" and len(i["assignees"]) == 2 for i in sampled)
    again = await e.client.post(f"/api/v1/plans/{plan['id']}/draws", json=body, headers=e.regulator())
    assert [d["enterprise_uscc"] for d in again.json()["sample"]] == [u for _, u, _ in drawn]  # same seed, same draw
    async with e.svc.runtime.session_factory() as session:
        audited = (await session.execute(select(platform.audit_log.c.detail).where(
            platform.audit_log.c.action == "sampling.drawn"))).scalars().all()
    assert len(audited) == 2 and audited[0]["seed"] == body["seed"]


async def test_a_rate_outside_the_policy_is_refused_naming_the_range(enforcement_lite, usccs):
    e = enforcement_lite
    await e.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(1)))
    plan = (await e.client.post("/api/v1/plans", json={"jurisdiction_code": "371102", "month": "2026-06"},
                                headers=e.regulator())).json()
    url = f"/api/v1/plans/{plan['id']}/draws"
    too_many = await e.client.post(url, json={"rates": {"A": 0.3}, "inspectors": PEOPLE}, headers=e.regulator())
    assert too_many.status_code == 422 and too_many.json()["errors"][0]["field"] == "rates.A"
    assert "0%-5%" in too_many.json()["errors"][0]["message"]
    alone = await e.client.post(url, json={"inspectors": PEOPLE[:1]}, headers=e.regulator())
    assert alone.status_code == 422 and alone.json()["errors"][0]["field"] == "inspectors"
    assert (await e.client.post(url, json={}, headers=e.regulator(LANSHAN))).status_code == 403
    drawn = await e.client.get(f"/api/v1/plans/{plan['id']}/draws", headers=e.admin)
    assert drawn.json()["items"] == []  # nothing was drawn
