"""Filling-record ingest: idempotent per batch and per record, each anomaly as an event, records
that are refused with their reason, whole-batch refusals that store nothing; late arrivals;
queries and the CSV export; equipment records and the maintenance-lapse check."""

from __future__ import annotations

import csv
import io
from datetime import date, time, timedelta

import pytest

from services.inspection.models import EquipmentRecord, FillingDay, FillingRecord
from shared.contracts import inspection as events
from shared.contracts import registry
from tests.inspection.support import TODAY, Inspection, at, equipment, fill

pytestmark = pytest.mark.postgres

ANOMALY = events.FILLING_ANOMALY_DETECTED.type


async def clean_station(inspection: Inspection, uscc: str, cylinders: int = 3) -> None:
    await inspection.station(uscc, cylinders={f"C{n:03d}": {} for n in range(1, cylinders + 1)},
                             operators={"P-0001": date(2029, 1, 1)})


async def test_a_clean_batch_is_stored_once_and_sealed_by_one_link(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    records = [fill(uscc, "C001", at(TODAY, 8)), fill(uscc, "C002", at(TODAY, 9)), fill(uscc, "C003", at(TODAY, 10))]
    response = await inspection.upload(records)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["received"], body["stored"], body["duplicate"], body["rejected"], body["anomalies"]) == (3, 3, 0, 0, 0)
    assert [c["sequence"] for c in body["chain"]] == [1]
    assert await inspection.outbox(ANOMALY) == []

    again = await inspection.upload(records)  # a retry without Idempotency-Key: per-record idempotency
    assert again.status_code == 201
    assert (again.json()["stored"], again.json()["duplicate"], again.json()["chain"]) == (0, 3, [])
    assert await inspection.count(FillingRecord.__table__, FillingRecord.__table__.c.enterprise_uscc == uscc) == 3
    assert (await inspection.verify(uscc))["links"] == 1


