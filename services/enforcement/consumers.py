"""Every subscription of the enforcement service, on one screen.

One consumer group (``Settings.alerts_consumer``) reads every topic enforcement needs. Each
handler ``(ctx, event)`` records the event in the projection and raises, merges or moves alerts
in the same transaction (the consumer runner's), so the projection, the alert, its history, its
events and its webhook deliveries commit together or not at all; the runner's inbox drops an
event id already applied.

Supervision plans of this month and later follow a unit whose grade, key supervision (snapshot,
accident) or place changed, in the same transaction.

The missing-records alert is raised from the ``score.updated`` that the missing-records event
caused (it carries the fresh grade); the ``filling_records.missing`` itself only records the day,
so either may arrive first; ``filling_records.missing_withdrawn`` (a closed day declared after the
cut-off) resolves that day's alert, or keeps it from being raised. Other causes raise at once with
the latest grade the projection holds.

Not consumed: registry equipment, cylinder and operator snapshots (scoring turns them into the
grade; the daily job's ``inspection_overdue`` / ``certificate_expired`` are what raise alerts),
scoring's ``grade.changed`` (``score.updated`` carries every grade), inspection's task and hazard
lifecycle (``hazard.overdue`` is the alert's cause; ``hazard.recheck_overdue`` is the regulators'
own lateness, shown on inspection's hazards).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from services.enforcement.alerts import repository as alerts_repo
from services.enforcement.alerts import service as alerts
from services.enforcement.alerts.service import AlertCause
from services.enforcement.context import EnforcementContext
from services.enforcement.plans import service as plans
from services.enforcement.projection import service as projection
from shared.contracts import inspection, portal, registry, scoring
from shared.events.consumer import Handler, apply_each
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec


async def on_enterprise(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    row = await projection.record_enterprise(ctx, event.parse(registry.EnterpriseSnapshot), event.id)
    if row is not None:
        await alerts.follow_enterprise(ctx, row)
        await plans.follow_enterprise(ctx, row.uscc)


async def on_inspectors(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    assigned = event.parse(registry.GridInspectorsAssigned)
    row = await projection.record_inspectors(ctx, assigned, event.id)
    if row is not None and row.inspectors:
        await alerts.dispatch_waiting(ctx, assigned.grid_code)


async def on_score(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    score = event.parse(scoring.ScoreUpdated)
    row, held = await projection.record_score(ctx, score, event.id)
    if row.grade != held:  # a grade changed mid-month: this month's plans follow it
        await plans.follow_enterprise(ctx, score.enterprise_uscc)
    if score.trigger_event_type != inspection.FILLING_RECORDS_MISSING.type or not score.trigger_event_id:
        return
    day = score.trigger_business_date
    if await projection.is_withdrawn(ctx, score.enterprise_uscc, day):
        return  # a closed day declared after the cut-off: the unit owed no records
    await alerts.raise_alert(ctx, AlertCause(
        kind=alerts_repo.MISSING_RECORDS, uscc=score.enterprise_uscc,
        cause_key=day.isoformat() if day else score.trigger_event_id, event_id=score.trigger_event_id,
        event_type=score.trigger_event_type, correlation_id=score.trigger_event_id, grade=score.grade,
        business_date=day, detail={"score_event_id": event.id, "score": score.score,
                                   "model_version": score.model_version}))


async def on_missing(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    await projection.record_missing_day(ctx, event.parse(inspection.FillingRecordsMissing), event.id)


async def on_arrived_late(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    arrived = event.parse(inspection.FillingRecordsArrivedLate)
    await projection.record_arrival(ctx, arrived, event.id)
    await alerts.records_arrived(ctx, arrived.enterprise_uscc, arrived.business_date, arrived.records)


async def on_withdrawn(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    withdrawn = event.parse(inspection.FillingRecordsMissingWithdrawn)
    await projection.record_withdrawal(ctx, withdrawn, event.id)
    await alerts.finding_withdrawn(ctx, withdrawn.enterprise_uscc, withdrawn.business_date)


async def on_report(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    """A public report (a QR page or Open311): at a C/D unit on-site enforcement, at A/B nothing
    (the policy's rule; regulators read every report on the portal). The report's own words stay
    on the portal: the alert keeps its category, channel and equipment."""
    report = event.parse(portal.ReportSubmitted)
    await alerts.raise_alert(ctx, _cause(event, "public_report", report.enterprise_uscc, report.report_id,
                                         category=report.category, channel=report.channel,
                                         equipment_id=report.equipment_id))


async def on_accident(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    accident = event.parse(registry.AccidentReported)
    await projection.record_accident(ctx, accident, event.id)
    await plans.follow_enterprise(ctx, accident.uscc)  # an accident makes it key supervision
    await alerts.raise_alert(ctx, _cause(event, "accident", accident.uscc, accident.accident_id,
                                         severity=accident.severity, occurred_date=str(accident.occurred_date)))


SERIOUS_FILLS = {"expired_cylinder": "expired_cylinder_filled", "scrapped_cylinder": "scrapped_cylinder_filled"}


async def on_anomaly(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    anomaly = event.parse(inspection.FillingAnomalyDetected)
    kind = SERIOUS_FILLS.get(anomaly.kind, "filling_anomaly") if anomaly.severity == "serious" else "filling_anomaly"
    await alerts.raise_alert(ctx, _cause(event, kind, anomaly.enterprise_uscc, f"{anomaly.record_id}:{anomaly.kind}",
                                         anomaly=anomaly.kind, cylinder_no=anomaly.cylinder_no,
                                         filled_at=anomaly.filled_at.isoformat(), detail=anomaly.detail))


async def on_corrected(ctx: EnforcementContext, event: ReceivedEvent) -> None:
    """A corrected filling record: each anomaly it cleared, on the alert that anomaly raised
    (keyed, as on_anomaly keys it, by the version that raised it)."""
    corrected = event.parse(inspection.FillingRecordCorrected)
    correction = {"record_id": corrected.record_id, "version": corrected.version, "reason": corrected.reason,
                  "changed": corrected.changed, "event_id": event.id}
    for anomaly in corrected.cleared:
        raiser = corrected.raised_by.get(anomaly)
        if raiser is not None:  # the serious kinds are exactly SERIOUS_FILLS': the kind on_anomaly gave it
            kind = SERIOUS_FILLS.get(anomaly, "filling_anomaly")
            await alerts.anomaly_corrected(ctx, corrected.enterprise_uscc, kind, f"{raiser}:{anomaly}", correction)


def by_grade(kind: str, model: type[Any], uscc_of: Callable[[Any], str],
             key_of: Callable[[Any], str]) -> Handler:
    """A cause whose action follows the grade the projection holds (overdue inspections,
    expired certificates, overdue hazards, lapsed maintenance)."""

    async def handle(ctx: EnforcementContext, event: ReceivedEvent) -> None:
        data = event.parse(model)
        await alerts.raise_alert(ctx, _cause(event, kind, uscc_of(data), key_of(data),
                                             facts=data.model_dump(mode="json")))

    return handle


def _cause(event: ReceivedEvent, kind: str, uscc: str, key: str, /, **detail: Any) -> AlertCause:
    return AlertCause(kind=kind, uscc=uscc, cause_key=key, event_id=event.id, event_type=event.type,
                      correlation_id=event.correlation_id or event.id, detail=detail)


def _locks(event: ReceivedEvent) -> tuple[str | None, tuple[str, date] | None]:
    """The enterprise an event writes about, and the missing-records day it touches if any."""
    data = event.data if isinstance(event.data, dict) else {}
    if event.type in READS_NO_ENTERPRISE:
        return None, None  # locking would make a placeholder row the event alone never makes
    uscc = data.get("uscc") or data.get("enterprise_uscc")
    # Only the events that write a day make its row; a score caused by a missing day only reads
    # it (is_withdrawn), and must not leave a row behind that one at a time it would not.
    day = data.get("business_date") if event.type in DAY_EVENTS else None
    if not isinstance(uscc, str) or not isinstance(day, str):
        return (uscc if isinstance(uscc, str) else None), None
    try:
        return uscc, (uscc, date.fromisoformat(day))
    except ValueError:
        return uscc, None


READS_NO_ENTERPRISE = {inspection.FILLING_RECORD_CORRECTED.type}  # on_corrected reads alerts only
DAY_EVENTS = {spec.type for spec in (inspection.FILLING_RECORDS_MISSING, inspection.FILLING_RECORDS_ARRIVED_LATE,
                                     inspection.FILLING_RECORDS_MISSING_WITHDRAWN)}


async def apply_batch(ctx: EnforcementContext, events: Sequence[ReceivedEvent]) -> None:
    """A fetch's events with the effects of their handlers one after another (they are), their
    enterprises and missing-records days locked first, all at once, in key order: one statement
    per table instead of two per event, and no two batches deadlock. What an event's data does
    not name (a malformed event) it locks itself, or fails the batch back to one at a time."""
    usccs, days = [], []
    for event in events:
        uscc, day = _locks(event)
        if uscc:
            usccs.append(uscc)
        if day:
            days.append(day)
    await projection.lock_all(ctx, usccs, days)
    await apply_each(ctx, events, HANDLERS)


SUBSCRIPTIONS: dict[EventSpec[Any], Callable[[EnforcementContext, ReceivedEvent], Awaitable[None]]] = {
    # registry: snapshots (applied when newer), grid inspectors, accidents, the daily job's findings
    registry.ENTERPRISE_REGISTERED: on_enterprise,
    registry.ENTERPRISE_UPDATED: on_enterprise,
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: on_enterprise,
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: on_enterprise,
    registry.GRID_INSPECTORS_ASSIGNED: on_inspectors,
    registry.ACCIDENT_REPORTED: on_accident,
    registry.EQUIPMENT_INSPECTION_OVERDUE: by_grade(
        "equipment_inspection_overdue", registry.EquipmentInspectionOverdue, lambda d: d.uscc,
        lambda d: f"{d.equipment_id}:{d.next_inspection_due}"),
    registry.OPERATOR_CERTIFICATE_EXPIRED: by_grade(
        "operator_certificate_expired", registry.OperatorCertificateExpired, lambda d: d.uscc,
        lambda d: f"{d.operator_id}:{d.certificate_valid_until}"),
    # scoring: the latest score and grade; a rescoring caused by missing records raises its alert
    scoring.SCORE_UPDATED: on_score,
    # inspection: the daily cut-off, late records, anomalies on ingest, overdue hazards, maintenance
    inspection.FILLING_RECORDS_MISSING: on_missing,
    inspection.FILLING_RECORDS_ARRIVED_LATE: on_arrived_late,
    inspection.FILLING_RECORDS_MISSING_WITHDRAWN: on_withdrawn,
    inspection.FILLING_ANOMALY_DETECTED: on_anomaly,
    inspection.FILLING_RECORD_CORRECTED: on_corrected,
    inspection.HAZARD_OVERDUE: by_grade(
        "hazard_overdue", inspection.HazardOverdue, lambda d: d.enterprise_uscc, lambda d: d.hazard_id),
    inspection.MAINTENANCE_LAPSED: by_grade(
        "maintenance_lapsed", inspection.MaintenanceLapsed, lambda d: d.enterprise_uscc,
        lambda d: f"{d.equipment_id}:{d.due_date}"),
    # portal: what the public reports
    portal.REPORT_SUBMITTED: on_report,
}

HANDLERS = {spec.type: handler for spec, handler in SUBSCRIPTIONS.items()}
