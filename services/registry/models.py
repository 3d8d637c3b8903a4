"""Tables of the registry service: the jurisdiction tree and the ledger (台账) of enterprises,
equipment, gas cylinders, operators, accidents and QR tokens, plus import runs.

Rows carry a ``revision`` that grows by one with every event published about them: it is the
snapshot revision readers order events by, and the ETag writers must match (If-Match)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, BigId, PlatformTables, TimestampMixin, new_metadata, new_uuid, utcnow


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


class Jurisdiction(TimestampMixin, Base):
    """A node of the tree: city → district/county → township/street → grid (网格)."""

    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(String(12), ForeignKey("jurisdictions.code"), index=True)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    min_lon: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    inspectors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # grid inspectors (网格员)
    revision: Mapped[int] = mapped_column(Integer, default=1)


class Enterprise(TimestampMixin, Base):
    """A unit using or filling special equipment (使用单位 / 充装单位), keyed by its USCC."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(String(18), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    jurisdiction_code: Mapped[str] = mapped_column(String(12), ForeignKey("jurisdictions.code"))
    grid_code: Mapped[str | None] = mapped_column(String(12), ForeignKey("jurisdictions.code"))
    # The most specific node known (grid, else the registered jurisdiction): what scope reads,
    # always as a prefix (LIKE '3711%'), hence the pattern-ops index on PostgreSQL.
    division_code: Mapped[str] = mapped_column(String(12))
    address: Mapped[str | None] = mapped_column(String(500))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    location_verified_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    location_verified_by: Mapped[str | None] = mapped_column(String(200))
    venue_type: Mapped[str] = mapped_column(String(30))
    kinds_tags: Mapped[str] = mapped_column(String(300), default="")  # "|gas_filling|boiler|"
    general_credit_grade: Mapped[str | None] = mapped_column(String(1))
    management: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # current state with provenance
    declared_management: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)  # latest declaration
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # never public
    associations: Mapped[list[str]] = mapped_column(JSON, default=list)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)  # 沙盒监管
    operating_status: Mapped[str] = mapped_column(String(20), default="operating")
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    key_supervision_causes: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_supervision_reason: Mapped[str | None] = mapped_column(String(1000))
    designation_reason: Mapped[str | None] = mapped_column(String(500))  # manual designation
    designated_by: Mapped[str | None] = mapped_column(String(200))
    designated_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_accident_date: Mapped[date | None] = mapped_column(Date)
    registered_by: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("ix_enterprises_division_code", "division_code",
              postgresql_ops={"division_code": "varchar_pattern_ops"}),
    )


class ManagementFactRecord(Base):
    """One declaration or observation of management facts (history, append-only)."""

    __tablename__ = "management_fact_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"))
    source: Mapped[str] = mapped_column(String(10))  # declared | observed
    facts: Mapped[dict[str, bool]] = mapped_column(JSON)
    as_of: Mapped[datetime] = mapped_column(AwareDateTime())
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))
    patrol_id: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (Index("ix_management_fact_records_uscc_as_of", "uscc", "as_of"),)


class Equipment(TimestampMixin, Base):
    """A unit of special equipment (特种设备) on an enterprise's ledger."""

    __tablename__ = "equipment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    category: Mapped[str] = mapped_column(String(4))
    registration_no: Mapped[str | None] = mapped_column(String(64), unique=True)  # 使用登记证编号; None = unregistered
    equipment_code: Mapped[str | None] = mapped_column(String(64))  # 设备代码 or the unit's own number
    name: Mapped[str | None] = mapped_column(String(200))
    place: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="in_use")
    next_inspection_due: Mapped[date | None] = mapped_column(Date, index=True)
    last_inspection_date: Mapped[date | None] = mapped_column(Date)
    last_inspection_result: Mapped[str | None] = mapped_column(String(30))
    last_maintenance_date: Mapped[date | None] = mapped_column(Date)
    safety_accessories: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The due date whose lapse the daily job already published (once per item per due date).
    overdue_reported_for: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (UniqueConstraint("uscc", "equipment_code"),)


class EquipmentInspection(Base):
    """A periodic inspection (定期检验) of one unit; recording one moves its next due date."""

    __tablename__ = "equipment_inspections"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    equipment_id: Mapped[str] = mapped_column(String(36), ForeignKey("equipment.id"), index=True)
    inspected_date: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(30))
    next_due_date: Mapped[date | None] = mapped_column(Date)
    agency: Mapped[str | None] = mapped_column(String(200))
    report_no: Mapped[str | None] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(200))


class GasCylinder(TimestampMixin, Base):
    """One gas cylinder (气瓶) of a filling unit, tracked by its number."""

    __tablename__ = "gas_cylinders"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"))
    cylinder_no: Mapped[str] = mapped_column(String(64))
    revision: Mapped[int] = mapped_column(Integer, default=1)
    medium: Mapped[str | None] = mapped_column(String(50))
    equipment_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("equipment.id"))
    manufactured_date: Mapped[date | None] = mapped_column(Date)
    next_inspection_date: Mapped[date | None] = mapped_column(Date)
    scrap_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="in_use")

    __table_args__ = (UniqueConstraint("uscc", "cylinder_no"),)


class Operator(TimestampMixin, Base):
    """An operator (作业人员) and their certificate. The ID number is kept only as a keyed hash."""

    __tablename__ = "operators"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(100))
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    certificate_no: Mapped[str | None] = mapped_column(String(64), unique=True)
    certificate_category: Mapped[str | None] = mapped_column(String(10))
    certificate_issued_date: Mapped[date | None] = mapped_column(Date)
    certificate_valid_until: Mapped[date | None] = mapped_column(Date, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The expiry date whose lapse the daily job already published.
    expiry_reported_for: Mapped[date | None] = mapped_column(Date)


class Accident(Base):
    """A special-equipment accident (事故) reported against an enterprise."""

    __tablename__ = "accidents"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"), index=True)
    occurred_date: Mapped[date] = mapped_column(Date)
    equipment_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("equipment.id"))
    severity: Mapped[str] = mapped_column(String(30))
    enterprise_responsible: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    reported_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    reported_by: Mapped[str] = mapped_column(String(200))


class QrToken(Base):
    """An unguessable QR token: 一企一码 (enterprise) or 风险防控码 (equipment). Revoked tokens
    stay, so that scanning an old label says "revoked" rather than "never existed"."""

    __tablename__ = "qr_tokens"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # enterprise | equipment
    uscc: Mapped[str] = mapped_column(String(18), ForeignKey("enterprises.uscc"), index=True)
    equipment_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("equipment.id"))
    # "enterprise:<uscc>" or "equipment:<id>" while active, NULL once revoked: the unique
    # constraint then allows one active token per subject on SQLite and PostgreSQL alike.
    active_subject: Mapped[str | None] = mapped_column(String(60), unique=True)
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    issued_by: Mapped[str] = mapped_column(String(200))
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class ImportRun(Base):
    """One bulk import and its row-level report."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_uuid)
    filename: Mapped[str | None] = mapped_column(String(300))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | completed | failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # {"totals": {...}, "by_kind": {...}}
    report_csv: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
