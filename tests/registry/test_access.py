"""Who may do what, role by role (contract.md §2: no token 401, not allowed 403)."""

from __future__ import annotations

from tests.registry.support import (
    CITY,
    DONGGANG,
    HEADLINE_GRID,
    HEADLINE_USCC,
    LANSHAN,
    LANSHAN_POINT,
    add_equipment,
    admin,
    count_enterprises,
    days,
    enterprise_body,
    enterprise_user,
    problem,
    published,
    register,
    regulator,
    uscc,
)

HEADLINE = f"/api/v1/enterprises/{HEADLINE_USCC}"


async def test_no_token_or_a_bad_one_is_401(registry) -> None:  # type: ignore[no-untyped-def]
    client = registry.client
    for method, path in (("GET", "/api/v1/enterprises"), ("POST", "/api/v1/enterprises"), ("GET", HEADLINE),
                         ("GET", "/api/v1/jurisdictions"), ("GET", f"{HEADLINE}/qr"), ("POST", "/api/v1/imports")):
        response = await client.request(method, path, json=enterprise_body() if method == "POST" else None)
        assert problem(response, 401)["title"] == "Unauthorized", path
        assert response.headers["www-authenticate"].startswith("Bearer")
    forged = {"Authorization": "Bearer " + registry.token("admin")[:-4] + "AAAA"}
    assert problem(await client.get("/api/v1/enterprises", headers=forged), 401)
    assert await count_enterprises(registry) == 0


async def test_regulators_see_and_change_their_subtree_only(registry) -> None:  # type: ignore[no-untyped-def]
    client = registry.client
    assert problem(await client.post("/api/v1/enterprises", json=enterprise_body(),
                                     headers=regulator(registry, LANSHAN)), 403)
    assert problem(await client.post("/api/v1/enterprises", json=enterprise_body(jurisdiction_code=DONGGANG),
                                     headers=regulator(registry, "371102001")), 403)  # above its township
    assert await count_enterprises(registry) == 0 and await published(registry) == []
    await register(registry, regulator(registry, DONGGANG))

    for node, status in ((CITY, 200), (DONGGANG, 200), (HEADLINE_GRID[:9], 200), (HEADLINE_GRID, 200),
                         (LANSHAN, 403), ("371102001", 403), ("371102003002", 403)):
        response = await client.get(HEADLINE, headers=regulator(registry, node))
        assert response.status_code == status, (node, response.text)
    outsider = regulator(registry, LANSHAN)
    assert problem(await client.patch(HEADLINE, json={"name": "x"}, headers={**outsider, "If-Match": '"1"'}), 403)
    assert problem(await client.post(f"{HEADLINE}/equipment", json={"category": "3000"}, headers=outsider), 403)
    assert problem(await client.post(f"{HEADLINE}/accidents", json={"occurred_date": days(-1)},
                                     headers=outsider), 403)
    assert problem(await client.get(f"{HEADLINE}/qr", headers=outsider), 403)
    moved_out = await client.patch(HEADLINE, json={"jurisdiction_code": LANSHAN, "location": LANSHAN_POINT},
                                   headers={**regulator(registry, DONGGANG), "If-Match": '"1"'})
    assert problem(moved_out, 403)  # may not move a unit out of its own subtree
    city_move = await client.patch(HEADLINE, json={"jurisdiction_code": LANSHAN, "location": LANSHAN_POINT},
                                   headers={**regulator(registry, CITY), "If-Match": '"1"'})
    assert city_move.status_code == 200 and city_move.json()["grid_code"].startswith(LANSHAN)


