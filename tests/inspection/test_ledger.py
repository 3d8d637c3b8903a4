"""The ledger projection of registry events (newer revisions win, removals drop rows) and the
declared closed days: who may declare or cancel which day, and how they are listed."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from services.inspection.models import LedgerCylinder, LedgerEnterprise, LedgerOperator
from shared.contracts import registry
from tests.inspection.support import LANSHAN, TODAY, cylinder, operator, station

pytestmark = pytest.mark.postgres


async def test_snapshots_apply_when_newer_and_removals_drop_the_item(inspection, usccs):
    uscc = usccs()
    await inspection.deliver(registry.ENTERPRISE_REGISTERED, station(uscc, 2, name="新名"))
    assert await inspection.deliver(registry.ENTERPRISE_UPDATED, station(uscc, 1, name="旧名")) == "applied"
    async with inspection.runtime.session_factory() as session:
        from sqlalchemy import select

        row = (await session.execute(select(LedgerEnterprise.__table__).where(
            LedgerEnterprise.__table__.c.uscc == uscc))).mappings().one()
    assert (row["name"], row["revision"], row["filling_unit"]) == ("新名", 2, True)
    await inspection.deliver(registry.GAS_CYLINDER_REGISTERED, cylinder(uscc, "C001", revision=1))
    await inspection.deliver(registry.OPERATOR_REGISTERED, operator(uscc, "P-1", revision=1))
    removed = {"uscc": uscc, "item_id": cylinder(uscc, "C001")["cylinder_id"], "revision": 2, "reason": "moved",
               "moved_to": usccs(1), "cylinder_no": "C001"}
    await inspection.deliver(registry.GAS_CYLINDER_REMOVED, removed)
    await inspection.deliver(registry.OPERATOR_REMOVED, {"uscc": uscc, "item_id": operator(uscc, "P-1")["operator_id"],
                                                         "revision": 1, "reason": "deleted"})
    assert await inspection.count(LedgerCylinder.__table__, LedgerCylinder.__table__.c.uscc == uscc) == 0
    assert await inspection.count(LedgerOperator.__table__, LedgerOperator.__table__.c.uscc == uscc) == 0
    # the same event again is dropped by the inbox
    event_id = "7d1f5b56-0000-4000-8000-000000000001"
    assert await inspection.deliver(registry.ENTERPRISE_UPDATED, station(uscc, 3), event_id=event_id) == "applied"
    assert await inspection.deliver(registry.ENTERPRISE_UPDATED, station(uscc, 3), event_id=event_id) == "duplicate"


async def test_an_enterprise_declares_a_day_ahead_and_may_cancel_it_until_its_cutoff(inspection, usccs):
    uscc = usccs()
    await inspection.station(uscc)
    url = f"/api/v1/enterprises/{uscc}/closed-days"
    me = inspection.enterprise(uscc)
    tomorrow = TODAY + timedelta(days=1)
    created = await inspection.client.post(url, json={"date": tomorrow.isoformat(), "reason": "春节停业"}, headers=me)
    assert created.status_code == 201, created.text
    assert created.json()["declared_by_role"] == "enterprise"
    again = await inspection.client.post(url, json={"date": tomorrow.isoformat(), "reason": "x"}, headers=me)
    assert again.status_code == 200 and again.json()["reason"] == "春节停业"
    today = await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "停电"}, headers=me)
    assert today.status_code == 201  # before today's cut-off (21:00)
    inspection.clock.set(TODAY, time(21, 30))
    late = await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "停电"}, headers=me)
    assert late.status_code == 200  # already declared: nothing changes
    past = await inspection.client.post(url, json={"date": (TODAY - timedelta(days=1)).isoformat(), "reason": "x"},
                                        headers=me)
    assert past.status_code == 409
    assert (await inspection.client.delete(f"{url}/{TODAY.isoformat()}", headers=me)).status_code == 409
    assert (await inspection.client.delete(f"{url}/{tomorrow.isoformat()}", headers=me)).status_code == 204
    assert (await inspection.client.delete(f"{url}/{tomorrow.isoformat()}", headers=me)).status_code == 404
    listed = (await inspection.client.get(url, headers=me)).json()["items"]
    assert [d["date"] for d in listed] == [TODAY.isoformat()]
    everything = (await inspection.client.get(url, params={"include_cancelled": "true"}, headers=me)).json()["items"]
    assert [(d["date"], d["cancelled_at"] is not None) for d in everything] == [
        (TODAY.isoformat(), False), (tomorrow.isoformat(), True)]


async def test_a_regulator_records_a_closure_after_the_fact_that_the_enterprise_cannot_cancel(inspection, usccs):
    uscc = usccs()
    await inspection.station(uscc)
    url = f"/api/v1/enterprises/{uscc}/closed-days"
    yesterday = TODAY - timedelta(days=1)
    recorded = await inspection.client.post(url, json={"date": yesterday.isoformat(), "reason": "责令停业整顿"},
                                            headers=inspection.city)
    assert recorded.status_code == 201 and recorded.json()["declared_by_role"] == "regulator"
    tomorrow = TODAY + timedelta(days=1)
    await inspection.client.post(url, json={"date": tomorrow.isoformat(), "reason": "责令停业整顿"},
                                 headers=inspection.city)
    cancel = await inspection.client.delete(f"{url}/{tomorrow.isoformat()}", headers=inspection.enterprise(uscc))
    assert cancel.status_code == 409
    outside = inspection.auth("regulator", jurisdiction=LANSHAN)
    assert (await inspection.client.post(url, json={"date": tomorrow.isoformat(), "reason": "x"},
                                         headers=outside)).status_code == 403
    assert (await inspection.client.delete(f"{url}/{tomorrow.isoformat()}", headers=inspection.city)).status_code == 204
    far = await inspection.client.post(url, json={"date": (TODAY + timedelta(days=400)).isoformat(), "reason": "x"},
                                       headers=inspection.city)
    assert far.status_code == 409


async def test_closed_days_of_an_unknown_enterprise_are_404_and_bad_input_422(inspection, usccs):
    url = f"/api/v1/enterprises/{usccs()}/closed-days"
    assert (await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "x"},
                                         headers=inspection.city)).status_code == 404
    await inspection.station(usccs())
    for body in ({"date": 0, "reason": "x"}, {"date": "2026-13-01", "reason": "x"}, {"date": TODAY.isoformat()},
                 {"date": TODAY.isoformat(), "reason": "  "}):
        response = await inspection.client.post(url, json=body, headers=inspection.city)
        assert response.status_code == 422, body
