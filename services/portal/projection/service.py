"""Applying registry, scoring and enforcement events to the read model. Snapshots apply only
when newer than what is held (revision; a score by its computed_at), so order across topics
does not matter. An alert raised for a public report moves that report's status along."""

from __future__ import annotations

from datetime import UTC, datetime

from services.portal.context import PortalContext
from services.portal.domain.reports import status_from_alert
from services.portal.models import AlertRow, EquipmentRow, GradeChange, TaskOutcome
from services.portal.projection import repository as repo
from shared.contracts.enforcement import AlertRaised, AlertStatusChanged
from shared.contracts.inspection import SelfInspectionTaskClosed
from shared.contracts.registry import EnterpriseSnapshot, EquipmentSnapshot, JurisdictionSnapshot, LedgerItemRemoved
from shared.contracts.scoring import ScoreUpdated
from shared.queries import insert_missing


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def record_enterprise(ctx: PortalContext, snapshot: EnterpriseSnapshot, event_id: str) -> bool:
    """Apply a registry snapshot if newer than the one held; whether it was applied."""
    row = await repo.lock_enterprise(ctx.session, snapshot.uscc)
    if snapshot.revision <= row.revision:
        return False
    location = snapshot.location or {}
    row.revision, row.name = snapshot.revision, snapshot.name
    row.jurisdiction_code, row.grid_code = snapshot.jurisdiction_code, snapshot.grid_code
    row.venue_type, row.kinds = snapshot.venue_type, list(snapshot.kinds)
    row.key_supervision, row.operating = snapshot.key_supervision, snapshot.operating
    row.lat, row.lon = location.get("lat"), location.get("lon")
    row.snapshot_event_id = event_id
    await ctx.session.flush()
    await repo.set_associations(ctx.session, snapshot.uscc, snapshot.associations)
    ctx.unit_changed(snapshot.uscc)
    return True


async def record_equipment(ctx: PortalContext, snapshot: EquipmentSnapshot) -> bool:
    row = await repo.lock_equipment(ctx.session, snapshot.equipment_id)
    if row is None:
        row = EquipmentRow(equipment_id=snapshot.equipment_id, revision=0)
        ctx.session.add(row)
    elif snapshot.revision <= row.revision:
        return False
    row.uscc, row.revision, row.category = snapshot.uscc, snapshot.revision, snapshot.category
    row.registration_no, row.status = snapshot.registration_no, snapshot.status
    row.next_inspection_due, row.last_inspection_date = snapshot.next_inspection_due, snapshot.last_inspection_date
    await ctx.session.flush()
    ctx.unit_changed(snapshot.uscc)
    return True


async def record_jurisdiction(ctx: PortalContext, snapshot: JurisdictionSnapshot) -> bool:
    """A node's name, level and parent, if newer than the one held (each load announces every node)."""
    row = await repo.lock_jurisdiction(ctx.session, snapshot.code)
    if snapshot.revision <= row.revision:
        return False
    row.revision, row.name, row.level, row.parent_code = (snapshot.revision, snapshot.name, snapshot.level,
                                                          snapshot.parent_code)
    await ctx.session.flush()
    return True


async def remove_equipment(ctx: PortalContext, removed: LedgerItemRemoved) -> bool:
    """Delete the equipment only while it is still held under the old owner at a revision not
    above the removal's: the new owner's snapshot (same revision) may have arrived first."""
    row = await repo.lock_equipment(ctx.session, removed.item_id)
    if row is None or row.uscc != removed.uscc or row.revision > removed.revision:
        return False
    await ctx.session.delete(row)
    await ctx.session.flush()
    ctx.unit_changed(removed.uscc)
    return True


async def record_score(ctx: PortalContext, score: ScoreUpdated) -> bool:
    """Keep the latest grade and since when it holds (an older score arriving late is ignored)."""
    row = await repo.lock_enterprise(ctx.session, score.enterprise_uscc)
    computed = aware(score.computed_at)
    if row.scored_at is not None and computed < row.scored_at:
        return False
    if row.grade != score.grade:
        row.grade_since = computed
        ctx.session.add(GradeChange(uscc=score.enterprise_uscc, grade=score.grade, since=computed))
    row.grade, row.score, row.scored_at = score.grade, score.score, computed
    await ctx.session.flush()
    ctx.unit_changed(score.enterprise_uscc)
    return True


async def record_alert(ctx: PortalContext, raised: AlertRaised) -> None:
    """Keep the alert; a ``public_report`` alert raised by a report's event starts following it."""
    row = await repo.lock_alert(ctx.session, raised.alert_id)
    moment = aware(raised.raised_at)
    if row is None:
        row = AlertRow(alert_id=raised.alert_id, uscc=raised.enterprise_uscc, kind=raised.kind, action=raised.action,
                       status=raised.status, cause_event_id=raised.cause_event_id, raised_at=moment, status_at=moment)
        ctx.session.add(row)
        await ctx.session.flush()
    report = await repo.report_caused(ctx.session, event_id=raised.cause_event_id)
    if report is not None and report.alert_id is None:
        report.alert_id, report.status, report.status_at = row.alert_id, status_from_alert(row.status), row.status_at
        await ctx.session.flush()


async def record_alert_status(ctx: PortalContext, changed: AlertStatusChanged) -> None:
    row = await repo.lock_alert(ctx.session, changed.alert_id)
    moment = aware(changed.changed_at)
    if row is None or moment < row.status_at:
        return  # an alert the portal never saw raised (it keeps those it did), or an older step
    row.status, row.status_at = changed.status, moment
    report = await repo.report_caused(ctx.session, alert_id=row.alert_id)
    if report is not None:
        report.status, report.status_at = status_from_alert(changed.status), moment
    await ctx.session.flush()


async def record_task_closed(ctx: PortalContext, closed: SelfInspectionTaskClosed) -> None:
    await insert_missing(ctx.session, TaskOutcome.__table__, [{  # type: ignore[arg-type]
        "task_id": closed.task_id, "uscc": closed.enterprise_uscc, "due_date": closed.due_date,
        "completed": closed.completed}], key=["task_id"])
