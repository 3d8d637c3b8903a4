"""Tables of the scoring service.

Two kinds: the projection (what scoring knows of each enterprise, built only from events so it can
be rebuilt by replaying the topics; every fact keeps the id of the event that established it), and
scoring's own records (models, current scores, history, grade periods, adjustments, repairs).
Bulk paths use the tables through SQLAlchemy Core (``Model.__table__``).
"""

import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Table, Text, TypeDecorator, false
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.scoring.domain.evaluation import SerializedJSON, dump_json
from shared.db import AwareDateTime, BigId, PlatformTables, new_metadata, utcnow

USCC = String(18)
EVENT_ID = String(100)


class JSONText(TypeDecorator[Any]):
    """A JSON document stored as text. A full rescore writes a score's explanation to the current
    score and to its history; serializing it once (and hashing that text for the fingerprint)
    saves a third of the rescore's JSON work."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, SerializedJSON):
            return value
        return dump_json(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


# --- the projection -------------------------------------------------------------------------

class EnterpriseProfile(Base):
    """An enterprise (使用单位) as the registry's latest snapshot has it. A row with revision 0 is a
    placeholder: facts about the enterprise arrived before its snapshot; it is not scored yet."""

    __tablename__ = "enterprise_profiles"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(200))
    jurisdiction_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(12))
    venue_type: Mapped[str] = mapped_column(String(40), default="other")
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    general_credit_grade: Mapped[str | None] = mapped_column(String(1))
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    key_supervision_reason: Mapped[str | None] = mapped_column(String(500))
    operating: Mapped[bool] = mapped_column(Boolean, default=True)
    # key -> {"in_place", "source", "as_of", "event_id"}: one JSON value instead of eight rows, so a
    # full rescore reads one row per enterprise here.
    management: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    general_credit_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    profile_event_id: Mapped[str | None] = mapped_column(EVENT_ID)  # venue_type and kinds
    snapshot_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class EquipmentFactRow(Base):
    """Special equipment (特种设备): registration, status and inspection due date."""

    __tablename__ = "equipment_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    equipment_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(4))
    registered: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(20))
    next_inspection_due: Mapped[date | None] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    # A tombstone: the item left the enterprise at `revision` (the removal's event in event_id).
    # Kept so that an older snapshot relayed after the removal stays ignored; not a fact.
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class OperatorFactRow(Base):
    """An operator (作业人员) and their certificate's validity."""

    __tablename__ = "operator_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    operator_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    certificate_valid_until: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    removed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # a tombstone, see above


class SelfInspectionTaskFactRow(Base):
    """A closed self-inspection task (自查任务), done or not."""

    __tablename__ = "self_inspection_task_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    task_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    due_date: Mapped[date] = mapped_column(Date)
    completed: Mapped[bool] = mapped_column(Boolean)
    closed_at: Mapped[datetime] = mapped_column(AwareDateTime())
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class HazardFactRow(Base):
    """A hazard (隐患). Raised and rectified arrive as two events in either order: a row may hold
    only the rectification until the raise arrives (deadline_date null: not a fact yet)."""

    __tablename__ = "hazard_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    hazard_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    deadline_date: Mapped[date | None] = mapped_column(Date)
    severity: Mapped[str | None] = mapped_column(String(20))
    rectified_date: Mapped[date | None] = mapped_column(Date)
    raised_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    rectified_event_id: Mapped[str | None] = mapped_column(EVENT_ID)


class MissingRecordsDayRow(Base):
    """A business date without filling records at the daily cut-off (充装记录缺失)."""

    __tablename__ = "missing_record_day_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    event_id: Mapped[str] = mapped_column(EVENT_ID, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date)
    cutoff_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    repair_id: Mapped[str | None] = mapped_column(String(36))  # set: removed by an approved credit repair


class PatrolFactRow(Base):
    """A 332211 patrol (巡查) and its item marks ({"1": "pass", ...})."""

    __tablename__ = "patrol_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    patrol_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    patrolled_at: Mapped[datetime] = mapped_column(AwareDateTime())
    mode: Mapped[str] = mapped_column(String(10))
    items: Mapped[dict[str, str]] = mapped_column(JSON)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class CaseFactRow(Base):
    """A case opened (立案)."""

    __tablename__ = "case_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    case_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    opened_date: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    repair_id: Mapped[str | None] = mapped_column(String(36))


