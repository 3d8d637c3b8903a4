"""Every subscription of the scoring service, on one screen.

Each handler applies its event to the projection and, when anything changed, rescores the
enterprise in the same transaction (the consumer runner's), so the projection, the score, its
history and the published score.updated commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import service
from services.scoring.service import ScoringContext, Trigger
from shared.contracts import enforcement, inspection, registry
from shared.events.consumer import Handler, Subscription
from shared.events.envelope import ReceivedEvent

# Record the event in the projection; the USCC to rescore, or None when nothing changed.
Recorder = Callable[[AsyncSession, Any, str], Awaitable[str | None]]


async def _deadline_passed(session: AsyncSession, data: Any, event_id: str) -> str | None:
    return await service.record_deadline_passed(session, data.uscc)


RECORDERS: dict[str, tuple[type[BaseModel], Recorder]] = {
    # registry: snapshots (applied when newer than the revision held) and time-derived facts
    registry.ENTERPRISE_REGISTERED.type: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.ENTERPRISE_UPDATED.type: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED.type: (registry.EnterpriseSnapshot,
                                                        service.record_enterprise_snapshot),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED.type: (registry.EnterpriseSnapshot,
                                                       service.record_enterprise_snapshot),
    registry.EQUIPMENT_REGISTERED.type: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_UPDATED.type: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_INSPECTED.type: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_INSPECTION_OVERDUE.type: (registry.EquipmentInspectionOverdue,
                                                 _deadline_passed),
    registry.OPERATOR_REGISTERED.type: (registry.OperatorSnapshot, service.record_operator),
    registry.OPERATOR_UPDATED.type: (registry.OperatorSnapshot, service.record_operator),
    registry.OPERATOR_CERTIFICATE_EXPIRED.type: (registry.OperatorCertificateExpired,
                                                 _deadline_passed),
    registry.ACCIDENT_REPORTED.type: (registry.AccidentReported, service.record_accident),
    # inspection: the daily cut-off, self-inspection, hazards
    inspection.FILLING_RECORDS_MISSING.type: (inspection.FillingRecordsMissing, service.record_missing_records),
    inspection.TASK_CLOSED.type: (inspection.SelfInspectionTaskClosed, service.record_task_closed),
    inspection.HAZARD_RAISED.type: (inspection.HazardRaised, service.record_hazard_raised),
    inspection.HAZARD_RECTIFIED.type: (inspection.HazardRectified, service.record_hazard_rectified),
    # enforcement: 332211 patrols, cases, penalties
    enforcement.PATROL_COMPLETED.type: (enforcement.PatrolCompleted, service.record_patrol),
    enforcement.CASE_OPENED.type: (enforcement.CaseOpened, service.record_case),
    enforcement.PENALTY_DECIDED.type: (enforcement.PenaltyDecided, service.record_penalty),
}


def subscriptions(ctx: ScoringContext) -> list[Subscription]:
    """One consumer group reads every topic scoring needs: one enterprise's events on a topic stay
    in order by key, and the projection does not depend on the order across topics."""

    def handler(model: type[BaseModel], record: Recorder) -> Handler:
        async def handle(session: AsyncSession, event: ReceivedEvent) -> None:
            uscc = await record(session, event.parse(model), event.id)
            if uscc is not None:
                await service.rescore(session, ctx, [uscc], Trigger.from_event(event))
        return handle

    handlers = {event_type: handler(model, record) for event_type, (model, record) in RECORDERS.items()}
    return [Subscription(name=ctx.settings.projection_consumer, handlers=handlers)]
