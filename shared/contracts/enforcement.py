"""Events the enforcement service publishes that scoring reads: 332211 patrols, cases, penalties."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import EventData, Grade, Uscc
from shared.contracts.vocabulary import ChecklistMark
from shared.events.spec import EventSpec


class PatrolCompleted(EventData):
    """A patrol marked the 12 items of the 332211 checklist (keys "1".."12")."""

    patrol_id: str
    enterprise_uscc: Uscc
    patrolled_at: datetime
    mode: Literal["online", "onsite"] = "onsite"
    items: dict[int, ChecklistMark] = Field(description="checklist item number 1-12 -> mark")


class CaseOpened(EventData):
    """A case (立案) was opened against an enterprise."""

    case_id: str
    enterprise_uscc: Uscc
    opened_date: date
    offence_code: str | None = None


class PenaltyDecided(EventData):
    """An administrative penalty decision (处罚决定) was signed."""

    penalty_id: str
    case_id: str | None = None
    enterprise_uscc: Uscc
    decided_date: date
    fine_yuan: int = 0


# What a case's decision may be (包容审慎: exempt, soft measures, an order to correct, or a fine).
DecisionOutcome = Literal["exempt", "soft_measures", "order_to_correct", "fine"]


class CaseDecided(EventData):
    """A case's decision was signed, whatever its outcome (exempt, soft measures, an order to
    correct or a fine): the published decision. A fine is also ``penalty.decided``."""

    case_id: str
    enterprise_uscc: Uscc
    decided_date: date
    offence_code: str
    article: str
    outcome: DecisionOutcome
    fine_yuan: int = 0
    revoke_permit: bool = False
    penalty_id: str | None = None
    order_id: str | None = None
    digest: str = Field(description="SHA-256 of the signed decision as the case holds it")


AlertAction = Literal["warning", "online_patrol", "onsite_enforcement"]
AlertStatus = Literal["raised", "dispatched", "acknowledged", "resolved", "escalated"]


class AlertRaised(EventData):
    """An alert (预警) was raised: the pinned shape of contract.md §5 step 6, plus its cause."""

    alert_id: str
    enterprise_uscc: Uscc
    kind: str = Field(description="e.g. filling_records_missing, expired_cylinder_filled, accident, public_report")
    grade: Grade | None = None
    action: AlertAction
    status: AlertStatus = "raised"
    correlation_id: str
    cause_event_id: str
    jurisdiction_code: str | None = None
    grid_code: str | None = None
    due_at: datetime | None = None
    raised_at: datetime


class AlertStatusChanged(EventData):
    """An alert moved along raised → dispatched → acknowledged → resolved (or escalated)."""

    alert_id: str
    enterprise_uscc: Uscc
    status: AlertStatus
    changed_at: datetime
    by: str | None = None
    note: str | None = None
    grade: Grade | None = Field(None, description="the alert's grade now (a re-grade keeps the status, changes this)")
    action: AlertAction | None = Field(None, description="the alert's action now")


class OrderToCorrect(EventData):
    """An order to correct (责令改正) with its deadline; scoring counts open ones against credit repair."""

    order_id: str
    enterprise_uscc: Uscc
    case_id: str | None = None
    issued_date: date
    deadline_date: date
    rectified_date: date | None = None


PATROL_COMPLETED = EventSpec(
    "safegrid.enforcement.patrol.completed.v1", "enforcement.patrols", PatrolCompleted,
    "A 332211 patrol (online or on site) was completed with its item marks.")
CASE_OPENED = EventSpec(
    "safegrid.enforcement.case.opened.v1", "enforcement.cases", CaseOpened,
    "A case was opened.")
PENALTY_DECIDED = EventSpec(
    "safegrid.enforcement.penalty.decided.v1", "enforcement.cases", PenaltyDecided, "A penalty was decided."
)

CASE_DECIDED = EventSpec(
    "safegrid.enforcement.case.decided.v1", "enforcement.cases", CaseDecided,
    "A case's decision was signed (any outcome).")

ALERT_RAISED = EventSpec(
    "safegrid.enforcement.alert.raised.v1", "enforcement.alerts", AlertRaised,
    "An alert was raised (one per cause; its action follows the grade and the policy file).")
ALERT_STATUS_CHANGED = EventSpec(
    "safegrid.enforcement.alert.status_changed.v1", "enforcement.alerts", AlertStatusChanged,
    "An alert was dispatched, acknowledged, resolved or escalated.")
ORDER_ISSUED = EventSpec(
    "safegrid.enforcement.order.issued.v1", "enforcement.cases", OrderToCorrect,
    "An order to correct was issued with its deadline.")
ORDER_RECTIFIED = EventSpec(
    "safegrid.enforcement.order.rectified.v1", "enforcement.cases", OrderToCorrect,
    "An order to correct was verified as rectified.")

EVENTS = (
    PATROL_COMPLETED,
    CASE_OPENED,
    PENALTY_DECIDED,
    CASE_DECIDED,
    ALERT_RAISED,
    ALERT_STATUS_CHANGED,
    ORDER_ISSUED,
    ORDER_RECTIFIED,
)
