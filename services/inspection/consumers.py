"""Every subscription of the inspection service, on one screen.

One consumer group (``Settings.ledger_consumer``) builds the ledger projection from registry
events: enterprises (kinds, operating status, location, grid), equipment, gas cylinders (next
inspection and scrap dates) and operators (certificate validity). Snapshots apply when newer than
the revision held; removals drop the (enterprise, item) row unless it is newer than the removal.

Not consumed: accidents and the time-derived registry events (inspection overdue, certificate
expired): the projection holds the dates they are derived from, and ingest judges each fill by
its own date.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from services.inspection.context import InspectionContext
from services.inspection.ledger import service as ledger
from services.inspection.tasks import service as tasks
from shared.contracts import registry, scoring
from shared.events.consumer import Handler
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec

Recorder = Callable[[InspectionContext, Any, str], Awaitable[None]]


def applies(model: type[BaseModel], record: Recorder) -> Handler:
    async def handle(ctx: InspectionContext, event: ReceivedEvent) -> None:
        await record(ctx, event.parse(model), event.id)

    return handle


SUBSCRIPTIONS: dict[EventSpec[Any], Handler] = {
    registry.ENTERPRISE_REGISTERED: applies(registry.EnterpriseSnapshot, ledger.record_enterprise),
    registry.ENTERPRISE_UPDATED: applies(registry.EnterpriseSnapshot, ledger.record_enterprise),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: applies(registry.EnterpriseSnapshot, ledger.record_enterprise),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: applies(registry.EnterpriseSnapshot, ledger.record_enterprise),
    registry.EQUIPMENT_REGISTERED: applies(registry.EquipmentSnapshot, ledger.record_equipment),
    registry.EQUIPMENT_UPDATED: applies(registry.EquipmentSnapshot, ledger.record_equipment),
    registry.EQUIPMENT_INSPECTED: applies(registry.EquipmentSnapshot, ledger.record_equipment),
    registry.EQUIPMENT_REMOVED: applies(registry.LedgerItemRemoved, ledger.removal("equipment")),
    registry.GAS_CYLINDER_REGISTERED: applies(registry.GasCylinderSnapshot, ledger.record_cylinder),
    registry.GAS_CYLINDER_UPDATED: applies(registry.GasCylinderSnapshot, ledger.record_cylinder),
    registry.GAS_CYLINDER_REMOVED: applies(registry.LedgerItemRemoved, ledger.removal("cylinder")),
    registry.OPERATOR_REGISTERED: applies(registry.OperatorSnapshot, ledger.record_operator),
    registry.OPERATOR_UPDATED: applies(registry.OperatorSnapshot, ledger.record_operator),
    registry.OPERATOR_REMOVED: applies(registry.LedgerItemRemoved, ledger.removal("operator")),
}


# A second consumer group (``Settings.task_consumer``): the facts tasks are targeted by beyond the
# ledger: key supervision from registry's enterprise snapshots, the grade from scoring's score.updated.
TASK_SUBSCRIPTIONS: dict[EventSpec[Any], Handler] = {
    registry.ENTERPRISE_REGISTERED: applies(registry.EnterpriseSnapshot, tasks.record_key_supervision),
    registry.ENTERPRISE_UPDATED: applies(registry.EnterpriseSnapshot, tasks.record_key_supervision),
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: applies(registry.EnterpriseSnapshot, tasks.record_key_supervision),
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: applies(registry.EnterpriseSnapshot, tasks.record_key_supervision),
    scoring.SCORE_UPDATED: applies(scoring.ScoreUpdated, tasks.record_grade),
}
