"""Tables of the inspection service.

- the ledger projection (what inspection knows of the registry, built only from its events:
  ``ledger_*``) and the closed days declared against it;
- records: filling records (气瓶充装记录), uploads and their corrections (each a version of its fill),
  with the days they cover, equipment usage and maintenance records, maintenance lapses reported;
- the record chain: links, each enterprise's head (the row appends lock), the heads published;
- the daily cut-off: one finding per (enterprise, business date), and the runs.
"""

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, BigId, PlatformTables, new_metadata, utcnow

USCC = String(18)
EVENT_ID = String(36)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


# --- the ledger projection ------------------------------------------------------------------


def new_facts_stamp() -> int:
    """A ``facts_stamp``: random, so that a rebuilt or restored ledger never repeats one a running
    process remembers (ledger/facts.py)."""
    return secrets.randbits(62)

class LedgerEnterprise(Base):
    """An enterprise (使用单位) as the registry's latest snapshot has it."""

    __tablename__ = "ledger_enterprises"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_code: Mapped[str] = mapped_column(String(12), index=True)
    grid_code: Mapped[str | None] = mapped_column(String(12))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    filling_unit: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # kinds hold gas_filling
    operating: Mapped[bool] = mapped_column(Boolean, default=True)
    operating_status: Mapped[str] = mapped_column(String(20), default="operating")
    location: Mapped[dict[str, float] | None] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    # replaced whenever one of its cylinders or operators changes: what the filling rules
    # remember of them per process is valid while it stands (ledger/facts.py)
    facts_stamp: Mapped[int | None] = mapped_column(BigInteger, default=new_facts_stamp)


class LedgerEquipment(Base):
    """Special equipment (特种设备) of an enterprise."""

    __tablename__ = "ledger_equipment"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(4))
    registration_no: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    next_inspection_due: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class LedgerCylinder(Base):
    """A gas cylinder (气瓶) of a filling unit, looked up by its number on every filling record."""

    __tablename__ = "ledger_cylinders"
    __table_args__ = (Index("ix_ledger_cylinders_number", "uscc", "cylinder_no"),)

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    cylinder_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    cylinder_no: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer)
    medium: Mapped[str | None] = mapped_column(String(50))
    next_inspection_date: Mapped[date | None] = mapped_column(Date)
    scrap_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class LedgerOperator(Base):
    """An operator (作业人员) and their certificate, looked up by certificate number."""

    __tablename__ = "ledger_operators"
    __table_args__ = (Index("ix_ledger_operators_certificate", "uscc", "certificate_no"),)

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    certificate_no: Mapped[str | None] = mapped_column(String(64))
    certificate_valid_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class ClosedDay(Base):
    """A day a filling unit does not operate (停业日), declared ahead by it or recorded by a
    regulator; a cancelled one keeps its row (cancelled_at set) for the audit trail."""

    __tablename__ = "closed_days"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(String(500))
    declared_by: Mapped[str] = mapped_column(String(200))
    declared_by_role: Mapped[str] = mapped_column(String(20))
    declared_at: Mapped[datetime] = mapped_column(AwareDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(200))


# --- records --------------------------------------------------------------------------------

