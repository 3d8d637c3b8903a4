"""Events the inspection service publishes (self-inspection, hazards, records, the cut-off).

Declared ahead of the service so that scoring consumes exactly what inspection will publish."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from shared.contracts.common import EventData, Uscc
from shared.events.spec import EventSpec


class FillingRecordsMissing(EventData):
    """No filling record (气瓶充装记录) arrived for an operating filling unit's business date."""

    enterprise_uscc: Uscc
    business_date: date
    cutoff_at: datetime
    cutoff_id: str | None = None


class SelfInspectionTaskClosed(EventData):
    """A self-inspection task's window closed, done or not: the basis of completion rates."""

    task_id: str
    enterprise_uscc: Uscc
    due_date: date
    completed: bool
    closed_at: datetime


class HazardRaised(EventData):
    """A failed self-inspection item became a hazard (隐患) with a rectification deadline."""

    hazard_id: str
    enterprise_uscc: Uscc
    deadline_date: date
    severity: Literal["general", "major"] = "general"
    description: str = ""


class HazardRectified(EventData):
    hazard_id: str
    enterprise_uscc: Uscc
    rectified_date: date


FILLING_RECORDS_MISSING = EventSpec(
    "safegrid.inspection.filling_records.missing.v1", "inspection.records", FillingRecordsMissing,
    "The daily cut-off found no filling record for an operating filling unit.")
TASK_CLOSED = EventSpec(
    "safegrid.inspection.task.closed.v1", "inspection.tasks", SelfInspectionTaskClosed,
    "A self-inspection task's window closed; completed says whether it was done.")
HAZARD_RAISED = EventSpec(
    "safegrid.inspection.hazard.raised.v1", "inspection.hazards", HazardRaised,
    "A hazard was raised with a rectification deadline.")
HAZARD_RECTIFIED = EventSpec(
    "safegrid.inspection.hazard.rectified.v1",
    "inspection.hazards",
    HazardRectified,
    "A regulator verified a hazard's rectification.",
)

EVENTS = (
    FILLING_RECORDS_MISSING,
    TASK_CLOSED,
    HAZARD_RAISED,
    HAZARD_RECTIFIED,
)