class PenaltyFactRow(Base):
    """A penalty decided (行政处罚)."""

    __tablename__ = "penalty_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    penalty_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    decided_date: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    repair_id: Mapped[str | None] = mapped_column(String(36))


class OrderFactRow(Base):
    """An order to correct (责令改正) and whether it was rectified: open orders bar credit repair.
    Either event may arrive first (a rectified one carries the order's dates too)."""

    __tablename__ = "order_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    issued_date: Mapped[date] = mapped_column(Date)
    deadline_date: Mapped[date] = mapped_column(Date)
    rectified_date: Mapped[date | None] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class AccidentFactRow(Base):
    """A special-equipment accident (特种设备事故)."""

    __tablename__ = "accident_facts"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    accident_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    occurred_date: Mapped[date] = mapped_column(Date)
    responsible: Mapped[bool] = mapped_column(Boolean)
    severity: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[str] = mapped_column(EVENT_ID)


# --- scoring's own records ------------------------------------------------------------------

class ScoringModelRow(Base):
    """A version of the indicator model (指标模型), as loaded; versions are never replaced."""

    __tablename__ = "scoring_models"
    # Every rescoring asks which version is in effect: the latest effective_from on or before today.
    __table_args__ = (Index("ix_scoring_models_effective", "effective_from", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(100), unique=True)
    effective_from: Mapped[date] = mapped_column(Date)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated model
    source_text: Mapped[str] = mapped_column(Text)  # the file as loaded
    loaded_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    loaded_by: Mapped[str] = mapped_column(String(200))
    rescored_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    rescored_enterprises: Mapped[int | None] = mapped_column(Integer)


class CurrentScore(Base):
    """The score and grade an enterprise holds now, with its breakdown and the rules applied."""

    __tablename__ = "current_scores"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(1))
    raw_grade: Mapped[str] = mapped_column(String(1))
    model_version: Mapped[str] = mapped_column(String(100))
    # {"breakdown": [{indicator, group, points, evidence, detail}], "groups": [{group, points,
    # uncapped}], "rules": [{rule, detail}]}; labels are not stored, they live in the model version.
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONText)
    locked_until: Mapped[date | None] = mapped_column(Date)
    ceiling_until: Mapped[date | None] = mapped_column(Date)
    grade_since: Mapped[date] = mapped_column(Date)
    computed_at: Mapped[datetime] = mapped_column(AwareDateTime())
    # A hash of everything above but computed_at: a full rescore compares it to skip unchanged scores.
    fingerprint: Mapped[str] = mapped_column(String(40))
    # Counts the writes of this row: a full rescore that scored off-lock writes only if it is unchanged.
    revision: Mapped[int] = mapped_column(Integer, default=1)
    jurisdiction_code: Mapped[str] = mapped_column(String(12))  # copied for listing and statistics
    key_supervision: Mapped[bool] = mapped_column(Boolean)
    trigger_event_type: Mapped[str | None] = mapped_column(String(200))
    trigger_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    trigger_ref: Mapped[str | None] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(EVENT_ID)

    __table_args__ = (
        Index("ix_current_scores_jurisdiction", "jurisdiction_code", "uscc"),
        Index("ix_current_scores_grade", "grade", "uscc"),
    )


class ScoreHistoryRow(Base):
    """Every score an enterprise held, with its breakdown, kept for appeals."""

    __tablename__ = "score_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(USCC)
    computed_at: Mapped[datetime] = mapped_column(AwareDateTime())
    score: Mapped[float] = mapped_column(Float)
    grade: Mapped[str] = mapped_column(String(1))
    raw_grade: Mapped[str] = mapped_column(String(1))
    previous_grade: Mapped[str | None] = mapped_column(String(1))
    model_version: Mapped[str] = mapped_column(String(100))
    explanation: Mapped[dict[str, Any]] = mapped_column(JSONText)  # as in current_scores
    trigger_event_type: Mapped[str | None] = mapped_column(String(200))
    trigger_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    trigger_ref: Mapped[str | None] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(EVENT_ID)

    __table_args__ = (Index("ix_score_history_uscc", "uscc", "id"),)


