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
from shared.context import ServiceContext
from shared.contracts import enforcement, inspection, registry
from shared.events.consumer import Handler, Subscription
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec

# Record the event in the projection; the USCC to rescore, or None when nothing changed.
Recorder = Callable[[AsyncSession, Any, str], Awaitable[str | None]]


async def _deadline_passed(session: AsyncSession, data: Any, event_id: str) -> str | None:
    return await service.record_deadline_passed(session, data.uscc)


RECORDERS: dict[EventSpec[Any], tuple[type[BaseModel], Recorder]] = {
    # registry: snapshots (applied when newer than the revision held) and time-derived facts
    registry.ENTERPRISE_REGISTERED: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.ENTERPRISE_UPDATED: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: (registry.EnterpriseSnapshot, service.record_enterprise_snapshot),
    registry.EQUIPMENT_REGISTERED: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_UPDATED: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_INSPECTED: (registry.EquipmentSnapshot, service.record_equipment),
    registry.EQUIPMENT_INSPECTION_OVERDUE: (registry.EquipmentInspectionOverdue, _deadline_passed),
    registry.OPERATOR_REGISTERED: (registry.OperatorSnapshot, service.record_operator),
    registry.OPERATOR_UPDATED: (registry.OperatorSnapshot, service.record_operator),
    registry.OPERATOR_CERTIFICATE_EXPIRED: (registry.OperatorCertificateExpired, _deadline_passed),
    registry.ACCIDENT_REPORTED: (registry.AccidentReported, service.record_accident),
    # inspection: the daily cut-off, self-inspection, hazards
    inspection.FILLING_RECORDS_MISSING: (inspection.FillingRecordsMissing, service.record_missing_records),
    inspection.TASK_CLOSED: (inspection.SelfInspectionTaskClosed, service.record_task_closed),
    inspection.HAZARD_RAISED: (inspection.HazardRaised, service.record_hazard_raised),
    inspection.HAZARD_RECTIFIED: (inspection.HazardRectified, service.record_hazard_rectified),
    # enforcement: 332211 patrols, cases, penalties
    enforcement.PATROL_COMPLETED: (enforcement.PatrolCompleted, service.record_patrol),
    enforcement.CASE_OPENED: (enforcement.CaseOpened, service.record_case),
    enforcement.PENALTY_DECIDED: (enforcement.PenaltyDecided, service.record_penalty),
}


def subscriptions(ctx: ScoringContext) -> list[Subscription]:
    """One consumer group reads every topic scoring needs: one enterprise's events on a topic stay
    in order by key, and the projection does not depend on the order across topics."""

    def handler(model: type[BaseModel], record: Recorder) -> Handler:
        async def handle(service_ctx: ServiceContext, event: ReceivedEvent) -> None:
            session = service_ctx.session
            uscc = await record(session, event.parse(model), event.id)
            if uscc is not None:
                await service.rescore(session, ctx, [uscc], Trigger.from_event(event))
        return handle

    handlers = {spec: handler(model, record) for spec, (model, record) in RECORDERS.items()}
    return [Subscription(name=ctx.settings.projection_consumer, handlers_by_spec=handlers)]