async def test_the_same_fill_with_another_offset_is_the_same_record(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    first = await inspection.upload([fill(uscc, "C001", "2026-06-15T10:00:00+08:00")])
    same = await inspection.upload([fill(uscc, "C001", "2026-06-15T02:00:00Z"),
                                    fill(uscc, "C001", "2026-06-15T10:00:00+08:00")])
    assert first.json()["stored"] == 1
    assert (same.json()["stored"], same.json()["duplicate"]) == (0, 2)


async def test_a_batch_retried_with_its_idempotency_key_answers_the_first_response(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    headers = {**inspection.scale, "Idempotency-Key": f"batch-{uscc}"}
    first = await inspection.upload([fill(uscc)], headers)
    replay = await inspection.upload([fill(uscc)], headers)
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    other = await inspection.upload([fill(uscc, "C002")], headers)
    assert other.status_code == 422
    assert await inspection.count(FillingRecord.__table__, FillingRecord.__table__.c.enterprise_uscc == uscc) == 1


@pytest.mark.parametrize(("change", "kind", "severity"), [
    ({"cylinder_no": "C404"}, "unknown_cylinder", "general"),
    ({"filled_at": at(TODAY, 3, 30)}, "night_fill", "general"),
    ({"filled_at": at(TODAY, 0, 0)}, "night_fill", "general"),
    ({"pre_check_passed": False}, "failed_pre_check", "general"),
    ({"post_check_passed": False}, "failed_post_check", "general"),
    ({"operator_cert_no": "P-9999"}, "operator_uncertified", "general"),
    ({"operator_cert_no": None}, "operator_uncertified", "general"),
    ({"operator_cert_no": "P-0002"}, "operator_uncertified", "general"),  # expired
    ({"cylinder_no": "C-EXPIRED"}, "expired_cylinder", "serious"),
    ({"cylinder_no": "C-SCRAP-DATE"}, "scrapped_cylinder", "serious"),
    ({"cylinder_no": "C-SCRAPPED"}, "scrapped_cylinder", "serious"),
])
async def test_each_anomaly_is_flagged_as_an_event(inspection, usccs, change, kind, severity):
    uscc = usccs()
    await inspection.station(uscc, cylinders={
        "C001": {}, "C-EXPIRED": {"next_inspection": TODAY - timedelta(days=1)},
        "C-SCRAP-DATE": {"scrap": TODAY - timedelta(days=1)}, "C-SCRAPPED": {"status": "scrapped"}},
        operators={"P-0001": date(2029, 1, 1), "P-0002": TODAY - timedelta(days=1)})
    response = await inspection.upload([fill(uscc, **change)])
    assert response.status_code == 201, response.text
    flagged = await inspection.outbox(ANOMALY, uscc)
    assert [(e["data"]["kind"], e["data"]["severity"]) for e in flagged] == [(kind, severity)]
    assert flagged[0]["attributes"]["subject"] == uscc
    listed = (await inspection.client.get(f"/api/v1/enterprises/{uscc}/filling-records",
                                          headers=inspection.admin)).json()["items"]
    assert flagged[0]["data"]["record_id"] == listed[0]["id"] and listed[0]["anomalies"] == [kind]
    # the duplicate of an anomalous record raises nothing again
    await inspection.upload([fill(uscc, **change)])
    assert len(await inspection.outbox(ANOMALY, uscc)) == 1


async def test_the_last_fill_before_five_and_a_fill_on_the_inspection_date_are_not_anomalies(inspection, usccs):
    uscc = usccs()
    await inspection.station(uscc, cylinders={"C001": {"next_inspection": TODAY, "scrap": TODAY}},
                             operators={"P-0001": TODAY})
    await inspection.upload([fill(uscc, filled_at=at(TODAY, 5, 0)), fill(uscc, filled_at=at(TODAY, 23, 59))])
    assert await inspection.outbox(ANOMALY, uscc) == []


async def test_records_the_rules_refuse_are_named_by_index_and_the_rest_stored(inspection, usccs):
    uscc, stranger = usccs(0), usccs(1)
    await clean_station(inspection, uscc)
    response = await inspection.upload([
        fill(uscc, "C001"),
        fill(stranger, "C001"),
        fill(uscc, "C002", filled_mass_kg=0),
        fill(uscc, "C003", filled_at=at(TODAY + timedelta(days=1))),
        fill(uscc, "C001"),  # the same record twice in one batch
    ])
    body = response.json()
    assert response.status_code == 201
    assert (body["stored"], body["duplicate"], body["rejected"]) == (1, 1, 3)
    assert [(r["index"], r["field"]) for r in body["rejections"]] == [
        (1, "enterprise_uscc"), (2, "filled_mass_kg"), (3, "filled_at")]
    assert all(r["reason"] for r in body["rejections"])


@pytest.mark.parametrize("body", [
    [],
    {"records": "not a list"},
    {"records": []},
    {"records": [{"enterprise_uscc": "X"}]},
    {"records": [{**fill("91371102MA3C5K0X1Q"), "pre_check_passed": "yes"}]},
    {"records": [{**fill("91371102MA3C5K0X1Q"), "filled_mass_kg": "14.5"}]},
    {"records": [{**fill("91371102MA3C5K0X1Q"), "filled_at": "2026-06-15T10:00:00"}]},
    {"records": [{**fill("91371102MA3C5K0X1Q"), "colour": "red"}]},
])
async def test_a_malformed_batch_is_a_422_and_stores_nothing(inspection, usccs, body):
    uscc = usccs()
    await clean_station(inspection, uscc)
    if isinstance(body, dict) and isinstance(body.get("records"), list) and body["records"]:
        body = {"records": [fill(uscc, "C001"), {**body["records"][0], "enterprise_uscc": uscc}]}
    response = await inspection.client.post("/api/v1/filling-records", json=body, headers=inspection.scale)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"]
    assert await inspection.count(FillingRecord.__table__) == 0


async def test_a_batch_over_5000_records_is_refused_whole(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    records = [fill(uscc, f"C{n:05d}", at(TODAY, 10)) for n in range(5001)]
    response = await inspection.upload(records)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "records"
    assert await inspection.count(FillingRecord.__table__) == 0


async def test_records_for_a_day_found_missing_report_their_late_arrival_once(inspection, usccs):
    uscc = usccs()
    yesterday = TODAY - timedelta(days=1)
    inspection.clock.set(yesterday, time(8))
    await clean_station(inspection, uscc)
    inspection.clock.set(yesterday, time(21))
    await inspection.cutoff(yesterday)
    inspection.clock.set(TODAY)
    [missing] = await inspection.outbox(events.FILLING_RECORDS_MISSING.type, uscc)
    await inspection.upload([fill(uscc, "C001", at(yesterday, 18)), fill(uscc, "C002", at(yesterday, 19))])
    await inspection.upload([fill(uscc, "C003", at(yesterday, 20))])
    await inspection.upload([fill(uscc, "C001", at(TODAY, 9))])  # today was not found missing
    [late] = await inspection.outbox(events.FILLING_RECORDS_ARRIVED_LATE.type, uscc)
    assert late["data"]["business_date"] == yesterday.isoformat()
    assert late["data"]["missing_event_id"] == missing["event_id"] and late["data"]["records"] == 2
    assert late["key"] == uscc
    assert await inspection.count(FillingDay.__table__, FillingDay.__table__.c.uscc == uscc) == 2


async def test_records_are_listed_by_cylinder_and_date_range_with_cursors(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    days = [TODAY - timedelta(days=k) for k in range(4)]
    await inspection.upload([fill(uscc, f"C00{n}", at(day, 7 + n)) for day in days for n in (1, 2, 3)])
    url = f"/api/v1/enterprises/{uscc}/filling-records"
    seen, cursor = [], None
    while True:
        params = {"limit": 5, "from": days[2].isoformat(), "to": days[0].isoformat(), **({"cursor": cursor} if cursor
                                                                                         else {})}
        page = (await inspection.client.get(url, params=params, headers=inspection.admin)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == 9 and len({r["id"] for r in seen}) == 9
    assert [r["filled_at"] for r in seen] == sorted(r["filled_at"] for r in seen)
    assert {r["business_date"] for r in seen} == {d.isoformat() for d in days[:3]}
    one = (await inspection.client.get(url, params={"cylinder_no": "C002"}, headers=inspection.admin)).json()
    assert [r["cylinder_no"] for r in one["items"]] == ["C002"] * 4


async def test_the_csv_export_streams_every_record(inspection, usccs):
    uscc = usccs()
    await clean_station(inspection, uscc)
    await inspection.upload([fill(uscc, "C001", at(TODAY, 9)), fill(uscc, "=cmd()", at(TODAY, 10))])
    response = await inspection.client.get(f"/api/v1/enterprises/{uscc}/filling-records.csv",
                                           headers=inspection.enterprise(uscc))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["cylinder_no"] for r in rows] == ["C001", "'=cmd()"]
    assert rows[1]["anomalies"] == "unknown_cylinder"


async def test_equipment_records_are_chained_and_corrections_point_at_the_old_one(inspection, usccs):
    uscc = usccs()
    await inspection.station(uscc, kinds=["elevator"])
    await inspection.deliver(registry.EQUIPMENT_REGISTERED, equipment(uscc, "LIFT-1"))
    url = f"/api/v1/enterprises/{uscc}/equipment-records"
    first = await inspection.client.post(url, headers=inspection.enterprise(uscc), json={
        "equipment_id": "LIFT-1", "kind": "maintenance", "occurred_at": at(TODAY, 9), "note": "半月维保"})
    assert first.status_code == 201, first.text
    fixed = await inspection.client.post(url, headers=inspection.enterprise(uscc), json={
        "equipment_id": "LIFT-1", "kind": "maintenance", "occurred_at": at(TODAY, 9), "note": "半月维保（更正）",
        "corrects_id": first.json()["id"]})
    assert fixed.status_code == 201 and fixed.json()["corrects_id"] == first.json()["id"]
    links = (await inspection.client.get(f"/api/v1/enterprises/{uscc}/chain/links",
                                         headers=inspection.admin)).json()["items"]
    assert [(link["kind"], link["corrects"]) for link in links] == [("equipment_record", None),
                                                                    ("equipment_record", 1)]
    unknown = await inspection.client.post(url, headers=inspection.enterprise(uscc), json={
        "equipment_id": "LIFT-404", "kind": "fault", "occurred_at": at(TODAY, 9)})
    assert unknown.status_code == 404
    listed = (await inspection.client.get(url, params={"kind": "maintenance"}, headers=inspection.admin)).json()
    assert len(listed["items"]) == 2
    assert await inspection.count(EquipmentRecord.__table__) == 2
    assert (await inspection.verify(uscc))["intact"]


async def test_a_lift_without_maintenance_for_15_days_lapses_once_per_due_date(inspection, usccs):
    uscc = usccs()
    await inspection.station(uscc, kinds=["elevator"])
    await inspection.deliver(registry.EQUIPMENT_REGISTERED, equipment(uscc, "LIFT-1"))
    await inspection.deliver(registry.EQUIPMENT_REGISTERED, equipment(uscc, "BOILER-1", category="1100"))
    await inspection.client.post(f"/api/v1/enterprises/{uscc}/equipment-records", headers=inspection.admin, json={
        "equipment_id": "LIFT-1", "kind": "maintenance", "occurred_at": at(TODAY, 9)})

    async def check(day: date) -> list[dict]:
        response = await inspection.client.post("/api/v1/admin/maintenance-checks", json={"date": day.isoformat()},
                                                headers=inspection.admin)
        assert response.status_code == 200, response.text
        return [x for x in response.json()["lapsed"] if x["enterprise_uscc"] == uscc]

    assert await check(TODAY + timedelta(days=15)) == []
    [lapse] = await check(TODAY + timedelta(days=16))
    assert (lapse["equipment_id"], lapse["due_date"], lapse["last_maintenance_date"]) == (
        "LIFT-1", (TODAY + timedelta(days=15)).isoformat(), TODAY.isoformat())
    assert await check(TODAY + timedelta(days=17)) == []  # the same due date: reported once
    [event] = await inspection.outbox(events.MAINTENANCE_LAPSED.type, uscc)
    assert event["event_id"] == lapse["event_id"] and event["data"]["category"] == "3110"
    non_admin = await inspection.client.post("/api/v1/admin/maintenance-checks", json={"date": TODAY.isoformat()},
                                             headers=inspection.city)
    assert non_admin.status_code == 403
