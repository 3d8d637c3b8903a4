"""Events the inspection service publishes (self-inspection, hazards, records, the cut-off).

Declared ahead of the service so that scoring consumes exactly what inspection will publish."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

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


class SelfInspectionTaskIssued(EventData):
    """A self-inspection task (自查任务) was issued to an enterprise, by a regulator or by a
    recurring template's occurrence (日管控/周排查/月调度)."""

    task_id: str
    enterprise_uscc: Uscc
    title: str
    cycle: Literal["daily", "weekly", "monthly", "adhoc"]
    template_id: str | None = None
    window_start: datetime
    window_end: datetime
    due_date: date


class SelfInspectionTaskSubmitted(EventData):
    """A submission of a task was accepted; ``flags`` names each rule it was accepted despite
    (e.g. ``mock_location``, ``late_offline``), ``hazards`` how many failed items it raised."""

    task_id: str
    submission_id: str
    enterprise_uscc: Uscc
    submitted_at: datetime
    device_time: datetime
    flags: list[str] = []
    hazards: int = 0
    corrects_submission_id: str | None = None


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


class FillingRecordsArrivedLate(EventData):
    """Filling records for a business date the cut-off had found missing arrived afterwards: the
    warning raised for that day may close itself (domain.md §10)."""

    enterprise_uscc: Uscc
    business_date: date
    missing_event_id: str | None = Field(None, description="id of the filling_records.missing event of that day")
    records: int = Field(ge=1, description="how many records of that day this batch stored")
    received_at: datetime


class FillingRecordsMissingWithdrawn(EventData):
    """A closed day (停业日) of a business date the cut-off had found missing was declared or recorded
    afterwards: the unit owed no records that day, so whatever was raised on the missing event
    (``missing_event_id``) may be withdrawn. Once per finding."""

    enterprise_uscc: Uscc
    business_date: date
    missing_event_id: str = Field(description="id of the filling_records.missing event withdrawn")
    withdrawn_at: datetime


AnomalyKind = Literal[
    "expired_cylinder", "scrapped_cylinder", "unknown_cylinder", "night_fill", "failed_pre_check",
    "failed_post_check", "operator_uncertified",
]


class FillingAnomalyDetected(EventData):
    """Ingest found a filling record that breaks a rule (domain.md §9). ``serious`` anomalies (a
    cylinder filled past its inspection or scrap date) raise on-site enforcement whatever the grade."""

    enterprise_uscc: Uscc
    record_id: str
    kind: AnomalyKind
    severity: Literal["serious", "general"]
    cylinder_no: str
    filled_at: datetime
    detail: str = ""


class FillingRecordCorrected(EventData):
    """A filling record was corrected: ``record_id`` is the new version, ``corrects_id`` the one it
    replaces (both stay stored). ``cleared`` names the anomalies the replaced version had that the
    corrected content no longer shows; anomalies it newly shows come as anomaly_detected events of
    ``record_id``, each kind once per fill."""

    enterprise_uscc: Uscc
    record_id: str
    corrects_id: str
    original_id: str = Field(description="the record as first uploaded")
    version: int = Field(ge=2, description="2 for the first correction, and so on")
    reason: str
    changed: list[str] = Field(description="the fields whose values the correction changed")
    anomalies: list[AnomalyKind] = Field(description="the anomalies the corrected content shows")
    cleared: list[AnomalyKind] = Field(description="anomalies of the replaced version the correction cleared")
    raised_by: dict[AnomalyKind, str] = Field(default_factory=dict, description=(
        "for each cleared anomaly, the version whose anomaly_detected raised it (its record_id: an alert it "
        "caused names that id)"))
    business_date: date
    corrected_at: datetime


class HazardOverdue(EventData):
    """A hazard passed its rectification deadline unrectified."""

    hazard_id: str
    enterprise_uscc: Uscc
    deadline_date: date
    detected_on: date


class HazardRecheckOverdue(EventData):
    """A hazard's rectification evidence went unverified past its re-check due date (10 working days
    after the evidence, domain.md §7): the regulators' re-check is overdue. Once per evidence."""

    hazard_id: str
    enterprise_uscc: Uscc
    evidence_id: str
    recheck_due_date: date
    detected_on: date


class MaintenanceLapsed(EventData):
    """A piece of equipment went longer than its category's maintenance interval without a
    maintenance record (default for lifts: 15 days)."""

    enterprise_uscc: Uscc
    equipment_id: str
    category: str
    last_maintenance_date: date | None = None
    due_date: date
    detected_on: date


