"""An enterprise's ledger: equipment and inspections, gas cylinders, operators and accidents."""

from __future__ import annotations

from sqlalchemy import select

from services.registry.models import Operator
from tests.registry.support import (
    HEADLINE_USCC,
    add_equipment,
    admin,
    days,
    enterprise_user,
    error_fields,
    problem,
    published,
    register,
    regulator,
    types_of,
    uscc,
)

HEADLINE = f"/api/v1/enterprises/{HEADLINE_USCC}"
CONTRACT_EQUIPMENT = {"category": "2300", "registration_no": "容3LC鲁L00123(23)", "status": "in_use",
                      "next_inspection_due": days(120)}


async def test_equipment_registers_by_catalogue_category(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    await register(registry, uscc=uscc(1))
    client = registry.client
    created = await client.post(f"{HEADLINE}/equipment", json=CONTRACT_EQUIPMENT, headers=regulator(registry))
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["category"] == "2300" and body["category_name"] == "气瓶" and body["registered"] is True
    assert body["next_inspection_due"] == CONTRACT_EQUIPMENT["next_inspection_due"]
    assert created.headers["location"] == f"/api/v1/equipment/{body['id']}"
    unregistered = await add_equipment(registry, HEADLINE_USCC, category="3000", registration_no=None)
    assert unregistered["registered"] is False and unregistered["registration_no"] is None

    bad = [
        ({**CONTRACT_EQUIPMENT, "registration_no": "梯-1", "category": "7000"}, 422, "category"),
        ({**CONTRACT_EQUIPMENT, "registration_no": "梯-2", "status": "broken"}, 422, "status"),
        ({**CONTRACT_EQUIPMENT, "registration_no": "梯-3", "last_inspection_date": days(200)}, 422,
         "last_inspection_date"),
        ({**CONTRACT_EQUIPMENT, "registration_no": "梯-4", "last_inspection_date": days(-10),
          "next_inspection_due": days(-20)}, 422, "next_inspection_due"),
        ({**CONTRACT_EQUIPMENT, "next_inspection_due": "2026-02-30"}, 422, "next_inspection_due"),
    ]
    for payload, status, field in bad:
        assert field in error_fields(await client.post(f"{HEADLINE}/equipment", json=payload,
                                                       headers=admin(registry)), status), payload
    duplicate = await client.post(f"/api/v1/enterprises/{uscc(1)}/equipment", json=CONTRACT_EQUIPMENT,
                                  headers=admin(registry))
    assert error_fields(duplicate, 409) == ["registration_no"]
    assert types_of(await published(registry, "equipment.registered")) == ["equipment.registered"] * 2

    page = (await client.get(f"{HEADLINE}/equipment", params={"limit": 1}, headers=admin(registry))).json()
    rest = (await client.get(f"{HEADLINE}/equipment", params={"cursor": page["next_cursor"]},
                             headers=admin(registry))).json()
    assert len(page["items"]) == 1 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    only_cylinders = (await client.get(f"{HEADLINE}/equipment", params={"category": "2300"},
                                       headers=admin(registry))).json()
    assert [item["id"] for item in only_cylinders["items"]] == [body["id"]]


async def test_equipment_changes_need_the_etag_and_scrapping_is_final(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    unit = await add_equipment(registry, HEADLINE_USCC, registration_no="梯11鲁L00001(23)")
    path = f"/api/v1/equipment/{unit['id']}"
    own = enterprise_user(registry, HEADLINE_USCC)
    assert problem(await registry.client.patch(path, json={"status": "suspended"}, headers=own), 428)
    suspended = await registry.client.patch(path, json={"status": "suspended"}, headers={**own, "If-Match": '"1"'})
    assert suspended.status_code == 200 and suspended.headers["etag"] == '"2"'
    assert problem(await registry.client.patch(path, json={"status": "scrapped"},
                                               headers={**own, "If-Match": '"1"'}), 412)
    scrapped = await registry.client.patch(path, json={"status": "scrapped"}, headers={**own, "If-Match": '"2"'})
    assert scrapped.json()["status"] == "scrapped"
    revived = await registry.client.patch(path, json={"status": "in_use"}, headers={**own, "If-Match": '"3"'})
    assert error_fields(revived) == ["status"]
    updates = await published(registry, "equipment.updated")
    assert [row.data["status"] for row in updates] == ["suspended", "scrapped"]
    assert [row.data["revision"] for row in updates] == [2, 3]


async def test_an_inspection_moves_the_due_date(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    unit = await add_equipment(registry, HEADLINE_USCC, next_inspection_due=days(-3))
    path = f"/api/v1/equipment/{unit['id']}/inspections"
    headers = enterprise_user(registry, HEADLINE_USCC)
    for payload, field in (
        ({"inspected_date": days(1), "result": "passed", "next_due_date": days(365)}, "inspected_date"),
        ({"inspected_date": days(-1), "result": "passed", "next_due_date": days(-2)}, "next_due_date"),
        ({"inspected_date": days(-1), "result": "passed"}, "next_due_date"),
        ({"inspected_date": days(-1), "result": "okay", "next_due_date": days(300)}, "result"),
    ):
        assert field in error_fields(await registry.client.post(path, json=payload, headers=headers)), payload
    recorded = await registry.client.post(path, json={"inspected_date": days(-1), "result": "passed",
                                                      "next_due_date": days(364), "agency": "日照市特检所",
                                                      "report_no": "R-2026-1"}, headers=headers)
    assert recorded.status_code == 201, recorded.text
    unit = (await registry.client.get(f"/api/v1/equipment/{unit['id']}", headers=headers)).json()
    assert unit["next_inspection_due"] == days(364) and unit["last_inspection_date"] == days(-1)
    assert unit["last_inspection_result"] == "passed" and unit["revision"] == 2
    older = await registry.client.post(path, json={"inspected_date": days(-400), "result": "passed",
                                                   "next_due_date": days(-35)}, headers=headers)
    assert older.status_code == 201  # kept in the history, the unit's dates stay
    history = (await registry.client.get(path, headers=headers)).json()
    assert [h["inspected_date"] for h in history] == [days(-1), days(-400)]
    inspected = await published(registry, "equipment.inspected")
    assert len(inspected) == 1 and inspected[0].data["next_inspection_due"] == days(364)


async def test_gas_cylinders_upsert_by_number(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    path = f"{HEADLINE}/cylinders"
    headers = enterprise_user(registry, HEADLINE_USCC)
    batch = {"cylinders": [
        {"cylinder_no": f"LPG{n:04d}", "medium": "液化石油气", "manufactured_date": days(-1000),
         "next_inspection_date": days(30 * n), "scrap_date": days(1900)} for n in range(1, 4)]}
    first = await registry.client.post(path, json=batch, headers=headers)
    assert first.json() == {"inserted": 3, "updated": 0, "unchanged": 0}
    batch["cylinders"][1]["next_inspection_date"] = days(-5)
    second = await registry.client.post(path, json=batch, headers=headers)
    assert second.json() == {"inserted": 0, "updated": 1, "unchanged": 2}
    bad = {"cylinders": [batch["cylinders"][0], {**batch["cylinders"][2], "cylinder_no": "LPG0009",
                                                  "scrap_date": days(-2000)},
                         {**batch["cylinders"][0]}]}
    fields = error_fields(await registry.client.post(path, json=bad, headers=headers))
    assert fields == ["cylinders.1.scrap_date", "cylinders.2.cylinder_no"]
    listing = (await registry.client.get(path, params={"inspection_due_before": days(0)}, headers=headers)).json()
    assert [c["cylinder_no"] for c in listing["items"]] == ["LPG0002"]
    one = await registry.client.get(f"{path}/LPG0002", headers=headers)
    assert one.json()["revision"] == 2 and one.headers["etag"] == '"2"'
    assert problem(await registry.client.get(f"{path}/LPG0009", headers=headers), 404)
    assert types_of(await published(registry, subject=HEADLINE_USCC))[1:] == [
        "gas_cylinder.registered"] * 3 + ["gas_cylinder.updated"]


async def test_operators_keep_id_numbers_hashed(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    path = f"{HEADLINE}/operators"
    headers = enterprise_user(registry, HEADLINE_USCC)
    valid_id = "11010519491231002X"
    body = {"name": "李强", "id_number": valid_id, "certificate_no": "TSP-0001", "certificate_category": "P",
            "certificate_issued_date": days(-700), "certificate_valid_until": days(760)}
    created = await registry.client.post(path, json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["has_id_number"] is True and "id_number" not in created.json()
    assert valid_id not in created.text
    async with registry.runtime.session_factory() as session:
        row = (await session.execute(select(Operator))).scalar_one()
    assert row.id_number_hash and valid_id not in row.id_number_hash and len(row.id_number_hash) == 64
    for payload, status, field in (
        ({**body, "certificate_no": "TSP-0002", "id_number": "110105194912310021"}, 422, "id_number"),
        ({**body, "certificate_no": "TSP-0003", "certificate_category": "Z9"}, 422, "certificate_category"),
        ({**body, "certificate_no": "TSP-0004", "certificate_valid_until": days(-800)}, 422,
         "certificate_valid_until"),
        ({**body, "certificate_no": "TSP-0005", "certificate_valid_until": None}, 422, "certificate_valid_until"),
        (body, 409, "certificate_no"),
    ):
        assert field in error_fields(await registry.client.post(path, json=payload, headers=headers), status)
    operator_path = f"/api/v1/operators/{created.json()['id']}"
    renewed = await registry.client.patch(operator_path, json={"certificate_valid_until": days(1500)},
                                          headers={**headers, "If-Match": '"1"'})
    assert renewed.status_code == 200 and renewed.json()["certificate_valid_until"] == days(1500)
    assert problem(await registry.client.patch(operator_path, json={"active": False},
                                               headers={**headers, "If-Match": '"1"'}), 412)
    listing = (await registry.client.get(path, headers=admin(registry))).json()
    assert [o["certificate_no"] for o in listing["items"]] == ["TSP-0001"]
    events = await published(registry, subject=HEADLINE_USCC)
    assert types_of(events)[1:] == ["operator.registered", "operator.updated"]
    assert all("id_number" not in str(row.data) and valid_id not in str(row.data) for row in events)


async def test_an_accident_makes_the_unit_key_supervision(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    await register(registry, uscc=uscc(1))
    crane = await add_equipment(registry, HEADLINE_USCC, category="4000", registration_no="起17鲁L00009(22)")
    other_unit = await add_equipment(registry, uscc(1), category="4000")
    path = f"{HEADLINE}/accidents"
    accident = {"occurred_date": days(-10), "equipment_id": crane["id"], "severity": "general",
                "enterprise_responsible": True, "description": "吊物坠落"}
    assert problem(await registry.client.post(path, json=accident,
                                              headers=enterprise_user(registry, HEADLINE_USCC)), 403)
    assert error_fields(await registry.client.post(path, json={**accident, "occurred_date": days(2)},
                                                   headers=regulator(registry))) == ["occurred_date"]
    assert error_fields(await registry.client.post(path, json={**accident, "equipment_id": other_unit["id"]},
                                                   headers=regulator(registry))) == ["equipment_id"]
    reported = await registry.client.post(path, json=accident, headers=regulator(registry))
    assert reported.status_code == 201, reported.text
    unit = (await registry.client.get(HEADLINE, headers=admin(registry))).json()
    assert unit["key_supervision"] is True and unit["key_supervision_causes"] == ["accident"]
    assert unit["last_accident_date"] == days(-10)
    listed = (await registry.client.get(path, headers=enterprise_user(registry, HEADLINE_USCC))).json()
    assert [a["id"] for a in listed] == [reported.json()["id"]]
    accidents = await published(registry, "accident.reported")
    assert accidents[0].topic == "registry.accidents" and accidents[0].data["equipment_id"] == crane["id"]
    changed = await published(registry, "enterprise.key_supervision_changed")
    assert changed[0].data["key_supervision"] is True and changed[0].data["last_accident_date"] == days(-10)
