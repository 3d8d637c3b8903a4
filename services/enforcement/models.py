"""Tables of the enforcement service.

The projection (what enforcement knows, built only from events: enterprises with their place,
venue, key supervision, sandbox and associations and their latest score; grids' inspectors;
accidents; missing-records days), the alerts with their history (each step with who and when),
outbound webhooks (subscriptions, deliveries written with the alert change, attempts), supervision
plans with their visits and 双随机 draws, 332211 patrols with their marks and findings, and cases
(evidence, history, decisions) with orders to correct.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import AwareDateTime, BigId, PlatformTables, new_metadata, utcnow

USCC = String(18)
CODE = String(12)
EVENT_ID = String(100)


class Base(DeclarativeBase):
    metadata = new_metadata()


platform = PlatformTables(Base.metadata)


# --- the projection -------------------------------------------------------------------------

class EnterpriseRow(Base):
    """An enterprise (使用单位) as the registry's latest snapshot has it, and its latest score. A
    row with revision 0 is a placeholder: a score or an alert arrived before the snapshot."""

    __tablename__ = "enterprises"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str | None] = mapped_column(String(200))
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    venue_type: Mapped[str | None] = mapped_column(String(40))
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    key_supervision: Mapped[bool] = mapped_column(Boolean, default=False)
    key_supervision_reason: Mapped[str | None] = mapped_column(String(500))
    key_supervision_causes: Mapped[list[str]] = mapped_column(JSON, default=list)
    sandbox: Mapped[bool] = mapped_column(Boolean, default=False)
    associations: Mapped[list[str]] = mapped_column(JSON, default=list)
    operating: Mapped[bool] = mapped_column(Boolean, default=True)
    snapshot_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    # the latest score.updated (its computed_at orders them: an older one arriving late is ignored)
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(1))
    raw_grade: Mapped[str | None] = mapped_column(String(1))
    model_version: Mapped[str | None] = mapped_column(String(100))
    scored_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    score_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow, onupdate=utcnow)


class EnterpriseAssociation(Base):
    """Which industry association (行业协会) counts an enterprise among its members."""

    __tablename__ = "enterprise_associations"

    association: Mapped[str] = mapped_column(String(200), primary_key=True)
    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)


class GridInspectors(Base):
    """A grid's responsible inspectors (网格员), as registry last published them."""

    __tablename__ = "grid_inspectors"

    grid_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer)
    inspectors: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class AccidentRow(Base):
    __tablename__ = "accidents"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    accident_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    occurred_date: Mapped[date] = mapped_column(Date)
    severity: Mapped[str] = mapped_column(String(30))
    responsible: Mapped[bool] = mapped_column(Boolean)
    event_id: Mapped[str] = mapped_column(EVENT_ID)


class MissingRecordsDay(Base):
    """A business date the cut-off found without filling records, and whether they arrived since
    (either event may come first)."""

    __tablename__ = "missing_records_days"

    uscc: Mapped[str] = mapped_column(USCC, primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    missing_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    cutoff_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    arrived_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    arrived_event_id: Mapped[str | None] = mapped_column(EVENT_ID)
    # a closed day declared after the cut-off: the unit owed no records, nothing is raised for it
    withdrawn_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    withdrawn_event_id: Mapped[str | None] = mapped_column(EVENT_ID)


# --- alerts ---------------------------------------------------------------------------------

class Alert(Base):
    """An alert (预警): one per (enterprise, kind, cause), whatever number of events report it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("enterprise_uscc", "kind", "cause_key"),
        Index("ix_alerts_listing", "raised_at", "id"),
        Index("ix_alerts_enterprise", "enterprise_uscc", "raised_at"),
        Index("ix_alerts_open_due", "status", "due_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    kind: Mapped[str] = mapped_column(String(50))
    cause_key: Mapped[str] = mapped_column(String(200))
    grade: Mapped[str | None] = mapped_column(String(1))
    grade_source: Mapped[str] = mapped_column(String(20))  # score_event | projection | none
    action: Mapped[str] = mapped_column(String(30))
    addressed_to: Mapped[str] = mapped_column(String(30))  # enterprise | grid_inspectors
    status: Mapped[str] = mapped_column(String(20))
    correlation_id: Mapped[str] = mapped_column(EVENT_ID)
    cause_event_id: Mapped[str] = mapped_column(EVENT_ID)
    cause_event_type: Mapped[str] = mapped_column(String(200))
    business_date: Mapped[date | None] = mapped_column(Date)
    policy_version: Mapped[str] = mapped_column(String(100))
    closes_when_records_arrive: Mapped[bool] = mapped_column(Boolean, default=False)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    location_code: Mapped[str | None] = mapped_column(CODE, index=True)  # grid, else jurisdiction
    responsible_node: Mapped[str | None] = mapped_column(CODE)  # who must act now (moves up on escalation)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    assignees: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    raised_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution_note: Mapped[str | None] = mapped_column(Text)
    merged_events: Mapped[int] = mapped_column(Integer, default=1)  # events that reported this cause
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)


class AlertStep(Base):
    """One step of an alert's history (audit): what happened, who did it, when."""

    __tablename__ = "alert_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(30))  # raised, merged, dispatched, acknowledged, resolved, escalated
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))


