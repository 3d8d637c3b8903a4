"""What the enforcement service publishes, built from the rows it writes: alerts (on
``enforcement.alerts``), completed patrols (``enforcement.patrols``), cases, penalties and orders
to correct (``enforcement.cases``). The event types and their data models live in
``shared/contracts/enforcement.py``."""

from __future__ import annotations

from services.enforcement.models import Alert, Case, OrderToCorrectRow, Patrol, PatrolMark
from shared.contracts.enforcement import (
    AlertRaised,
    AlertStatusChanged,
    CaseDecided,
    CaseOpened,
    OrderToCorrect,
    PatrolCompleted,
    PenaltyDecided,
)
from shared.locality import business_date


def alert_raised(alert: Alert) -> AlertRaised:
    return AlertRaised(
        alert_id=alert.id, enterprise_uscc=alert.enterprise_uscc, kind=alert.kind, grade=alert.grade,  # type: ignore[arg-type]
        action=alert.action, status="raised", correlation_id=alert.correlation_id,  # type: ignore[arg-type]
        cause_event_id=alert.cause_event_id, jurisdiction_code=alert.jurisdiction_code, grid_code=alert.grid_code,
        due_at=alert.due_at, raised_at=alert.raised_at)


def status_changed(alert: Alert, by: str | None, note: str | None) -> AlertStatusChanged:
    return AlertStatusChanged(alert_id=alert.id, enterprise_uscc=alert.enterprise_uscc, status=alert.status,  # type: ignore[arg-type]
                              changed_at=alert.updated_at, by=by, note=note, grade=alert.grade,  # type: ignore[arg-type]
                              action=alert.action)  # type: ignore[arg-type]


def patrol_completed(patrol: Patrol, marks: list[PatrolMark]) -> PatrolCompleted:
    assert patrol.completed_at is not None
    return PatrolCompleted(patrol_id=patrol.id, enterprise_uscc=patrol.enterprise_uscc,
                           patrolled_at=patrol.completed_at, mode=patrol.mode,  # type: ignore[arg-type]
                           items={m.item: m.mark for m in marks})  # type: ignore[misc]


def case_opened(case: Case) -> CaseOpened:
    return CaseOpened(case_id=case.id, enterprise_uscc=case.enterprise_uscc,
                      opened_date=business_date(case.opened_at), offence_code=case.offence_code)


def penalty_decided(case: Case) -> PenaltyDecided:
    assert case.decision is not None and case.decided_at is not None and case.penalty_id is not None
    return PenaltyDecided(penalty_id=case.penalty_id, case_id=case.id, enterprise_uscc=case.enterprise_uscc,
                          decided_date=business_date(case.decided_at), fine_yuan=case.decision["fine_yuan"] or 0)


def order(row: OrderToCorrectRow) -> OrderToCorrect:
    return OrderToCorrect(order_id=row.id, enterprise_uscc=row.enterprise_uscc, case_id=row.case_id,
                          issued_date=row.issued_date, deadline_date=row.deadline_date,
                          rectified_date=row.rectified_date)


def case_decided(case: Case) -> CaseDecided:
    assert case.decision is not None and case.decided_at is not None
    signed = case.decision
    return CaseDecided(case_id=case.id, enterprise_uscc=case.enterprise_uscc,
                       decided_date=business_date(case.decided_at), offence_code=case.offence_code,
                       article=signed["article"], outcome=signed["outcome"], fine_yuan=signed["fine_yuan"],
                       revoke_permit=signed.get("revoke_permit", False), penalty_id=case.penalty_id,
                       order_id=signed.get("order_id"), digest=signed["digest"])
