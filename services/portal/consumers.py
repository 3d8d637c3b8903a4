"""Every subscription of the portal, on one screen.

One consumer group (``Settings.read_model_consumer``) builds the read model: registry's
enterprise and equipment snapshots (and removals) and its jurisdiction tree's names, scoring's
``score.updated`` (the grade and since when it holds), enforcement's alerts (a ``public_report``
alert moves its report's status), inspection's closed self-inspection tasks (the dashboards'
completion rate). The runner's inbox drops an event id already applied; snapshots apply only
when newer.

Not consumed: registry's operators (personal data the public never sees), gas cylinders,
accidents, daily-job findings and grid inspectors; scoring's ``grade.changed`` (``score.updated``
carries every grade); inspection's other events. Registry publishes no QR-token events: a scanned
token is resolved through registry's public API (qr/service.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from services.portal.context import PortalContext
from services.portal.projection import service as projection
from shared.contracts import enforcement, inspection, registry, scoring
from shared.events.envelope import ReceivedEvent
from shared.events.spec import EventSpec


async def on_enterprise(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_enterprise(ctx, event.parse(registry.EnterpriseSnapshot), event.id)


async def on_equipment(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_equipment(ctx, event.parse(registry.EquipmentSnapshot))


async def on_equipment_removed(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.remove_equipment(ctx, event.parse(registry.LedgerItemRemoved))


async def on_jurisdiction(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_jurisdiction(ctx, event.parse(registry.JurisdictionSnapshot))


async def on_score(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_score(ctx, event.parse(scoring.ScoreUpdated))


async def on_alert_raised(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_alert(ctx, event.parse(enforcement.AlertRaised))


async def on_alert_status(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_alert_status(ctx, event.parse(enforcement.AlertStatusChanged))


async def on_task_closed(ctx: PortalContext, event: ReceivedEvent) -> None:
    await projection.record_task_closed(ctx, event.parse(inspection.SelfInspectionTaskClosed))


SUBSCRIPTIONS: dict[EventSpec[Any], Callable[[PortalContext, ReceivedEvent], Awaitable[None]]] = {
    # registry: snapshots, applied when newer
    registry.ENTERPRISE_REGISTERED: on_enterprise,
    registry.ENTERPRISE_UPDATED: on_enterprise,
    registry.ENTERPRISE_MANAGEMENT_FACTS_CHANGED: on_enterprise,
    registry.ENTERPRISE_KEY_SUPERVISION_CHANGED: on_enterprise,
    registry.EQUIPMENT_REGISTERED: on_equipment,
    registry.EQUIPMENT_UPDATED: on_equipment,
    registry.EQUIPMENT_INSPECTED: on_equipment,
    registry.EQUIPMENT_REMOVED: on_equipment_removed,
    registry.JURISDICTION_LOADED: on_jurisdiction,  # the names the map's outlines carry
    # scoring: the latest grade
    scoring.SCORE_UPDATED: on_score,
    # enforcement: alerts, and through them the status of public reports
    enforcement.ALERT_RAISED: on_alert_raised,
    enforcement.ALERT_STATUS_CHANGED: on_alert_status,
    # inspection: closed self-inspection tasks, the dashboards' completion rate
    inspection.TASK_CLOSED: on_task_closed,
}
