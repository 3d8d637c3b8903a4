"""Corrections of filling records: a new version pointing at the old one, which stays as it was;
queries show each fill's current version (every version with versions=all), the CSV export the
correction columns; corrections of corrections, 409 for a superseded version naming the current
one; the anomaly rules on the corrected content, each kind raised once per fill; the cut-off's
days following the current records without taking back what it published; bad input refused with
nothing changed; two corrections racing on PostgreSQL: one wins. The migration gives stored
uploads their batch's link."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from services.inspection.main import MIGRATIONS
from services.inspection.models import ChainLink, FillingDay, FillingRecord
from shared.contracts import inspection as events
from shared.db import build_engine
from shared.migrations import upgrade
from tests.inspection.support import TODAY, Inspection, at, fill

pytestmark = pytest.mark.postgres

ANOMALY = events.FILLING_ANOMALY_DETECTED.type
CORRECTED = events.FILLING_RECORD_CORRECTED.type
records = FillingRecord.__table__


async def station_with_one_fill(inspection: Inspection, uscc: str, **fields: Any) -> str:
    """A clean station (C001, C002, an expired C-EXPIRED, operator P-0001) with one stored fill; its id."""
    await inspection.station(uscc, cylinders={"C001": {}, "C002": {},
                                              "C-EXPIRED": {"next_inspection": TODAY - timedelta(days=1)}},
                             operators={"P-0001": date(2029, 1, 1)})
    response = await inspection.upload([fill(uscc, "C001", at(TODAY, 10), **fields)])
    assert response.json()["stored"] == 1, response.text
    return (await listed(inspection, uscc))[0]["id"]


async def correct(inspection: Inspection, record_id: str, headers: dict[str, str] | None = None,
                  **body: Any) -> Any:
    return await inspection.client.post(f"/api/v1/filling-records/{record_id}/corrections", json=body,
                                        headers=headers or inspection.scale)


async def listed(inspection: Inspection, uscc: str, **params: str) -> list[dict[str, Any]]:
    response = await inspection.client.get(f"/api/v1/enterprises/{uscc}/filling-records", params=params,
                                           headers=inspection.admin)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def links_of(inspection: Inspection, uscc: str) -> list[tuple[str, int | None]]:
    response = await inspection.client.get(f"/api/v1/enterprises/{uscc}/chain/links", headers=inspection.admin)
    return [(link["kind"], link["corrects"]) for link in response.json()["items"]]


async def test_a_correction_is_a_new_version_pointing_at_the_old_one_which_stays(inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    before = (await inspection.sql("SELECT * FROM filling_records WHERE id = :i", i=int(first))).mappings().one()

    response = await correct(inspection, first, inspection.enterprise(uscc), filled_mass_kg=15.0,
                             reason="秤读数录入错误 (the scale's reading was mistyped)")
    assert response.status_code == 201, response.text
    new = response.json()
    assert new["id"] != first
    assert (new["corrects_id"], new["original_id"], new["version"], new["superseded_by_id"]) == (first, first, 2, None)
    assert (new["filled_mass_kg"], new["cylinder_no"], new["changed"]) == (15.0, "C001", ["filled_mass_kg"])
    assert new["correction_reason"].startswith("秤读数") and new["corrected_by"] == f"user-{uscc}"
    assert new["chain"]["sequence"] == new["chain_sequence"] == 2
    after = (await inspection.sql("SELECT * FROM filling_records WHERE id = :i", i=int(first))).mappings().one()
    assert dict(after) == dict(before)  # the original row is never modified

    [current] = await listed(inspection, uscc)
    assert (current["id"], current["filled_mass_kg"]) == (new["id"], 15.0)
    every = await listed(inspection, uscc, versions="all")
    assert [(r["id"], r["version"], r["superseded_by_id"]) for r in every] == [(first, 1, new["id"]),
                                                                               (new["id"], 2, None)]
    old = await inspection.client.get(f"/api/v1/filling-records/{first}", headers=inspection.enterprise(uscc))
    assert (old.status_code, old.json()["superseded_by_id"], old.json()["original_id"]) == (200, new["id"], first)

    assert await links_of(inspection, uscc) == [("filling_batch", None), ("filling_correction", 1)]
    assert (await inspection.verify(uscc))["intact"]
    [event] = await inspection.outbox(CORRECTED, uscc)
    assert event["data"]["record_id"] == new["id"] and event["data"]["corrects_id"] == first
    assert (event["data"]["changed"], event["data"]["version"]) == (["filled_mass_kg"], 2)


async def test_a_correction_of_a_correction_points_at_the_previous_one_and_a_superseded_one_is_a_409(
        inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    second = (await correct(inspection, first, filled_mass_kg=15.0, reason="re-weighed")).json()
    third = await correct(inspection, second["id"], operator_cert_no=None, scale_id="S-2", reason="wrong gun")
    assert third.status_code == 201, third.text
    third = third.json()
    assert (third["corrects_id"], third["original_id"], third["version"]) == (second["id"], first, 3)
    assert (third["filled_mass_kg"], third["operator_cert_no"], third["scale_id"]) == (15.0, None, "S-2")
    assert sorted(third["changed"]) == ["operator_cert_no", "scale_id"]

    for stale in (first, second["id"]):
        refused = await correct(inspection, stale, medium="CNG", reason="late")
        assert refused.status_code == 409, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["current_record_id"] == third["id"] and third["id"] in refused.json()["detail"]
    assert await inspection.count(records, records.c.enterprise_uscc == uscc) == 3
    assert await links_of(inspection, uscc) == [("filling_batch", None), ("filling_correction", 1),
                                                ("filling_correction", 2)]
    assert [r["id"] for r in await listed(inspection, uscc)] == [third["id"]]
    assert (await inspection.verify(uscc))["intact"]


async def test_the_corrected_content_goes_through_the_anomaly_rules_a_kind_raised_again_only_once_cleared(
        inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc, post_check_passed=False)
    [raised] = await inspection.outbox(ANOMALY, uscc)
    assert raised["data"]["kind"] == "failed_post_check"

    second = (await correct(inspection, first, cylinder_no="C-EXPIRED", post_check_passed=True,
                            reason="the cylinder number was misread")).json()
    assert (second["anomalies"], second["raised_anomalies"], second["cleared_anomalies"]) == (
        ["expired_cylinder"], ["expired_cylinder"], ["failed_post_check"])
    flagged = await inspection.outbox(ANOMALY, uscc)
    assert [(e["data"]["record_id"], e["data"]["kind"], e["data"]["severity"]) for e in flagged] == [
        (first, "failed_post_check", "general"), (second["id"], "expired_cylinder", "serious")]
    [corrected] = await inspection.outbox(CORRECTED, uscc)
    assert corrected["data"]["raised_by"] == {"failed_post_check": first}  # the alert it caused names that id

    # back to a failed post-check: the expiry the fill still shows is not raised again; the check the
    # second version cleared (and whose warning it may have resolved) is, as of the third version
    third = (await correct(inspection, second["id"], post_check_passed=False, reason="the re-weigh did fail")).json()
    assert (third["anomalies"], third["raised_anomalies"]) == (["expired_cylinder", "failed_post_check"],
                                                               ["failed_post_check"])
    flagged = await inspection.outbox(ANOMALY, uscc)
    assert [(e["data"]["record_id"], e["data"]["kind"]) for e in flagged][2:] == [(third["id"], "failed_post_check")]
    [*_, last] = await inspection.outbox(CORRECTED, uscc)
    assert (last["data"]["anomalies"], last["data"]["cleared"]) == (["expired_cylinder", "failed_post_check"], [])
    assert (await listed(inspection, uscc))[0]["anomalies"] == ["expired_cylinder", "failed_post_check"]

    # clearing both: each names the version that raised it, the expiry the second, the check the third
    await correct(inspection, third["id"], cylinder_no="C001", post_check_passed=True, reason="both misread")
    [*_, last] = await inspection.outbox(CORRECTED, uscc)
    assert last["data"]["raised_by"] == {"expired_cylinder": second["id"], "failed_post_check": third["id"]}


async def test_a_correction_may_not_make_two_records_of_one_fill_and_a_reupload_stays_a_duplicate(
        inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    await inspection.upload([fill(uscc, "C002", at(TODAY, 10))])
    other = next(r["id"] for r in await listed(inspection, uscc) if r["cylinder_no"] == "C002")
    clash = await correct(inspection, other, cylinder_no="C001", reason="misread")
    assert clash.status_code == 409 and clash.json()["other_record_id"] == first

    moved = await correct(inspection, first, filled_at=at(TODAY, 9), reason="the scale's clock was an hour fast")
    assert moved.status_code == 201, moved.text
    again = await inspection.upload([fill(uscc, "C001", at(TODAY, 10))])  # the scale resends the original
    assert (again.json()["stored"], again.json()["duplicate"]) == (0, 1)
    back = await correct(inspection, moved.json()["id"], filled_at=at(TODAY, 10), reason="it was right")
    assert back.status_code == 201, back.text  # its own fill's first key is no clash
    assert sorted(r["cylinder_no"] for r in await listed(inspection, uscc)) == ["C001", "C002"]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"filled_mass_kg": 15.0}, 422, "reason"),
    ({"reason": "   ", "filled_mass_kg": 15.0}, 422, "reason"),
    ({"reason": "nothing"}, 422, "body"),
    ({"reason": "the same", "filled_mass_kg": 14.5, "cylinder_no": "C001"}, 422, "body"),
    ({"reason": "x", "cylinder_no": None}, 422, "cylinder_no"),
    ({"reason": "x", "enterprise_uscc": "91371102MA3C5K0X1Q"}, 422, "enterprise_uscc"),
    ({"reason": "x", "filled_mass_kg": 0}, 422, "filled_mass_kg"),
    ({"reason": "x", "filled_mass_kg": 2500}, 422, "filled_mass_kg"),
    ({"reason": "x", "filled_mass_kg": "15"}, 422, "filled_mass_kg"),
    ({"reason": "x", "pre_check_passed": "false"}, 422, "pre_check_passed"),
    ({"reason": "x", "filled_at": "2026-06-15T09:00:00"}, 422, "filled_at"),
    ({"reason": "x", "filled_at": 1781000000}, 422, "filled_at"),
    ({"reason": "x", "filled_at": at(TODAY + timedelta(days=1))}, 409, "filled_at"),
])
async def test_bad_input_is_a_problem_naming_the_field_and_changes_nothing(inspection, usccs, body, status, field):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    response = await correct(inspection, first, **body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]
    assert await inspection.count(records, records.c.enterprise_uscc == uscc) == 1
    assert await inspection.count(ChainLink.__table__, ChainLink.__table__.c.enterprise_uscc == uscc) == 1
    assert await inspection.outbox(CORRECTED, uscc) == []


@pytest.mark.parametrize(("record_id", "status"), [("999999999", 404), ("abc", 422), ("0", 422), ("1" * 19, 422)])
async def test_a_record_id_that_names_nothing_is_a_problem(inspection, record_id, status):
    response = await correct(inspection, record_id, filled_mass_kg=15.0, reason="x")
    assert response.status_code == status, response.text
    got = await inspection.client.get(f"/api/v1/filling-records/{record_id}", headers=inspection.admin)
    assert got.status_code == status


async def test_a_correction_retried_with_its_idempotency_key_is_stored_once(inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    headers = {**inspection.scale, "Idempotency-Key": f"fix-{uscc}"}
    made = await correct(inspection, first, headers, filled_mass_kg=15.0, reason="re-weighed")
    replay = await correct(inspection, first, headers, filled_mass_kg=15.0, reason="re-weighed")
    assert replay.status_code == 201 and replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == made.json()
    other = await correct(inspection, first, headers, filled_mass_kg=16.0, reason="re-weighed")
    assert other.status_code == 422
    assert await inspection.count(records, records.c.enterprise_uscc == uscc) == 2


async def test_the_cut_off_judges_the_records_as_they_stand_and_a_correction_takes_back_nothing(inspection, usccs):
    """A fill re-dated from D1 into D0, a day already found missing: D0 is covered from now on, but
    its missing event stands (no arrived_late); D1, left without records, is missing when its
    cut-off runs."""
    uscc = usccs()
    d0, d1 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
    inspection.clock.set(d0, time(8))
    await inspection.station(uscc, cylinders={"C001": {}}, operators={"P-0001": date(2029, 1, 1)})
    inspection.clock.set(d1, time(12))
    await inspection.upload([fill(uscc, "C001", at(d1, 10))])
    await inspection.cutoff(d0)
    [missing] = await inspection.outbox(events.FILLING_RECORDS_MISSING.type, uscc)
    assert missing["data"]["business_date"] == d0.isoformat()

    record_id = (await listed(inspection, uscc))[0]["id"]
    moved = await correct(inspection, record_id, filled_at=at(d0, 10), reason="the scale's date was a day ahead")
    assert moved.status_code == 201 and moved.json()["business_date"] == d0.isoformat()
    days = FillingDay.__table__
    assert await inspection.count(days, days.c.uscc == uscc, days.c.business_date == d0) == 1
    assert await inspection.count(days, days.c.uscc == uscc, days.c.business_date == d1) == 0
    assert await inspection.outbox(events.FILLING_RECORDS_ARRIVED_LATE.type, uscc) == []
    assert await inspection.outbox(events.FILLING_RECORDS_MISSING_WITHDRAWN.type, uscc) == []

    inspection.clock.set(d1, time(21))
    await inspection.cutoff(d1)
    await inspection.cutoff(d0)  # covered now, and found missing once already
    missing = await inspection.outbox(events.FILLING_RECORDS_MISSING.type, uscc)
    assert [e["data"]["business_date"] for e in missing] == [d0.isoformat(), d1.isoformat()]


async def test_the_csv_export_carries_the_correction_columns(inspection, usccs):
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    new = (await correct(inspection, first, filled_mass_kg=15.0, reason="=HYPERLINK(x)")).json()
    url = f"/api/v1/enterprises/{uscc}/filling-records.csv"

    async def rows(**params: str) -> list[dict[str, str]]:
        response = await inspection.client.get(url, params=params, headers=inspection.enterprise(uscc))
        assert response.status_code == 200, response.text
        return list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))

    [current] = await rows()
    assert (current["id"], current["version"], current["corrects_id"], current["original_id"]) == (
        new["id"], "2", first, first)
    assert (current["correction_reason"], current["superseded_by_id"]) == ("'=HYPERLINK(x)", "")
    assert current["corrected_by"] == "scale-system" and current["chain_sequence"] == "2"
    old, _ = await rows(versions="all")
    assert (old["id"], old["superseded_by_id"], old["corrects_id"], old["version"]) == (first, new["id"], "", "1")


async def test_two_corrections_racing_for_one_version_one_wins(inspection, usccs):
    if inspection.runtime.engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers by design; the lock is PostgreSQL's question")
    uscc = usccs()
    first = await station_with_one_fill(inspection, uscc)
    responses = await asyncio.gather(*(correct(inspection, first, filled_mass_kg=15.0 + n, reason=f"racer {n}")
                                       for n in range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 7, [r.text for r in responses]
    [winner] = [r.json() for r in responses if r.status_code == 201]
    assert all(r.json()["current_record_id"] == winner["id"] for r in responses if r.status_code == 409)
    assert await inspection.count(records, records.c.enterprise_uscc == uscc) == 2
    assert [r["id"] for r in await listed(inspection, uscc)] == [winner["id"]]
    assert (await inspection.verify(uscc))["intact"]


async def test_the_migration_gives_each_stored_upload_its_batch_link(empty_database_url):
    await upgrade(MIGRATIONS, empty_database_url, "5b1e7c2d9a40")
    engine = build_engine(empty_database_url)
    uscc, moment = "91371102MA3C5K0X1Q", datetime(2026, 6, 15, 2, 0, tzinfo=UTC)
    try:
        async with engine.begin() as connection:
            for sequence, batch in ((1, "batch-a"), (2, "batch-b")):
                await connection.execute(text(
                    "INSERT INTO chain_links (enterprise_uscc, sequence, previous_hash, payload_hash, link_hash, kind, "
                    "payload, created_at) VALUES (:u, :s, 'p', 'd', 'h', 'filling_batch', :payload, :m)"),
                    {"u": uscc, "s": sequence, "payload": json.dumps({"batch_id": batch, "records": 1}),
                     "m": moment})
            for n, batch in enumerate(("batch-a", "batch-b", "batch-b", "lost")):
                await connection.execute(text(
                    "INSERT INTO filling_records (enterprise_uscc, cylinder_no, medium, filled_at, business_date, "
                    "pre_check_passed, post_check_passed, filled_mass_kg, batch_id, received_at, anomalies) "
                    "VALUES (:u, :c, 'LPG', :m, :d, true, true, 14.5, :b, :m, '')"),
                    {"u": uscc, "c": f"C{n}", "b": batch, "m": moment, "d": TODAY})
        await upgrade(MIGRATIONS, empty_database_url)
        async with engine.connect() as connection:
            rows = (await connection.execute(text(
                "SELECT cylinder_no, chain_sequence, version FROM filling_records ORDER BY cylinder_no"))).all()
    finally:
        await engine.dispose()
    assert [tuple(r) for r in rows] == [("C0", 1, 1), ("C1", 2, 1), ("C2", 2, 1), ("C3", None, 1)]
