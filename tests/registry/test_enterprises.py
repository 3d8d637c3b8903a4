"""Enterprises: registration, bad input, optimistic concurrency, search, map, management facts,
key supervision and verified locations, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.registry.support import (
    ALL_IN_PLACE,
    CITY,
    DONGGANG,
    HEADLINE_GRID,
    HEADLINE_USCC,
    LANSHAN,
    LANSHAN_POINT,
    VALIDATION,
    admin,
    count_enterprises,
    enterprise_body,
    enterprise_user,
    error_fields,
    problem,
    published,
    register,
    regulator,
    types_of,
    uscc,
)


async def test_the_headline_enterprise_registers_once(registry) -> None:  # type: ignore[no-untyped-def]
    client = registry.client
    response = await client.post("/api/v1/enterprises", json=enterprise_body(), headers=regulator(registry))
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/api/v1/enterprises/{HEADLINE_USCC}"
    created = response.json()
    assert created["uscc"] == HEADLINE_USCC and created["revision"] == 1
    assert created["jurisdiction_code"] == DONGGANG and created["grid_code"] == HEADLINE_GRID
    assert created["kinds"] == ["gas_filling"] and created["general_credit_grade"] == "B"
    assert created["key_supervision"] is False and created["location_verified"] is False
    assert {k: v["in_place"] for k, v in created["management"].items()} == ALL_IN_PLACE
    assert {v["source"] for v in created["management"].values()} == {"declared"}

    read = await client.get(f"/api/v1/enterprises/{HEADLINE_USCC}", headers=admin(registry))
    assert read.status_code == 200 and read.headers["etag"] == '"1"'
    assert read.json() == created

    again = await client.post("/api/v1/enterprises", json=enterprise_body(name="another"), headers=admin(registry))
    body = problem(again, 409)
    assert body["errors"][0]["field"] == "uscc"
    assert [row.key for row in await published(registry, "enterprise.registered")] == [HEADLINE_USCC]
    missing = await client.get(f"/api/v1/enterprises/{uscc(999)}", headers=admin(registry))
    assert problem(missing, 404)["type"].endswith("not-found")


BAD_REGISTRATIONS = [
    ({"uscc": "91371102MA3C5K0X1"}, "uscc"),  # 17 characters
    ({"uscc": "91371102MA3C5K0I1Q"}, "uscc"),  # I is not in the alphabet
    ({"uscc": "91371102MA3C5K0X1A"}, "uscc"),  # wrong check digit
    ({"jurisdiction_code": "371199"}, "jurisdiction_code"),
    ({"grid_code": "371103001001"}, "grid_code"),  # a grid of another district
    ({"location": {"lat": 36.5, "lon": 119.52}}, "location"),  # inside China, outside 东港区
    ({"location": {"lat": 95, "lon": 119.52}}, "location.lat"),
    ({"venue_type": "casino"}, "venue_type"),
    ({"kinds": ["gas_filling", "bakery"]}, "kinds.1"),
    ({"general_credit_grade": "E"}, "general_credit_grade"),
    ({"management": {"fire_drills": True}}, "management.fire_drills"),
    ({"nickname": "x"}, "nickname"),
]


async def test_bad_registrations_name_the_field_and_write_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    for overrides, field in BAD_REGISTRATIONS:
        response = await registry.client.post("/api/v1/enterprises", json=enterprise_body(**overrides),
                                              headers=admin(registry))
        body = problem(response, 422)
        assert body["type"] == VALIDATION, overrides
        assert field in [e["field"] for e in body["errors"]], (overrides, body)
        assert body["detail"] and "Traceback" not in response.text
    not_json = await registry.client.post("/api/v1/enterprises", content=b"{", headers={
        **admin(registry), "content-type": "application/json"})
    assert not_json.status_code == 422
    assert await count_enterprises(registry) == 0
    assert await published(registry) == []


async def test_only_admins_may_register_a_code_failing_its_checksum(registry) -> None:  # type: ignore[no-untyped-def]
    bad_check = "91371102MA3C5K0X1A"
    flagged = enterprise_body(uscc=bad_check, allow_invalid_check_digit=True)
    response = await registry.client.post("/api/v1/enterprises", json=flagged, headers=regulator(registry))
    assert problem(response, 403)["title"] == "Forbidden"
    assert await count_enterprises(registry) == 0
    response = await registry.client.post("/api/v1/enterprises", json=flagged, headers=admin(registry))
    assert response.status_code == 201 and response.json()["uscc"] == bad_check
    length_still_counts = enterprise_body(uscc="91371102MA3C5K0X", allow_invalid_check_digit=True)
    assert error_fields(await registry.client.post("/api/v1/enterprises", json=length_still_counts,
                                                   headers=admin(registry))) == ["uscc"]


async def test_writes_need_the_current_etag(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    path = f"/api/v1/enterprises/{HEADLINE_USCC}"
    office_a, office_b = regulator(registry), regulator(registry, CITY)

    missing = await registry.client.patch(path, json={"name": "改名"}, headers=office_a)
    assert problem(missing, 428)["title"] == "Precondition required"
    first = await registry.client.patch(path, json={"name": "东港区某液化气站（改）"}, headers={**office_a,
                                                                                          "If-Match": '"1"'})
    assert first.status_code == 200 and first.headers["etag"] == '"2"'
    stale = await registry.client.patch(path, json={"address": "另一个地址"}, headers={**office_b, "If-Match": '"1"'})
    assert problem(stale, 412)["title"] == "Precondition failed"
    assert stale.headers["etag"] == '"2"'
    current = (await registry.client.get(path, headers=office_b)).json()
    assert current["name"] == "东港区某液化气站（改）" and current["address"] != "另一个地址"

    same = await registry.client.patch(path, json={"name": "东港区某液化气站（改）"},
                                       headers={**office_b, "If-Match": '"2"'})
    assert same.status_code == 200 and same.headers["etag"] == '"2"'  # nothing changed: no new revision
    assert types_of(await published(registry)) == ["enterprise.registered", "enterprise.updated"]
    updated = (await published(registry, "enterprise.updated"))[0]
    assert updated.data["revision"] == 2 and updated.data["name"] == "东港区某液化气站（改）"

    nulled = await registry.client.patch(path, json={"name": None}, headers={**office_b, "If-Match": '"2"'})
    assert error_fields(nulled) == ["name"]


async def test_a_nul_character_is_a_422_naming_its_field_and_stores_nothing(registry) -> None:  # type: ignore[no-untyped-def]
    """On PostgreSQL this was a 500 (text cannot hold U+0000); on SQLite it was stored."""
    client = registry.client
    response = await client.post("/api/v1/enterprises", headers=admin(registry), json=enterprise_body(
        name="东港区\u0000液化气站", contacts=[{"name": "张伟", "phone": "0633\u0000"}]))
    assert error_fields(response) == ["name", "contacts.0.phone"], response.text
    assert await count_enterprises(registry) == 0
    await register(registry)
    patched = await client.patch(f"/api/v1/enterprises/{HEADLINE_USCC}", json={"address": "\u0000"},
                                 headers={**admin(registry), "If-Match": '"1"'})
    assert error_fields(patched) == ["address"], patched.text
    searched = await client.get("/api/v1/enterprises", params={"q": "\x00"}, headers=admin(registry))
    assert error_fields(searched) == ["q"], searched.text
    stored = (await client.get(f"/api/v1/enterprises/{HEADLINE_USCC}", headers=admin(registry))).json()
    assert stored["revision"] == 1 and "\x00" not in stored["address"]


async def test_concurrent_writers_cannot_overwrite_each_other(registry) -> None:  # type: ignore[no-untyped-def]
    client, headers = registry.client, admin(registry)
    twins = await asyncio.gather(*(client.post("/api/v1/enterprises", json=enterprise_body(name=f"第{n}份"),
                                               headers=headers) for n in range(2)))
    assert sorted(r.status_code for r in twins) == [201, 409]
    path = f"/api/v1/enterprises/{HEADLINE_USCC}"
    rivals = await asyncio.gather(*(client.patch(path, json={"name": name}, headers={**headers, "If-Match": '"1"'})
                                    for name in ("甲办公室的名字", "乙办公室的名字")))
    assert sorted(r.status_code for r in rivals) == [200, 412]
    winner = next(r for r in rivals if r.status_code == 200).json()["name"]
    assert (await client.get(path, headers=headers)).json()["name"] == winner
    assert types_of(await published(registry)) == ["enterprise.registered", "enterprise.updated"]


async def test_the_api_is_documented(registry) -> None:  # type: ignore[no-untyped-def]
    paths = (await registry.client.get("/openapi.json")).json()["paths"]
    for path in ("/api/v1/enterprises", "/api/v1/enterprises/{uscc}", "/api/v1/enterprises/{uscc}/qr",
                 "/api/v1/equipment/{equipment_id}/qr/label", "/api/v1/public/qr/{token}", "/api/v1/imports",
                 "/api/v1/map/enterprises", "/api/v1/admin/daily-job", "/api/v1/jurisdictions/{code}/inspectors"):
        assert path in paths, path
    patch = paths["/api/v1/enterprises/{uscc}"]["patch"]
    parameters = {p["name"]: p for p in patch["parameters"]}
    assert parameters["uscc"]["schema"]["pattern"] == "^[0-9A-HJ-NPQRTUWXY]{18}$"
    assert parameters["if-match"]["required"] is True and {"412", "428"} <= set(patch["responses"])
    links = paths["/api/v1/enterprises"]["post"]["responses"]["201"]["links"]
    assert links["GetEnterprise"] == {"operationRef": "#/paths/~1api~1v1~1enterprises~1{uscc}/get",
                                      "parameters": {"uscc": "$response.body#/uscc"}}
    equipment = paths["/api/v1/enterprises/{uscc}/equipment"]["post"]["responses"]["201"]["links"]["GetEquipment"]
    assert equipment["parameters"] == {"equipment_id": "$response.body#/id"}
    inspectors = paths["/api/v1/jurisdictions/{code}/inspectors"]["put"]["parameters"]
    assert next(p for p in inspectors if p["name"] == "code")["schema"]["pattern"] == "^[1-9][0-9]{11}$"


async def test_a_public_gathering_venue_is_key_supervision(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    response = await registry.client.patch(f"/api/v1/enterprises/{HEADLINE_USCC}", json={"venue_type": "school"},
                                           headers={**regulator(registry), "If-Match": '"1"'})
    body = response.json()
    assert body["key_supervision"] is True and body["key_supervision_causes"] == ["public_gathering_venue"]
    assert "school" in body["key_supervision_reason"]
    assert response.headers["etag"] == '"3"'
    rows = await published(registry)
    assert types_of(rows) == ["enterprise.registered", "enterprise.updated", "enterprise.key_supervision_changed"]
    assert [row.data["revision"] for row in rows] == [1, 2, 3]
    assert rows[1].data["key_supervision"] is True  # every snapshot is consistent


async def test_search_filters_and_pages_within_scope(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)  # 东港区 gas filling
    await register(registry, uscc=uscc(1), name="日照市第一小学", venue_type="school", kinds=["elevator"],
                   location={"lat": 35.50, "lon": 119.20})
    await register(registry, uscc=uscc(2), name="东港区某商场", venue_type="mall", kinds=["elevator"], location=None)
    for n in range(3, 6):
        await register(registry, uscc=uscc(n, LANSHAN), name=f"岚山某机械厂{n}", jurisdiction_code=LANSHAN,
                       kinds=["lifting"], location=LANSHAN_POINT)
    client, headers = registry.client, admin(registry)

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/enterprises", params=params, headers=headers)).json()
        assert len(page["items"]) <= 2
        seen += [item["uscc"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6

    async def usccs(headers: dict[str, str], **params: object) -> list[str]:
        response = await client.get("/api/v1/enterprises", params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [item["uscc"] for item in response.json()["items"]]

    assert await usccs(headers, kind="gas_filling") == [HEADLINE_USCC]
    assert await usccs(headers, venue_type="school") == [uscc(1)]
    assert len(await usccs(headers, kind="", venue_type="")) == 6  # an empty filter filters nothing
    assert sorted(await usccs(headers, key_supervision="true")) == [uscc(1), uscc(2)]
    assert len(await usccs(headers, jurisdiction=LANSHAN)) == 3
    assert await usccs(headers, jurisdiction=HEADLINE_GRID[:9]) == [HEADLINE_USCC]  # township subtree
    assert await usccs(headers, q="小学") == [uscc(1)]
    assert await usccs(headers, q="%") == []  # LIKE wildcards are literal
    assert len(await usccs(regulator(registry, LANSHAN))) == 3  # a regulator sees its subtree only
    assert await usccs(enterprise_user(registry, uscc(1))) == [uscc(1)]
    assert problem(await client.get("/api/v1/enterprises", params={"jurisdiction": DONGGANG},
                                    headers=regulator(registry, LANSHAN)), 403)
    assert error_fields(await client.get("/api/v1/enterprises", params={"cursor": "garbage!"},
                                         headers=headers)) == ["cursor"]
    assert error_fields(await client.get("/api/v1/enterprises", params={"limit": 0}, headers=headers)) == ["limit"]
    assert error_fields(await client.get("/api/v1/enterprises", params={"kind": "bakery"}, headers=headers)) == [
        "kind"]
    assert error_fields(await client.get("/api/v1/map/enterprises", params={"venue_type": "nil"},
                                         headers=headers)) == ["venue_type"]


async def test_the_map_is_a_geojson_feature_collection(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    await register(registry, uscc=uscc(1), location=None)
    await register(registry, uscc=uscc(2, LANSHAN), jurisdiction_code=LANSHAN, location=LANSHAN_POINT,
                   kinds=["lifting"])
    response = await registry.client.get("/api/v1/map/enterprises", headers=admin(registry))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    collection = response.json()
    assert collection["type"] == "FeatureCollection"
    features = {f["id"]: f for f in collection["features"]}
    assert set(features) == {HEADLINE_USCC, uscc(2, LANSHAN)}  # unlocated units are not drawn
    headline = features[HEADLINE_USCC]
    assert headline["geometry"] == {"type": "Point", "coordinates": [119.52, 35.42]}  # [lon, lat]
    assert headline["properties"]["kinds"] == ["gas_filling"] and headline["properties"]["grid_code"] == HEADLINE_GRID
    assert "contacts" not in headline["properties"]
    lanshan = regulator(registry, LANSHAN)
    scoped = await registry.client.get("/api/v1/map/enterprises", headers=lanshan)
    assert [f["id"] for f in scoped.json()["features"]] == [uscc(2, LANSHAN)]
    filtered = await registry.client.get("/api/v1/map/enterprises", params={"kind": "gas_filling"}, headers=lanshan)
    assert filtered.json()["features"] == []


async def test_declared_facts_are_confirmed_or_refuted_by_patrols(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry, management={"emergency_plan": True})
    path = f"/api/v1/enterprises/{HEADLINE_USCC}/management"
    own = enterprise_user(registry, HEADLINE_USCC)
    assert problem(await registry.client.put(path, json={"training": True}, headers=own), 428)
    declared = await registry.client.put(path, json={"training": True, "emergency_drills": False},
                                         headers={**own, "If-Match": '"1"'})
    assert declared.status_code == 200, declared.text
    assert declared.headers["etag"] == '"2"'
    current = declared.json()["current"]
    assert current["training"]["in_place"] is True and current["emergency_drills"]["in_place"] is False

    observed_at = datetime.now(UTC)  # after the declaration: the patrol's finding wins
    observation = {"facts": {"emergency_plan": False}, "observed_at": observed_at.isoformat(), "patrol_id": "P-1"}
    assert problem(await registry.client.post(path + "/observations", json=observation, headers=own), 403)
    response = await registry.client.post(path + "/observations", json=observation, headers=regulator(registry))
    assert response.status_code == 201, response.text
    plan = response.json()["current"]["emergency_plan"]
    assert plan["in_place"] is False and plan["source"] == "observed"

    late = {"facts": {"emergency_plan": True}, "observed_at": (observed_at - timedelta(days=30)).isoformat()}
    response = await registry.client.post(path + "/observations", json=late, headers=regulator(registry))
    body = response.json()
    assert body["current"]["emergency_plan"]["in_place"] is False  # an older report does not win
    assert len(body["history"]) == 4 and body["history"][0]["patrol_id"] == "P-1"
    future = {"facts": {"training": False}, "observed_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}
    assert error_fields(await registry.client.post(path + "/observations", json=future,
                                                   headers=regulator(registry))) == ["observed_at"]
    assert error_fields(await registry.client.put(path, json={}, headers={**own, "If-Match": '"3"'})) == ["facts"]
    assert types_of(await published(registry)) == ["enterprise.registered", "enterprise.management_facts_changed",
                                                   "enterprise.management_facts_changed"]
    last = (await published(registry, "enterprise.management_facts_changed"))[-1].data
    assert last["management"]["emergency_plan"]["source"] == "observed" and last["revision"] == 3


async def test_designation_is_for_city_and_district_regulators(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    path = f"/api/v1/enterprises/{HEADLINE_USCC}/key-supervision"
    designate = {"designated": True, "reason": "多次投诉"}
    township = regulator(registry, HEADLINE_GRID[:9])
    assert problem(await registry.client.put(path, json=designate, headers={**township, "If-Match": '"1"'}), 403)
    assert problem(await registry.client.put(path, json=designate, headers={
        **regulator(registry, LANSHAN), "If-Match": '"1"'}), 403)
    assert error_fields(await registry.client.put(path, json={"designated": True}, headers={
        **regulator(registry), "If-Match": '"1"'})) == ["reason"]
    response = await registry.client.put(path, json=designate, headers={**regulator(registry), "If-Match": '"1"'})
    body = response.json()
    assert body["key_supervision"] is True and body["key_supervision_causes"] == ["designated"]
    assert body["designation"]["reason"] == "多次投诉" and body["designation"]["designated_by"] == "dev-regulator"
    released = await registry.client.put(path, json={"designated": False}, headers={
        **regulator(registry, CITY), "If-Match": response.headers["etag"]})
    assert released.json()["key_supervision"] is False and released.json()["designation"] is None
    assert types_of(await published(registry))[1:] == ["enterprise.key_supervision_changed"] * 2


async def test_a_regulator_verifies_the_location(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry, location=None)
    path = f"/api/v1/enterprises/{HEADLINE_USCC}/location"
    point = {"lat": 35.42, "lon": 119.52}
    assert problem(await registry.client.put(path, json=point, headers={
        **enterprise_user(registry, HEADLINE_USCC), "If-Match": '"1"'}), 403)
    assert problem(await registry.client.put(path, json=point, headers={
        "Authorization": registry.auth("integrator")["Authorization"], "If-Match": '"1"'}), 403)
    assert error_fields(await registry.client.put(path, json={"lat": 35.0, "lon": 119.53}, headers={
        **regulator(registry), "If-Match": '"1"'})) == ["location"]
    response = await registry.client.put(path, json=point, headers={**regulator(registry), "If-Match": '"1"'})
    body = response.json()
    assert body["location_verified"] is True and body["location"] == point
    assert body["grid_code"] == HEADLINE_GRID  # the confirmed point placed it in its grid
    moved = await registry.client.patch(f"/api/v1/enterprises/{HEADLINE_USCC}",
                                        json={"location": {"lat": 35.43, "lon": 119.53}},
                                        headers={**registry.auth("integrator"), "If-Match": response.headers["etag"]})
    assert moved.status_code == 200 and moved.json()["location_verified"] is False


async def test_the_enterprise_list_answers_any_cursor_it_did_not_issue_with_a_422(registry) -> None:  # type: ignore[no-untyped-def]
    from shared.testing.cursors import forged_cursors

    for n in range(1, 4):
        await register(registry, uscc=uscc(n), name=f"东港区某企业{n}")
    client, headers = registry.client, admin(registry)
    issued = (await client.get("/api/v1/enterprises", params={"limit": 1}, headers=headers)).json()["next_cursor"]
    assert (await client.get("/api/v1/enterprises", params={"cursor": issued}, headers=headers)).status_code == 200
    for name, cursor in forged_cursors(issued).items():
        response = await client.get("/api/v1/enterprises", params={"cursor": cursor}, headers=headers)
        assert error_fields(response) == ["cursor"], (name, response.status_code, response.text)
