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

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from services.scoring.context import ScoringContext
from services.scoring.projection import service as projection
from services.scoring.projection.repository import Deferred
from services.scoring.scores.service import Trigger, rescore, rescore_each
from shared.contracts import enforcement, inspection, registry
from shared.events.consumer import Handler
from shared.events.context import current_cause
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec

# Records an event's data in the projection; the USCC to rescore, or None when nothing changed.
Recorder = Callable[[ScoringContext, Any, str], Awaitable[str | None]]


@dataclass(frozen=True)
class Applies:
    """The handler of one event type: record it, then rescore the enterprise if it changed."""

    model: type[BaseModel]
    record: Recorder

    async def __call__(self, ctx: ScoringContext, event: ReceivedEvent) -> None:
        uscc = await self.record(ctx, event.parse(self.model), event.id)
        if uscc is not None:
            await rescore(ctx, [uscc], Trigger.from_event(event))



def enterprise_of(data: Any) -> str:
    """The enterprise an event is about: registry's data names it `uscc`, the others `enterprise_uscc`."""
    return getattr(data, "uscc", None) or data.enterprise_uscc


async def apply_batch(ctx: ScoringContext, events: Sequence[ReceivedEvent]) -> None:
    """A partition's batch with the effects of its events applied one after another, faster.

    Events of different enterprises do not affect each other's scores, so the batch runs in
    rounds: round k records the k-th event of every enterprise in the batch, then rescores all of
    them at once (one load, one bulk write), each with its own event as trigger and cause. An
    enterprise's events still apply in order, each with its own score.updated and history entry,
    as if delivered alone. The enterprises are locked once, up front, in USCC order."""
    rounds: list[list[tuple[ReceivedEvent, Any, Recorder]]] = []
    seen: dict[str, int] = {}
    for event in events:
        applier = SUBSCRIPTIONS[SPECS[event.type]]
        assert isinstance(applier, Applies)
        data = event.parse(applier.model)
        uscc = enterprise_of(data)
        depth = seen[uscc] = seen.get(uscc, -1) + 1
        if depth == len(rounds):
            rounds.append([])
        rounds[depth].append((event, data, applier.record))
    await projection.lock_all(ctx, list(seen))
    ctx.deferred = Deferred()
    try:
        for round_ in rounds:
            triggers: dict[str, Trigger] = {}
            for event, data, record in round_:
                trigger = Trigger.from_event(event)
                token = current_cause.set(trigger.cause)
                try:
                    if (uscc := await record(ctx, data, event.id)) is not None:
                        triggers[uscc] = trigger
                finally:
                    current_cause.reset(token)
            for unchanged in await ctx.deferred.flush(ctx.session):
                triggers.pop(unchanged, None)
            if triggers:
                await rescore_each(ctx, triggers)
    finally:
        ctx.deferred = None


SUBSCRIPTIONS: dict[EventSpec[Any], Handler] = {
    # registry: snapshots (applied when newer than the revision held), removals, time-derived facts
    registry.ENTERPRISE_REGISTERED: Applies(registry.EnterpriseSnapshot, projection.record_enterprise_snapshot),
    registry.ENTERPRISE_UPDATED: Applies(registry.EnterpriseSnapshot, projection.record_enterprise_snapshot),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: Applies(registry.EnterpriseSnapshot,
                                                          projection.record_enterprise_snapshot),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: Applies(registry.EnterpriseSnapshot,
                                                         projection.record_enterprise_snapshot),
    registry.EQUIPMENT_REGISTERED: Applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_UPDATED: Applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_INSPECTED: Applies(registry.EquipmentSnapshot, projection.record_equipment),
    registry.EQUIPMENT_REMOVED: Applies(registry.LedgerItemRemoved, projection.record_equipment_removed),
    registry.EQUIPMENT_INSPECTION_OVERDUE: Applies(registry.EquipmentInspectionOverdue,
                                                   projection.record_deadline_passed),
    registry.OPERATOR_REGISTERED: Applies(registry.OperatorSnapshot, projection.record_operator),
    registry.OPERATOR_UPDATED: Applies(registry.OperatorSnapshot, projection.record_operator),
    registry.OPERATOR_REMOVED: Applies(registry.LedgerItemRemoved, projection.record_operator_removed),
    registry.OPERATOR_CERTIFICATE_EXPIRED: Applies(registry.OperatorCertificateExpired,
                                                   projection.record_deadline_passed),
    registry.ACCIDENT_REPORTED: Applies(registry.AccidentReported, projection.record_accident),
    # inspection: the daily cut-off, self-inspection, hazards
    inspection.FILLING_RECORDS_MISSING: Applies(inspection.FillingRecordsMissing, projection.record_missing_records),
    inspection.FILLING_RECORDS_MISSING_WITHDRAWN: Applies(inspection.FillingRecordsMissingWithdrawn,
                                                          projection.record_missing_withdrawn),
    inspection.TASK_CLOSED: Applies(inspection.SelfInspectionTaskClosed, projection.record_task_closed),
    inspection.HAZARD_RAISED: Applies(inspection.HazardRaised, projection.record_hazard_raised),
    inspection.HAZARD_RECTIFIED: Applies(inspection.HazardRectified, projection.record_hazard_rectified),
    # enforcement: 332211 patrols, cases, penalties (each rescores)
    enforcement.PATROL_COMPLETED: Applies(enforcement.PatrolCompleted, projection.record_patrol),
    enforcement.CASE_OPENED: Applies(enforcement.CaseOpened, projection.record_case),
    enforcement.PENALTY_DECIDED: Applies(enforcement.PenaltyDecided, projection.record_penalty),
    # enforcement: orders to correct (credit-repair eligibility only: no rescoring)
    enforcement.ORDER_ISSUED: Applies(enforcement.OrderToCorrect, projection.record_order_issued),
    enforcement.ORDER_RECTIFIED: Applies(enforcement.OrderToCorrect, projection.record_order_rectified),
}
SPECS: dict[str, EventSpec[Any]] = {spec.type: spec for spec in SUBSCRIPTIONS}
