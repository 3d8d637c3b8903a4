"""Tables of the inspection service.

- the ledger projection (what inspection knows of the registry, built only from its events:
  ``ledger_*``) and the closed days declared against it;
- records: filling records (气瓶充装记录) with the days they cover, equipment usage and maintenance
  records, maintenance lapses reported;
- the record chain: links, each enterprise's head (the row appends lock), the heads published;
- the daily cut-off: one finding per (enterprise, business date), and the runs.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, BigId, PlatformTables, new_metadata, utcnow

USCC = String(18)
EVENT_ID = String(36)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


# --- the ledger projection ------------------------------------------------------------------

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
    """One fill of one cylinder (TSG 23): stored once per (enterprise, cylinder, filled_at)."""

    __tablename__ = "filling_records"
    __table_args__ = (
        UniqueConstraint("enterprise_uscc", "cylinder_no", "filled_at"),
        Index("ix_filling_records_enterprise_filled", "enterprise_uscc", "filled_at", "id"),
        Index("ix_filling_records_batch", "batch_id"),
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
    batch_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(AwareDateTime())
    # one line per anomaly found, "kind:severity:detail" ("" when none): text, not JSON, because
    # encoding a JSON value per row was a fifth of ingest's time
    anomalies: Mapped[str] = mapped_column(Text, default="")


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
