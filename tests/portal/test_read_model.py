"""The read model through the real consumer runner, on SQLite and PostgreSQL: registry's
snapshots applied only when newer (the jurisdiction tree's names too), removals that spare a newer
owner, scoring's latest grade and since when it holds, redeliveries dropped, and alerts that move a
public report's status."""

from __future__ import annotations

from datetime import datetime, time

from services.portal.models import EnterpriseAssociation, EnterpriseRow, EquipmentRow, JurisdictionRow, Report
from shared.contracts import enforcement, registry, scoring
from shared.db import new_uuid
from tests.portal.support import (
    SHANGHAI,
    TODAY,
    UNIT,
    alert_raised,
    alert_status,
    enterprise,
    equipment,
    jurisdiction,
    score,
)


async def _get(portal, model, key):  # type: ignore[no-untyped-def]
    async with portal.svc.runtime.session_factory() as session:
        return await session.get(model, key)


async def test_snapshots_apply_when_newer_and_redeliveries_are_dropped(portal):
    assert await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(revision=2, name="新名字")) == "applied"
    await portal.deliver(registry.ENTERPRISE_UPDATED, enterprise(revision=1, name="旧名字"))  # late, older
    row = await _get(portal, EnterpriseRow, UNIT)
    assert (row.revision, row.name, row.jurisdiction_code) == (2, "新名字", "371102")
    assert await _get(portal, EnterpriseAssociation, ("日照市燃气协会", UNIT)) is not None

    event_id = new_uuid()
    assert await portal.deliver(registry.EQUIPMENT_REGISTERED, equipment("EQ1"), event_id=event_id) == "applied"
    assert await portal.deliver(registry.EQUIPMENT_REGISTERED, equipment("EQ1"), event_id=event_id) == "duplicate"
    await portal.deliver(registry.EQUIPMENT_INSPECTED, equipment("EQ1", revision=3, category="2100"))
    await portal.deliver(registry.EQUIPMENT_UPDATED, equipment("EQ1", revision=2, category="2200"))
    assert (await _get(portal, EquipmentRow, "EQ1")).category == "2100"


async def test_the_jurisdiction_trees_names_apply_when_newer(portal):
    assert await portal.deliver(registry.JURISDICTION_LOADED, jurisdiction("371102", "东港区", revision=2)) == "applied"
    await portal.deliver(registry.JURISDICTION_LOADED, jurisdiction("371102", "旧名", revision=1))  # late, older
    await portal.deliver(registry.JURISDICTION_LOADED, jurisdiction("371102001001", "日照街道第一网格"))
    row = await _get(portal, JurisdictionRow, "371102")
    assert (row.revision, row.name, row.level, row.parent_code) == (2, "东港区", "district", "371100")
    grid = await _get(portal, JurisdictionRow, "371102001001")
    assert (grid.name, grid.level, grid.parent_code) == ("日照街道第一网格", "grid", "371102001")


async def test_a_removal_spares_the_new_owners_snapshot_that_arrived_first(portal):
    other = "91371102MA3C5K0X2Q"
    await portal.deliver(registry.EQUIPMENT_REGISTERED, equipment("EQ2", uscc=other, revision=4))
    removed = registry.LedgerItemRemoved(uscc=UNIT, item_id="EQ2", revision=4, moved_to=other).model_dump(mode="json")
    await portal.deliver(registry.EQUIPMENT_REMOVED, removed)
    assert (await _get(portal, EquipmentRow, "EQ2")).uscc == other
    gone = registry.LedgerItemRemoved(uscc=other, item_id="EQ2", revision=5, reason="deleted").model_dump(mode="json")
    await portal.deliver(registry.EQUIPMENT_REMOVED, gone)
    assert await _get(portal, EquipmentRow, "EQ2") is None


async def test_the_latest_score_holds_its_grade_since_it_first_had_it(portal):
    first, later, older = (datetime.combine(TODAY, time(h), tzinfo=SHANGHAI) for h in (8, 12, 6))
    await portal.deliver(scoring.SCORE_UPDATED, score("C", at=first))  # before the snapshot: a placeholder
    await portal.deliver(scoring.SCORE_UPDATED, score("C", at=later))
    await portal.deliver(scoring.SCORE_UPDATED, score("A", at=older))  # computed earlier, delivered late
    await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise())
    row = await _get(portal, EnterpriseRow, UNIT)
    assert (row.grade, row.grade_since, row.scored_at, row.name) == ("C", first, later, "东港区某街道液化气站")


async def test_an_alert_raised_for_a_report_moves_its_status(portal):
    event_id = new_uuid()
    async with portal.svc.runtime.session_factory() as session, session.begin():
        moment = datetime.combine(TODAY, time(10), tzinfo=SHANGHAI)
        session.add(Report(id=new_uuid(), receipt="r" * 24, uscc=UNIT, category="gas_leak", description="有异味",
                           channel="qr", event_id=event_id, status="received", submitted_at=moment, status_at=moment))
    await portal.deliver(enforcement.ALERT_RAISED, alert_raised("AL1", new_uuid(), kind="filling_records_missing"))
    await portal.deliver(enforcement.ALERT_RAISED, alert_raised("AL2", event_id))
    report = await _get(portal, Report, (await _report_id(portal)))
    assert (report.status, report.alert_id) == ("in_progress", "AL2")
    await portal.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL2", "resolved", minutes=60))
    await portal.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL2", "acknowledged", minutes=30))  # older
    assert (await _get(portal, Report, (await _report_id(portal)))).status == "resolved"


async def _report_id(portal) -> str:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    async with portal.svc.runtime.session_factory() as session:
        return (await session.execute(select(Report.id))).scalar_one()