# --- outbound webhooks ----------------------------------------------------------------------

class WebhookSubscription(Base):
    """A city platform's endpoint: the event types it wants, within a jurisdiction, signed with
    its own secret (Standard Webhooks)."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200), index=True)  # the creator's sub
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[str]] = mapped_column(JSON)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    description: Mapped[str | None] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class WebhookDelivery(Base):
    """One message to one subscription, written in the same transaction as the alert change it
    reports (an outbox of its own); the worker sends it until it succeeds or runs out of tries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_log", "subscription_id", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    event_id: Mapped[str] = mapped_column(EVENT_ID)
    event_type: Mapped[str] = mapped_column(String(200))
    alert_id: Mapped[str | None] = mapped_column(String(36))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    delivered_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())


class WebhookAttempt(Base):
    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(AwareDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(1000))
    duration_ms: Mapped[int] = mapped_column(Integer)


# --- differentiated supervision plans --------------------------------------------------------

class SupervisionPlan(Base):
    """One month's plan (监管计划) of one jurisdiction: the visits its units need by their
    supervision grade, assigned by grid, and the random samples drawn for it."""

    __tablename__ = "supervision_plans"
    __table_args__ = (UniqueConstraint("jurisdiction_code", "month"), Index("ix_supervision_plans_listing",
                                                                             "generated_at", "id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    jurisdiction_code: Mapped[str] = mapped_column(CODE)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    policy_version: Mapped[str] = mapped_column(String(100))
    generated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    generated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    revision: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every change to its items


class PlanItem(Base):
    """One planned visit: a unit, a mode (online or on site), the period it covers (slot), its due
    date, the inspectors assigned (by grid, or by the draw) and whether a patrol did it."""

    __tablename__ = "plan_items"
    __table_args__ = (
        UniqueConstraint("plan_id", "enterprise_uscc", "mode", "slot"),
        Index("ix_plan_items_plan", "plan_id", "id"),
        Index("ix_plan_items_enterprise", "enterprise_uscc", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("supervision_plans.id"))
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    mode: Mapped[str] = mapped_column(String(10))  # onsite | online
    slot: Mapped[str] = mapped_column(String(60))  # W2026-27, M2026-07, Q2026-3, Y2026, S:<draw id>
    frequency: Mapped[str] = mapped_column(String(20))  # weekly … yearly, or sampling
    source: Mapped[str] = mapped_column(String(20))  # schedule | sampling
    supervision_grade: Mapped[str] = mapped_column(String(1))
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))  # open | done | cancelled
    assignees: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    draw_id: Mapped[str | None] = mapped_column(String(36))
    patrol_id: Mapped[str | None] = mapped_column(String(36))
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    cancelled_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)