async def test_enterprise_users_keep_their_own_ledger_only(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry, contacts=[{"name": "王经理", "role": "安全总监", "phone": "13800000000"}])
    await register(registry, uscc=uscc(1))
    client, own, other = registry.client, enterprise_user(registry, HEADLINE_USCC), enterprise_user(registry, uscc(1))

    mine = await client.get(HEADLINE, headers=own)
    assert mine.status_code == 200 and mine.json()["contacts"][0]["phone"] == "13800000000"
    assert problem(await client.get(HEADLINE, headers=other), 403)
    assert problem(await client.post("/api/v1/enterprises", json=enterprise_body(uscc=uscc(2)), headers=own), 403)

    contacts = await client.patch(HEADLINE, json={"contacts": [], "operating_status": "suspended"},
                                  headers={**own, "If-Match": '"1"'})
    assert contacts.status_code == 200 and contacts.json()["operating_status"] == "suspended"
    grade = await client.patch(HEADLINE, json={"general_credit_grade": "A", "contacts": []},
                               headers={**own, "If-Match": contacts.headers["etag"]})
    assert [e["field"] for e in problem(grade, 403)["errors"]] == ["general_credit_grade"]
    etag = {"If-Match": contacts.headers["etag"]}
    assert problem(await client.put(f"{HEADLINE}/key-supervision", json={"designated": False},
                                    headers={**own, **etag}), 403)
    assert problem(await client.put(f"{HEADLINE}/location", json={"lat": 35.42, "lon": 119.52},
                                    headers={**own, **etag}), 403)
    assert problem(await client.post(f"{HEADLINE}/accidents", json={"occurred_date": days(-1)}, headers=own), 403)

    equipment = await add_equipment(registry, HEADLINE_USCC, own, registration_no="梯11鲁L00001(23)")
    assert problem(await client.post(f"/api/v1/enterprises/{uscc(1)}/equipment", json={"category": "3000"},
                                     headers=own), 403)
    assert problem(await client.get(f"/api/v1/equipment/{equipment['id']}", headers=other), 403)
    operator = await client.post(f"{HEADLINE}/operators", json={"name": "李强", "certificate_no": "P-1",
                                                               "certificate_category": "P",
                                                               "certificate_valid_until": days(300)}, headers=own)
    assert operator.status_code == 201
    listing = (await client.get("/api/v1/enterprises", headers=own)).json()
    assert [item["uscc"] for item in listing["items"]] == [HEADLINE_USCC]


async def test_integrators_write_by_scope_and_associations_see_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    client = registry.client
    unscoped = registry.auth("integrator")
    reader = registry.auth("integrator", scopes=["registry:read"])
    writer = registry.auth("integrator", scopes=["registry:write"])
    lanshan_writer = registry.auth("integrator", jurisdiction=LANSHAN, scopes=["registry:write"])
    other_service = registry.auth("integrator", scopes=["inspection:write"])

    assert problem(await client.post("/api/v1/enterprises", json=enterprise_body(), headers=reader), 403)
    assert problem(await client.post("/api/v1/enterprises", json=enterprise_body(), headers=lanshan_writer), 403)
    assert (await client.post("/api/v1/enterprises", json=enterprise_body(), headers=unscoped)).status_code == 201
    second = enterprise_body(uscc=uscc(1))
    assert (await client.post("/api/v1/enterprises", json=second, headers=writer)).status_code == 201
    assert (await client.get(HEADLINE, headers=reader)).status_code == 200
    assert problem(await client.get(HEADLINE, headers=other_service), 403)
    assert problem(await client.get(HEADLINE, headers=lanshan_writer), 403)
    grade = await client.patch(HEADLINE, json={"general_credit_grade": "A"}, headers={**writer, "If-Match": '"1"'})
    assert grade.status_code == 200 and grade.json()["general_credit_grade"] == "A"

    association = registry.auth("association")
    assert problem(await client.get("/api/v1/enterprises", headers=association), 403)
    assert problem(await client.get(HEADLINE, headers=association), 403)
    assert problem(await client.post("/api/v1/admin/daily-job", json={}, headers=regulator(registry, CITY)), 403)
    assert (await client.post("/api/v1/admin/daily-job", json={}, headers=admin(registry))).status_code == 200