class ChainHeadPublished(EventData):
    """The head of an enterprise's tamper-evident record chain, published so that a copy lives
    outside inspection's database; ``chain/verify`` compares the chain with these."""

    enterprise_uscc: Uscc
    sequence: int = Field(ge=1, description="number of records in the chain up to this head")
    head_hash: str = Field(description="hex SHA-256 of the head record's canonical (RFC 8785) encoding")
    published_at: datetime


FILLING_RECORDS_MISSING = EventSpec(
    "safegrid.inspection.filling_records.missing.v1", "inspection.records", FillingRecordsMissing,
    "The daily cut-off found no filling record for an operating filling unit.")
TASK_CLOSED = EventSpec(
    "safegrid.inspection.task.closed.v1", "inspection.tasks", SelfInspectionTaskClosed,
    "A self-inspection task's window closed; completed says whether it was done.")
TASK_ISSUED = EventSpec(
    "safegrid.inspection.task.issued.v1", "inspection.tasks", SelfInspectionTaskIssued,
    "A self-inspection task was issued to an enterprise.")
TASK_SUBMITTED = EventSpec(
    "safegrid.inspection.task.submitted.v1", "inspection.tasks", SelfInspectionTaskSubmitted,
    "A submission of a self-inspection task was accepted (with its flags).")
HAZARD_RAISED = EventSpec(
    "safegrid.inspection.hazard.raised.v1", "inspection.hazards", HazardRaised,
    "A hazard was raised with a rectification deadline.")
HAZARD_RECTIFIED = EventSpec(
    "safegrid.inspection.hazard.rectified.v1",
    "inspection.hazards",
    HazardRectified,
    "A regulator verified a hazard's rectification.",
)

FILLING_RECORDS_ARRIVED_LATE = EventSpec(
    "safegrid.inspection.filling_records.arrived_late.v1", "inspection.records", FillingRecordsArrivedLate,
    "Filling records arrived for a business date the cut-off had found missing.")
FILLING_ANOMALY_DETECTED = EventSpec(
    "safegrid.inspection.filling_record.anomaly_detected.v1", "inspection.records", FillingAnomalyDetected,
    "Ingest found a filling record that breaks a rule (expired or scrapped cylinder, night fill, failed check...).")
MAINTENANCE_LAPSED = EventSpec(
    "safegrid.inspection.maintenance.lapsed.v1", "inspection.records", MaintenanceLapsed,
    "Equipment went past its maintenance interval without a maintenance record.")
CHAIN_HEAD_PUBLISHED = EventSpec(
    "safegrid.inspection.chain.head_published.v1", "inspection.records", ChainHeadPublished,
    "The head of an enterprise's tamper-evident record chain.")
HAZARD_OVERDUE = EventSpec(
    "safegrid.inspection.hazard.overdue.v1", "inspection.hazards", HazardOverdue,
    "A hazard passed its rectification deadline unrectified.")
HAZARD_RECHECK_OVERDUE = EventSpec(
    "safegrid.inspection.hazard.recheck_overdue.v1", "inspection.hazards", HazardRecheckOverdue,
    "A hazard's rectification evidence went unverified past its re-check due date.")
FILLING_RECORD_CORRECTED = EventSpec(
    "safegrid.inspection.filling_record.corrected.v1", "inspection.records", FillingRecordCorrected,
    "A filling record was corrected by a new version pointing at the old (which stays).")
FILLING_RECORDS_MISSING_WITHDRAWN = EventSpec(
    "safegrid.inspection.filling_records.missing_withdrawn.v1", "inspection.records", FillingRecordsMissingWithdrawn,
    "A closed day was declared after the cut-off had found the unit missing that day: the finding is withdrawn.")

EVENTS = (
    FILLING_RECORDS_MISSING,
    TASK_CLOSED,
    HAZARD_RAISED,
    HAZARD_RECTIFIED,
    FILLING_RECORDS_ARRIVED_LATE,
    FILLING_ANOMALY_DETECTED,
    MAINTENANCE_LAPSED,
    CHAIN_HEAD_PUBLISHED,
    HAZARD_OVERDUE,
    TASK_ISSUED,
    TASK_SUBMITTED,
    HAZARD_RECHECK_OVERDUE,
    FILLING_RECORDS_MISSING_WITHDRAWN,
    FILLING_RECORD_CORRECTED,
)