class FillingRecord(Base):
    """One fill of one cylinder (TSG 23). An upload is stored once per (enterprise, cylinder,
    filled_at); a correction is a new row naming the version it replaces (``corrects_id``) and
    never an edit of it, so a fill is the line of its versions, the newest current."""

    __tablename__ = "filling_records"
    __table_args__ = (
        # per-record idempotency of uploads; a correction may repeat the key of the fill it corrects
        Index("ix_filling_records_uploaded_fill", "enterprise_uscc", "cylinder_no", "filled_at", unique=True,
              sqlite_where=text("corrects_id IS NULL"), postgresql_where=text("corrects_id IS NULL")),
        Index("ix_filling_records_enterprise_filled", "enterprise_uscc", "filled_at", "id"),
        Index("ix_filling_records_batch", "batch_id"),
        # one correction per version (partial: uploads, nearly every row, hold no entry)
        Index("ix_filling_records_corrects", "corrects_id", unique=True,
              sqlite_where=text("corrects_id IS NOT NULL"), postgresql_where=text("corrects_id IS NOT NULL")),
        Index("ix_filling_records_original", "original_id",
              sqlite_where=text("original_id IS NOT NULL"), postgresql_where=text("original_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    cylinder_no: Mapped[str] = mapped_column(String(64))
    medium: Mapped[str] = mapped_column(String(50))
    filled_at: Mapped[datetime] = mapped_column(AwareDateTime())
    business_date: Mapped[date] = mapped_column(Date)
    pre_check_passed: Mapped[bool] = mapped_column(Boolean)
    post_check_passed: Mapped[bool] = mapped_column(Boolean)
    operator_cert_no: Mapped[str | None] = mapped_column(String(64))
    checker_cert_no: Mapped[str | None] = mapped_column(String(64))
    filled_mass_kg: Mapped[float] = mapped_column(Float)
    scale_id: Mapped[str | None] = mapped_column(String(64))
    batch_id: Mapped[str] = mapped_column(String(36))  # the upload that stored it (a correction is its own)
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    # one line per anomaly found, "kind:severity:detail" ("" when none): text, not JSON, because
    # encoding a JSON value per row was a fifth of ingest's time
    anomalies: Mapped[str] = mapped_column(Text, default="")
    # the chain link that sealed it: its batch's link, or a correction's own (null only for a row
    # stored before this column whose batch link was gone: verification reports it)
    chain_sequence: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 1: as uploaded
    corrects_id: Mapped[int | None] = mapped_column(BigId)  # the version this one replaces
    original_id: Mapped[int | None] = mapped_column(BigId)  # the upload a correction descends from
    correction_reason: Mapped[str | None] = mapped_column(Text)
    corrected_by: Mapped[str | None] = mapped_column(String(200))


class FillingDay(Base):
    """A business date on which an enterprise has filling records: what the cut-off asks."""

    __tablename__ = "filling_days"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    first_received_at: Mapped[datetime] = mapped_column(AwareDateTime())


class EquipmentRecord(Base):
    """A usage or maintenance record (使用/维护保养记录) of one piece of equipment: daily use,
    maintenance, a trial run or routine check, a fault. A correction is a new record naming the
    one it corrects."""

    __tablename__ = "equipment_records"
    __table_args__ = (
        Index("ix_equipment_records_equipment", "enterprise_uscc", "equipment_id", "occurred_at"),
        Index("ix_equipment_records_enterprise", "enterprise_uscc", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    equipment_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(AwareDateTime())
    business_date: Mapped[date] = mapped_column(Date)
    performed_by: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[int | None] = mapped_column(BigId)
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime())
    recorded_by: Mapped[str] = mapped_column(String(200))
    chain_sequence: Mapped[int] = mapped_column(Integer)


class MaintenanceLapse(Base):
    """A maintenance lapse reported: once per equipment and due date."""

    __tablename__ = "maintenance_lapses"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    due_date: Mapped[date] = mapped_column(Date, primary_key=True)
    detected_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


# --- the record chain -----------------------------------------------------------------------

class ChainLink(Base):
    """One link of an enterprise's record chain (domain/chain.py): append-only."""

    __tablename__ = "chain_links"
    __table_args__ = (UniqueConstraint("enterprise_uscc", "sequence"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    sequence: Mapped[int] = mapped_column(Integer)
    previous_hash: Mapped[str] = mapped_column(String(64))
    payload_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(50))
    payload: Mapped[str] = mapped_column(Text)  # canonical (RFC 8785) JSON text, hashed as stored
    corrects: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class ChainHead(Base):
    """Each enterprise's chain head: appends lock this row, so one chain never forks."""

    __tablename__ = "chain_heads"

    enterprise_uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    head_hash: Mapped[str] = mapped_column(String(64))
    published_sequence: Mapped[int] = mapped_column(Integer, default=0)
    published_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)


class PublishedHead(Base):
    """The service's own copy of every chain head it published (chain.head_published)."""

    __tablename__ = "chain_published_heads"

    enterprise_uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(AwareDateTime())
    event_id: Mapped[str] = mapped_column(EVENT_ID)


# --- the daily cut-off ----------------------------------------------------------------------

class CutoffFinding(Base):
    """An enterprise found without filling records for a business date: one row, one
    filling_records.missing, whatever runs how often; late records mark it once."""

    __tablename__ = "cutoff_findings"
    __table_args__ = (Index("ix_cutoff_findings_date", "business_date"),)

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36))
    found_at: Mapped[datetime] = mapped_column(AwareDateTime())
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    late_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    late_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    # a closed day declared afterwards withdraws the finding: filling_records.missing_withdrawn, once
    withdrawn_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    withdrawn_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class CutoffRun(Base):
    """One run of the cut-off (scheduled, admin, CLI): when, by whom, what it found."""

    __tablename__ = "cutoff_runs"
    __table_args__ = (Index("ix_cutoff_runs_date", "business_date"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(200))
    scope: Mapped[str | None] = mapped_column(String(12))  # a regulator's subtree; null: every unit
    started_at: Mapped[datetime] = mapped_column(AwareDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    checked: Mapped[int] = mapped_column(Integer, default=0)
    found: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# === self-inspection tasks (五定), submissions, hazards, photo blobs ==============================
# (kept apart from the records' tables above: added by the tasks migration)

class TargetFacts(Base):
    """What issuing tasks to a filtered set needs beyond the ledger: key supervision (registry's
    enterprise snapshots) and the grade (scoring's score.updated), each applied when newer."""

    __tablename__ = "task_target_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    grade: Mapped[str | None] = mapped_column(String(1))
    grade_computed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class TaskTemplate(Base):
    """A task template: 日管控/周排查/月调度 (SAMR Order 74) recurring, or an ad-hoc campaign. Edits
    name the revision read (If-Match); an inactive template issues no further occurrences."""

    __tablename__ = "task_templates"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[str] = mapped_column(String(10))
    target: Mapped[dict[str, Any]] = mapped_column(JSON)  # uscc | jurisdiction, grades, kinds, key_supervision
    opens_at: Mapped[str] = mapped_column(String(8))  # HH:MM:SS, business time
    closes_at: Mapped[str] = mapped_column(String(8))
    fence_radius_m: Mapped[float] = mapped_column(Float)
    assignee: Mapped[dict[str, str] | None] = mapped_column(JSON)
    scene: Mapped[dict[str, Any]] = mapped_column(JSON)
    matters: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    policy: Mapped[dict[str, str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    issuer_jurisdiction: Mapped[str | None] = mapped_column(String(12))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())


class Task(Base):
    """A self-inspection task (自查任务) of one enterprise, with its 五定; recurring templates
    yield one per (template, period, enterprise)."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("template_id", "period_key", "enterprise_uscc"),
        Index("ix_tasks_enterprise", "enterprise_uscc", "window_end", "id"),
        Index("ix_tasks_jurisdiction", "jurisdiction_code", "window_end", "id"),
        Index("ix_tasks_closing", "closed_at", "window_end"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    template_id: Mapped[str | None] = mapped_column(String(36))
    period_key: Mapped[str | None] = mapped_column(String(20))
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    title: Mapped[str] = mapped_column(String(200))
    cycle: Mapped[str] = mapped_column(String(10))
    window_start: Mapped[datetime] = mapped_column(AwareDateTime())
    window_end: Mapped[datetime] = mapped_column(AwareDateTime())
    due_date: Mapped[date] = mapped_column(Date)
    fence: Mapped[dict[str, float]] = mapped_column(JSON)
    assignee: Mapped[dict[str, str] | None] = mapped_column(JSON)
    scene: Mapped[dict[str, Any]] = mapped_column(JSON)
    matters: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    policy: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(12), default="open")  # open, completed, missed
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    closed_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime())


class Submission(Base):
    """One accepted submission of a task (its 五定 checked; flags kept with their reasons); a
    correction is a new submission naming the one it corrects."""

    __tablename__ = "task_submissions"
    __table_args__ = (
        UniqueConstraint("task_id", "client_id"),
        Index("ix_task_submissions_task", "task_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36))
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    client_id: Mapped[str] = mapped_column(String(64))  # the device's own id of it: a retry is the same submission
    fingerprint: Mapped[str] = mapped_column(String(64))
    submitted_by: Mapped[str] = mapped_column(String(200))
    operator_id: Mapped[str | None] = mapped_column(String(100))
    device_time: Mapped[datetime] = mapped_column(AwareDateTime())
    server_time: Mapped[datetime] = mapped_column(AwareDateTime())
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    gps_accuracy_m: Mapped[float] = mapped_column(Float)
    mock_location: Mapped[bool] = mapped_column(Boolean)
    equipment_id: Mapped[str | None] = mapped_column(String(100))
    spot: Mapped[str | None] = mapped_column(String(200))
    photos: Mapped[list[str]] = mapped_column(JSON)  # SHA-256 of each photo blob
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    flags: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    corrects_id: Mapped[str | None] = mapped_column(String(36))
    chain_sequence: Mapped[int] = mapped_column(Integer)


class Hazard(Base):
    """A hazard (隐患): a failed checklist item, with its rectification deadline."""

    __tablename__ = "hazards"
    __table_args__ = (
        Index("ix_hazards_enterprise", "enterprise_uscc", "raised_at", "id"),
        Index("ix_hazards_jurisdiction", "jurisdiction_code", "raised_at", "id"),
        Index("ix_hazards_deadline", "status", "deadline_date"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    jurisdiction_code: Mapped[str] = mapped_column(String(12))
    task_id: Mapped[str] = mapped_column(String(36))
    submission_id: Mapped[str] = mapped_column(String(36))
    item_code: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(10))
    raised_at: Mapped[datetime] = mapped_column(AwareDateTime())
    deadline_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")  # open, evidence_submitted, rectified
    recheck_due_date: Mapped[date | None] = mapped_column(Date)
    rectified_date: Mapped[date | None] = mapped_column(Date)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    overdue_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    chain_sequence: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class HazardEvidence(Base):
    """The enterprise's evidence of a rectification (photos, a note) and the regulator's verdict."""

    __tablename__ = "hazard_evidence"
    __table_args__ = (Index("ix_hazard_evidence_hazard", "hazard_id", "submitted_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    hazard_id: Mapped[str] = mapped_column(String(36))
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    note: Mapped[str] = mapped_column(Text, default="")
    photos: Mapped[list[str]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(String(200))
    submitted_at: Mapped[datetime] = mapped_column(AwareDateTime())
    chain_sequence: Mapped[int] = mapped_column(Integer)
    verdict: Mapped[str | None] = mapped_column(String(10))  # accepted, rejected
    verdict_note: Mapped[str | None] = mapped_column(Text)
    verdict_by: Mapped[str | None] = mapped_column(String(200))
    verdict_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    verdict_sequence: Mapped[int | None] = mapped_column(Integer)
    recheck_overdue_event_id: Mapped[str | None] = mapped_column(EVENT_ID)  # hazard.recheck_overdue, once


class Blob(Base):
    """A photo blob held for an enterprise: content-addressed (SHA-256); the bytes live in the
    blob store (local disk or S3-compatible storage), stored once whoever uploads them."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(50))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(AwareDateTime())