async def test_jurisdictions_and_grid_inspectors(registry) -> None:  # type: ignore[no-untyped-def]
    client = registry.client
    tree = (await client.get("/api/v1/jurisdictions", params={"level": "district"},
                             headers=enterprise_user(registry, HEADLINE_USCC))).json()
    assert [(j["code"], j["name"]) for j in tree] == [("371102", "东港区"), ("371103", "岚山区"),
                                                      ("371121", "五莲县"), ("371122", "莒县")]
    city = await client.get(f"/api/v1/jurisdictions/{CITY}", headers=admin(registry))
    assert city.json()["children"] == ["371102", "371103", "371121", "371122"] and city.json()["bounds"]
    grid = await client.get(f"/api/v1/jurisdictions/{HEADLINE_GRID}", headers=admin(registry))
    assert grid.json()["level"] == "grid" and len(grid.json()["inspectors"]) == 2
    path = f"/api/v1/jurisdictions/{HEADLINE_GRID}/inspectors"
    body = {"inspectors": [{"id": "u-1", "name": "孙磊"}]}
    assert problem(await client.put(path, json=body, headers=regulator(registry, DONGGANG)), 428)
    assert problem(await client.put(path, json=body, headers={**regulator(registry, LANSHAN), "If-Match": '"1"'}), 403)
    changed = await client.put(path, json=body, headers={**regulator(registry, DONGGANG), "If-Match": '"1"'})
    assert changed.json()["inspectors"] == body["inspectors"] and changed.headers["etag"] == '"2"'
    assert problem(await client.put(f"/api/v1/jurisdictions/{DONGGANG}/inspectors", json=body,
                                    headers={**admin(registry), "If-Match": '"1"'}), 422)  # not a grid's code
    assert problem(await client.put("/api/v1/jurisdictions/371102999999/inspectors", json=body,
                                    headers={**admin(registry), "If-Match": '"1"'}), 404)  # no such grid
    assert problem(await client.get("/api/v1/jurisdictions/999999", headers=admin(registry)), 404)


async def test_grid_inspectors_are_published_for_the_services_that_dispatch_to_grids(registry) -> None:  # type: ignore[no-untyped-def]
    seeded = await published(registry, "jurisdiction.inspectors_assigned", HEADLINE_GRID)
    assert len(seeded) == 1 and seeded[0].topic == "registry.jurisdictions"
    assert seeded[0].data["revision"] == 1 and len(seeded[0].data["inspectors"]) == 2
    path = f"/api/v1/jurisdictions/{HEADLINE_GRID}/inspectors"
    body = {"inspectors": [{"id": "u-1", "name": "孙磊"}]}
    refused = await registry.client.put(path, json=body, headers={**regulator(registry, LANSHAN), "If-Match": '"1"'})
    assert problem(refused, 403)
    assert len(await published(registry, "jurisdiction.inspectors_assigned", HEADLINE_GRID)) == 1

    changed = await registry.client.put(path, json=body, headers={**regulator(registry, DONGGANG), "If-Match": '"1"'})

    assert changed.status_code == 200
    rows = await published(registry, "jurisdiction.inspectors_assigned", HEADLINE_GRID)
    assert [(r.data["revision"], r.data["inspectors"], r.data["grid_code"]) for r in rows][1:] == [
        (2, body["inspectors"], HEADLINE_GRID)]


async def test_each_load_announces_every_node_with_its_name(registry) -> None:  # type: ignore[no-untyped-def]
    from services.registry.enterprises.service import load_jurisdictions
    from shared.context import unit_of_work

    seeded = await published(registry, "jurisdiction.loaded")
    assert len(seeded) == len({row.key for row in seeded}) > 90 and {row.topic for row in seeded} == {
        "registry.jurisdictions"}
    by_code = {row.key: row.data for row in seeded}
    assert by_code[DONGGANG] == {"code": DONGGANG, "revision": 1, "name": "东港区", "level": "district",
                                 "parent_code": CITY}
    assert (by_code[HEADLINE_GRID]["level"], by_code[CITY]["parent_code"]) == ("grid", None)
    async with unit_of_work(registry.runtime) as ctx:
        await load_jurisdictions(ctx)  # unchanged: announced again, same revisions
    again = await published(registry, "jurisdiction.loaded")
    assert len(again) == 2 * len(seeded) and {row.key: row.data for row in again[len(seeded):]} == by_code