class SamplingDraw(Base):
    """A 双随机 draw, as published: the algorithm, the seed, the frozen populations, the rates and
    the sample; immutable once written."""

    __tablename__ = "sampling_draws"
    __table_args__ = (Index("ix_sampling_draws_listing", "drawn_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("supervision_plans.id"), index=True)
    jurisdiction_code: Mapped[str] = mapped_column(CODE)
    algorithm: Mapped[str] = mapped_column(String(40))
    seed: Mapped[str] = mapped_column(String(200))
    rates: Mapped[dict[str, str]] = mapped_column(JSON)
    inspectors_per_unit: Mapped[int] = mapped_column(Integer)
    units: Mapped[dict[str, list[str]]] = mapped_column(JSON)  # stratum -> USCCs, sorted
    inspectors: Mapped[list[dict[str, str]]] = mapped_column(JSON)  # sorted by id
    sample: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    drawn_at: Mapped[datetime] = mapped_column(AwareDateTime())
    drawn_by: Mapped[str] = mapped_column(String(200))


# --- 332211 patrols --------------------------------------------------------------------------

class Patrol(Base):
    """A patrol (巡查), online or on site, marking the 12 items of the 332211 checklist."""

    __tablename__ = "patrols"
    __table_args__ = (Index("ix_patrols_listing", "started_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC, index=True)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    location_code: Mapped[str | None] = mapped_column(CODE, index=True)
    mode: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))  # in_progress | completed
    inspectors: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    plan_item_id: Mapped[str | None] = mapped_column(String(36))
    alert_id: Mapped[str | None] = mapped_column(String(36))
    started_at: Mapped[datetime] = mapped_column(AwareDateTime())
    started_by: Mapped[str] = mapped_column(String(200))
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    summary: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)


class PatrolMark(Base):
    """One checklist item's mark, with the inspector's note and photo references (SHA-256)."""

    __tablename__ = "patrol_marks"

    patrol_id: Mapped[str] = mapped_column(ForeignKey("patrols.id"), primary_key=True)
    item: Mapped[int] = mapped_column(Integer, primary_key=True)
    mark: Mapped[str] = mapped_column(String(4))  # pass | fail | na
    note: Mapped[str | None] = mapped_column(Text)
    photos: Mapped[list[str]] = mapped_column(JSON, default=list)
    marked_at: Mapped[datetime] = mapped_column(AwareDateTime())
    marked_by: Mapped[str] = mapped_column(String(200))


class Finding(Base):
    """What a failed item showed (发现问题), and what followed: an order to correct, a case."""

    __tablename__ = "findings"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    patrol_id: Mapped[str] = mapped_column(ForeignKey("patrols.id"), index=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC)
    item: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text)
    order_id: Mapped[str | None] = mapped_column(String(36))
    case_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime] = mapped_column(AwareDateTime())
    created_by: Mapped[str] = mapped_column(String(200))


# --- cases, decisions, orders to correct -----------------------------------------------------

class Case(Base):
    """A case (立案) against an enterprise under an offence of the legal-basis catalogue, through
    evidence, the platform's proposal and the signed decision to its close."""

    __tablename__ = "cases"
    __table_args__ = (Index("ix_cases_listing", "opened_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC, index=True)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    location_code: Mapped[str | None] = mapped_column(CODE, index=True)
    offence_code: Mapped[str] = mapped_column(String(40))
    catalogue_version: Mapped[str] = mapped_column(String(100))
    source_kind: Mapped[str] = mapped_column(String(20))  # finding | alert | report
    source_id: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    opened_at: Mapped[datetime] = mapped_column(AwareDateTime())
    opened_by: Mapped[str] = mapped_column(String(200))
    facts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    proposal: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(200))
    penalty_id: Mapped[str | None] = mapped_column(String(36))
    closed_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)


class CaseEvidence(Base):
    __tablename__ = "case_evidence"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    blob_sha256: Mapped[str | None] = mapped_column(String(64))
    added_at: Mapped[datetime] = mapped_column(AwareDateTime())
    added_by: Mapped[str] = mapped_column(String(200))


class CaseStep(Base):
    """One step of a case's history (audit): who did what, when, from and to which status."""

    __tablename__ = "case_history"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(AwareDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(30))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    request_id: Mapped[str | None] = mapped_column(String(64))


class OrderToCorrectRow(Base):
    """An order to correct (责令改正) with its deadline; rectification reported by the enterprise
    and verified by a regulator within the re-check window (working days)."""

    __tablename__ = "orders_to_correct"
    __table_args__ = (Index("ix_orders_listing", "issued_at", "id"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    enterprise_uscc: Mapped[str] = mapped_column(USCC, index=True)
    jurisdiction_code: Mapped[str | None] = mapped_column(CODE)
    grid_code: Mapped[str | None] = mapped_column(CODE)
    location_code: Mapped[str | None] = mapped_column(CODE, index=True)
    case_id: Mapped[str | None] = mapped_column(String(36))
    finding_id: Mapped[str | None] = mapped_column(String(36))
    requirement: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # open | reported | rectified
    issued_at: Mapped[datetime] = mapped_column(AwareDateTime())
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_date: Mapped[date] = mapped_column(Date)
    deadline_date: Mapped[date] = mapped_column(Date)
    reported_at: Mapped[datetime | None] = mapped_column(AwareDateTime())
    report_note: Mapped[str | None] = mapped_column(Text)
    recheck_due_date: Mapped[date | None] = mapped_column(Date)
    rectified_date: Mapped[date | None] = mapped_column(Date)
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verification_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(AwareDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)
