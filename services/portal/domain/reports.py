"""A report's status as the reporter sees it, following the alert enforcement raised for it."""

from __future__ import annotations

ReportStatusCode = str  # received, in_progress, resolved

# The alert lifecycle (raised → dispatched → acknowledged → resolved, or escalated) seen from outside.
FROM_ALERT: dict[str, str] = {
    "raised": "in_progress", "dispatched": "in_progress", "acknowledged": "in_progress",
    "escalated": "in_progress", "resolved": "resolved",
}
LABELS: dict[str, tuple[str, str]] = {
    "received": ("已受理", "您的反映已收到，将转交属地监管部门研判。"),
    "in_progress": ("处理中", "监管部门已立项处理，正在核查。"),
    "resolved": ("已办结", "监管部门已核查处理完毕。感谢您的监督！"),
}


def status_from_alert(alert_status: str) -> str:
    return FROM_ALERT.get(alert_status, "in_progress")
