"""Every subscription of the scoring service, on one screen.

One consumer group (named by ``Settings.projection_consumer``, see main.py) reads every topic
scoring needs: one enterprise's events on a topic stay in order by key, and the projection does
not depend on the order across topics. Each handler ``(ctx, event)`` records its event in the
projection and, when anything changed, rescores the enterprise in the same transaction (the
consumer runner's), so the projection, the score, its history and the published score.updated
commit together or not at all.

Not consumed: ``registry.GAS_CYLINDER_REGISTERED/UPDATED/REMOVED``: scoring holds no gas cylinder
of its own (equipment counts by its catalogue snapshot, 2300 included), so a cylinder's snapshot
or removal changes no score; a removal handler would have nothing to delete.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from services.scoring.context import ScoringContext
from services.scoring.projection import service as projection
from services.scoring.scores.service import Trigger, rescore
from shared.contracts import enforcement, inspection, registry
from shared.events.consumer import Handler
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec

# Records an event's data in the projection; the USCC to rescore, or None when nothing changed.
Recorder = Callable[[ScoringContext, Any, str], Awaitable[str | None]]


def applies(model: type[BaseModel], record: Recorder) -> Handler:
    """The handler of one event type: record it, then rescore the enterprise if it changed."""

    async def handle(ctx: ScoringContext, event: ReceivedEvent) -> None:
        uscc = await record(ctx, event.parse(model), event.id)
        if uscc is not None:
            await rescore(ctx, [uscc], Trigger.from_event(event))

    return handle


SUBSCRIPTIONS: dict[EventSpec[Any], Handler] = {
    # registry: snapshots (applied when newer than the revision held), removals, time-derived facts
    registry.ENTERPRISE_REGISTERED: applies(registry.EnterpriseSnapshot, projection.record_enterprise_snapshot),
    registry.ENTERPRISE_UPDATED: applies(registry.EnterpriseSnapshot, projection.record_enterprise_snapshot),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: applies(registry.EnterpriseSnapshot,
                                                          projection.record_enterprise_snapshot),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: applies(registry.EnterpriseSnapshot,
                                                         projection.record_enterprise_snapshot),
    registry.EQUIPMENT_REGISTERED: applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_UPDATED: applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_INSPECTED: applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_REMOVED: applies(registry.LedgerItemRemoved, projection.record_equipment_removed),
    registry.EQUIPMENT_INSPECTION_OVERDUE: applies(registry.EquipmentInspectionOverdue,
                                                   projection.record_deadline_passed),
    registry.OPERATOR_REGISTERED: applies(registry.OperatorSnapshot, projection.record_operator),
    registry.OPERATOR_UPDATED: applies(registry.OperatorSnapshot, projection.record_operator),
    registry.OPERATOR_REMOVED: applies(registry.LedgerItemRemoved, projection.record_operator_removed),
    registry.OPERATOR_CERTIFICATE_EXPIRED: applies(registry.OperatorCertificateExpired,
                                                   projection.record_deadline_passed),
    registry.ACCIDENT_REPORTED: applies(registry.AccidentReported, projection.record_accident),
    # inspection: the daily cut-off, self-inspection, hazards
    inspection.FILLING_RECORDS_MISSING: applies(inspection.FillingRecordsMissing, projection.record_missing_records),
    inspection.FILLING_RECORDS_MISSING_WITHDRAWN: applies(inspection.FillingRecordsMissingWithdrawn,
                                                          projection.record_missing_withdrawn),
    inspection.TASK_CLOSED: applies(inspection.SelfInspectionTaskClosed, projection.record_task_closed),
    inspection.HAZARD_RAISED: applies(inspection.HazardRaised, projection.record_hazard_raised),
    inspection.HAZARD_RECTIFIED: applies(inspection.HazardRectified, projection.record_hazard_rectified),
    # enforcement: 332211 patrols, cases, penalties (each rescores)
    enforcement.PATROL_COMPLETED: applies(enforcement.PatrolCompleted, projection.record_patrol),
    enforcement.CASE_OPENED: applies(enforcement.CaseOpened, projection.record_case),
    enforcement.PENALTY_DECIDED: applies(enforcement.PenaltyDecided, projection.record_penalty),
    # enforcement: orders to correct (credit-repair eligibility only: no rescoring)
    enforcement.ORDER_ISSUED: applies(enforcement.OrderToCorrect, projection.record_order_issued),
    enforcement.ORDER_RECTIFIED: applies(enforcement.OrderToCorrect, projection.record_order_rectified),
}