class GradePeriodRow(Base):
    """A grade held from from_date through to_date (inclusive; null: still held) and what caused it.
    The one-year ceiling reads these."""

    __tablename__ = "grade_periods"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    uscc: Mapped[str] = mapped_column(USCC)
    grade: Mapped[str] = mapped_column(String(1))
    previous_grade: Mapped[str | None] = mapped_column(String(1))
    from_date: Mapped[date] = mapped_column(Date)
    to_date: Mapped[date | None] = mapped_column(Date)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime())
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(100))
    cause_event_type: Mapped[str | None] = mapped_column(String(200))
    cause_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    cause_ref: Mapped[str | None] = mapped_column(String(100))
    correlation_id: Mapped[str | None] = mapped_column(EVENT_ID)

    __table_args__ = (Index("ix_grade_periods_uscc", "uscc", "id"),)


class GradeAdjustmentRow(Base):
    """A manual grade (人工调整) set by a city-level regulator, until expires_on or lifted."""

    __tablename__ = "grade_adjustments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC)
    grade: Mapped[str] = mapped_column(String(1))
    reason: Mapped[str] = mapped_column(Text)
    expires_on: Mapped[date] = mapped_column(Date)
    set_by: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(AwareDateTime())
    lifted_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    lifted_by: Mapped[str | None] = mapped_column(String(200))
    lift_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_grade_adjustments_uscc", "uscc", "set_at"),)


class CreditRepairRow(Base):
    """An application for credit repair (信用修复) and the regulator's decision."""

    __tablename__ = "credit_repairs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC)
    status: Mapped[str] = mapped_column(String(20))  # pending | approved | rejected
    reason: Mapped[str] = mapped_column(Text)  # the enterprise's statement
    case_ids: Mapped[list[str]] = mapped_column(JSON)
    penalty_ids: Mapped[list[str]] = mapped_column(JSON)
    missing_record_dates: Mapped[list[str]] = mapped_column(JSON)
    applied_at: Mapped[datetime] = mapped_column(AwareDateTime())
    applied_by: Mapped[str] = mapped_column(String(200))
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    repaired_event_ids: Mapped[list[str]] = mapped_column(JSON, default=list)

    __table_args__ = (Index("ix_credit_repairs_uscc", "uscc", "applied_at"),)


class NightlyRun(Base):
    """One row per business date of the nightly pass: with several replicas, only one runs it.

    A replica claims the date with a lease (`lease_until`, renewed as it goes) and the pass counts
    as run only once `finished_at` is set; a claim left unfinished (the replica failed, stopped or
    died) is released, or taken over once its lease ran out."""

    __tablename__ = "nightly_rescore_runs"

    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(AwareDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    holder: Mapped[str] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(AwareDateTime())
    rescored: Mapped[int | None] = mapped_column(Integer)
    changed: Mapped[int | None] = mapped_column(Integer)


# The tables as SQLAlchemy Core sees them (repositories and bulk paths use these).
profiles: Table = EnterpriseProfile.__table__  # type: ignore[assignment]
equipment: Table = EquipmentFactRow.__table__  # type: ignore[assignment]
operators: Table = OperatorFactRow.__table__  # type: ignore[assignment]
tasks: Table = SelfInspectionTaskFactRow.__table__  # type: ignore[assignment]
hazards: Table = HazardFactRow.__table__  # type: ignore[assignment]
missing_days: Table = MissingRecordsDayRow.__table__  # type: ignore[assignment]
patrols: Table = PatrolFactRow.__table__  # type: ignore[assignment]
cases: Table = CaseFactRow.__table__  # type: ignore[assignment]
penalties: Table = PenaltyFactRow.__table__  # type: ignore[assignment]
orders: Table = OrderFactRow.__table__  # type: ignore[assignment]
accidents: Table = AccidentFactRow.__table__  # type: ignore[assignment]
models: Table = ScoringModelRow.__table__  # type: ignore[assignment]
current_scores: Table = CurrentScore.__table__  # type: ignore[assignment]
history: Table = ScoreHistoryRow.__table__  # type: ignore[assignment]
periods: Table = GradePeriodRow.__table__  # type: ignore[assignment]
adjustments: Table = GradeAdjustmentRow.__table__  # type: ignore[assignment]
repairs: Table = CreditRepairRow.__table__  # type: ignore[assignment]
nightly_runs: Table = NightlyRun.__table__  # type: ignore[assignment]
