"""What the enforcement service publishes about alerts (on ``enforcement.alerts``), built from
the rows it writes. The event types and their data models live in ``shared/contracts/enforcement.py``."""

from __future__ import annotations

from services.enforcement.models import Alert
from shared.contracts.enforcement import AlertRaised, AlertStatusChanged


def alert_raised(alert: Alert) -> AlertRaised:
    return AlertRaised(
        alert_id=alert.id, enterprise_uscc=alert.enterprise_uscc, kind=alert.kind, grade=alert.grade,  # type: ignore[arg-type]
        action=alert.action, status="raised", correlation_id=alert.correlation_id,  # type: ignore[arg-type]
        cause_event_id=alert.cause_event_id, jurisdiction_code=alert.jurisdiction_code, grid_code=alert.grid_code,
        due_at=alert.due_at, raised_at=alert.raised_at)


def status_changed(alert: Alert, by: str | None, note: str | None) -> AlertStatusChanged:
    return AlertStatusChanged(alert_id=alert.id, enterprise_uscc=alert.enterprise_uscc, status=alert.status,  # type: ignore[arg-type]
                              changed_at=alert.updated_at, by=by, note=note)
