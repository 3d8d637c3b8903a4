"""Applying registry, inspection and enforcement events to the projection (投影): what scoring
knows of each enterprise, built only from events. Each use case records one event's facts and
returns the USCC to rescore, or None when nothing changed; the consumer rescores it in the same
transaction. Every write about an enterprise starts by locking it, so the writes about one
enterprise queue.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from services.scoring.context import ScoringContext
from services.scoring.domain import aware, is_newer, profile_values
from services.scoring.projection import repository as repo
from shared.contracts.enforcement import CaseOpened, OrderToCorrect, PatrolCompleted, PenaltyDecided
from shared.contracts.inspection import (
    FillingRecordsMissing,
    FillingRecordsMissingWithdrawn,
    HazardRaised,
    HazardRectified,
    SelfInspectionTaskClosed,
)
from shared.contracts.registry import (
    AccidentReported,
    EnterpriseSnapshot,
    EquipmentInspectionOverdue,
    EquipmentSnapshot,
    LedgerItemRemoved,
    OperatorCertificateExpired,
    OperatorSnapshot,
)
from shared.contracts.vocabulary import CHECKLIST_ITEMS

CATALOGUE_CODE = re.compile(r"\d{4}")


async def locked(ctx: ScoringContext, uscc: str) -> dict[str, Any]:
    """The enterprise's profile, locked for the unit of work (once: later calls read what the
    unit of work holds, kept current by the writes here)."""
    if (held := ctx.locked.get(uscc)) is None:
        held = ctx.locked[uscc] = dict(await repo.lock_enterprise(ctx.session, uscc))
    return held


async def lock_all(ctx: ScoringContext, usccs: Sequence[str]) -> None:
    """Lock many enterprises at once (a batch of events), in an order that cannot deadlock."""
    wanted = [u for u in usccs if u not in ctx.locked]
    if wanted:
        ctx.locked.update((u, dict(row)) for u, row in (await repo.lock_enterprises(ctx.session, wanted)).items())


async def record_enterprise_snapshot(ctx: ScoringContext, snapshot: EnterpriseSnapshot,
                                     event_id: str) -> str | None:
    """Apply a registry snapshot if it is newer than the one held; the USCC to rescore, or None."""
    held = await locked(ctx, snapshot.uscc)
    if not is_newer(snapshot.revision, held["revision"]):
        return None
    values = profile_values(snapshot, event_id, held)
    await repo.save_profile(ctx.session, values, ctx.deferred)
    ctx.locked[snapshot.uscc] = {**held, **values}
    return snapshot.uscc


async def record_equipment(ctx: ScoringContext, snapshot: EquipmentSnapshot, event_id: str) -> str | None:
    """Apply an equipment snapshot if it is newer than the one held; the USCC to rescore, or None."""
    if not CATALOGUE_CODE.fullmatch(snapshot.category):
        # Refused here (the event goes to the DLQ) rather than stored: a fact the domain cannot
        # read would make every later rescoring of the enterprise fail.
        raise ValueError(f"equipment category {snapshot.category!r} is not a 4-digit catalogue code")
    await locked(ctx, snapshot.uscc)
    applied = await repo.save(ctx.session, repo.EQUIPMENT, {
        "uscc": snapshot.uscc, "equipment_id": snapshot.equipment_id, "revision": snapshot.revision,
        "category": snapshot.category, "registered": snapshot.registration_no is not None,
        "status": snapshot.status, "next_inspection_due": snapshot.next_inspection_due, "event_id": event_id,
        "removed": False}, ctx.deferred)
    return snapshot.uscc if applied else None


async def record_operator(ctx: ScoringContext, snapshot: OperatorSnapshot, event_id: str) -> str | None:
    await locked(ctx, snapshot.uscc)
    applied = await repo.save(ctx.session, repo.OPERATOR, {
        "uscc": snapshot.uscc, "operator_id": snapshot.operator_id, "revision": snapshot.revision,
        "certificate_valid_until": snapshot.certificate_valid_until, "active": snapshot.active,
        "event_id": event_id, "removed": False}, ctx.deferred)
    return snapshot.uscc if applied else None


async def record_equipment_removed(ctx: ScoringContext, removed: LedgerItemRemoved, event_id: str) -> str | None:
    """Equipment moved to another enterprise (its snapshot follows on the new owner's key) or
    deleted: it leaves this enterprise's facts, its row kept as a tombstone so that an older
    snapshot relayed after the removal does not bring it back (a newer one, re-registered under
    this owner, does). Rows are keyed by (uscc, equipment_id), so the new owner's row, whichever
    arrived first, is another row and stays."""
    await locked(ctx, removed.uscc)
    deleted = await repo.remove_equipment(ctx.session, removed.uscc, removed.item_id, removed.revision, event_id)
    return removed.uscc if deleted else None


async def record_operator_removed(ctx: ScoringContext, removed: LedgerItemRemoved, event_id: str) -> str | None:
    """An operator moved or deleted leaves this enterprise's G2 (a ghost must not dilute it)."""
    await locked(ctx, removed.uscc)
    deleted = await repo.remove_operator(ctx.session, removed.uscc, removed.item_id, removed.revision, event_id)
    return removed.uscc if deleted else None


async def record_deadline_passed(ctx: ScoringContext,
                                 passed: EquipmentInspectionOverdue | OperatorCertificateExpired, event_id: str) -> str:
    """Inspection overdue, certificate expired: time already tells; the event only rescores now
    rather than at the nightly pass, and names itself as the cause."""
    await locked(ctx, passed.uscc)
    return passed.uscc


async def record_accident(ctx: ScoringContext, accident: AccidentReported, event_id: str) -> str:
    await locked(ctx, accident.uscc)
    await repo.save(ctx.session, repo.ACCIDENT, {
        "uscc": accident.uscc, "accident_id": accident.accident_id, "occurred_date": accident.occurred_date,
        "responsible": accident.enterprise_responsible, "severity": accident.severity, "event_id": event_id},
        ctx.deferred)
    return accident.uscc


async def record_missing_records(ctx: ScoringContext, missing: FillingRecordsMissing, event_id: str) -> str:
    await locked(ctx, missing.enterprise_uscc)
    await repo.save(ctx.session, repo.MISSING_DAY, {
        "uscc": missing.enterprise_uscc, "event_id": event_id, "business_date": missing.business_date,
        "cutoff_at": aware(missing.cutoff_at)}, ctx.deferred)
    return missing.enterprise_uscc


async def record_missing_withdrawn(ctx: ScoringContext, withdrawn: FillingRecordsMissingWithdrawn,
                                   event_id: str) -> str | None:
    """A closed day declared after the cut-off: the unit owed no records that day, so the
    missing day leaves its G5 (the missing event and its withdrawal share a partition, in order)."""
    await locked(ctx, withdrawn.enterprise_uscc)
    removed = await repo.remove_missing_day(ctx.session, withdrawn.enterprise_uscc, withdrawn.missing_event_id)
    return withdrawn.enterprise_uscc if removed else None


async def record_task_closed(ctx: ScoringContext, task: SelfInspectionTaskClosed, event_id: str) -> str:
    await locked(ctx, task.enterprise_uscc)
    await repo.save(ctx.session, repo.TASK, {
        "uscc": task.enterprise_uscc, "task_id": task.task_id, "due_date": task.due_date,
        "completed": task.completed, "closed_at": aware(task.closed_at), "event_id": event_id}, ctx.deferred)
    return task.enterprise_uscc


async def record_hazard_raised(ctx: ScoringContext, hazard: HazardRaised, event_id: str) -> str:
    await locked(ctx, hazard.enterprise_uscc)
    await repo.save(ctx.session, repo.HAZARD_RAISED, {
        "uscc": hazard.enterprise_uscc, "hazard_id": hazard.hazard_id, "deadline_date": hazard.deadline_date,
        "severity": hazard.severity, "raised_event_id": event_id}, ctx.deferred)
    return hazard.enterprise_uscc


async def record_hazard_rectified(ctx: ScoringContext, hazard: HazardRectified, event_id: str) -> str:
    await locked(ctx, hazard.enterprise_uscc)
    await repo.save(ctx.session, repo.HAZARD_RECTIFIED, {
        "uscc": hazard.enterprise_uscc, "hazard_id": hazard.hazard_id, "rectified_date": hazard.rectified_date,
        "rectified_event_id": event_id}, ctx.deferred)
    return hazard.enterprise_uscc


async def record_patrol(ctx: ScoringContext, patrol: PatrolCompleted, event_id: str) -> str:
    if unknown := sorted(n for n in patrol.items if n not in CHECKLIST_ITEMS):
        raise ValueError(f"the 332211 checklist items are numbered 1-12, got {unknown}")
    await locked(ctx, patrol.enterprise_uscc)
    await repo.save(ctx.session, repo.PATROL, {
        "uscc": patrol.enterprise_uscc, "patrol_id": patrol.patrol_id, "patrolled_at": aware(patrol.patrolled_at),
        "mode": patrol.mode, "items": {str(n): mark for n, mark in patrol.items.items()}, "event_id": event_id},
        ctx.deferred)
    return patrol.enterprise_uscc


async def record_case(ctx: ScoringContext, case: CaseOpened, event_id: str) -> str:
    await locked(ctx, case.enterprise_uscc)
    await repo.save(ctx.session, repo.CASE, {"uscc": case.enterprise_uscc, "case_id": case.case_id,
                                             "opened_date": case.opened_date, "event_id": event_id}, ctx.deferred)
    return case.enterprise_uscc


async def record_penalty(ctx: ScoringContext, penalty: PenaltyDecided, event_id: str) -> str:
    await locked(ctx, penalty.enterprise_uscc)
    await repo.save(ctx.session, repo.PENALTY, {"uscc": penalty.enterprise_uscc, "penalty_id": penalty.penalty_id,
                                                "decided_date": penalty.decided_date, "event_id": event_id},
                    ctx.deferred)
    return penalty.enterprise_uscc


async def record_order_issued(ctx: ScoringContext, order: OrderToCorrect, event_id: str) -> None:
    """An order to correct counts against credit repair until rectified; it moves no score (None:
    nothing to rescore)."""
    await _save_order(ctx, order, event_id, rectified=False)


async def record_order_rectified(ctx: ScoringContext, order: OrderToCorrect, event_id: str) -> None:
    if order.rectified_date is None:
        raise ValueError(f"order.rectified of {order.order_id} carries no rectified_date")
    await _save_order(ctx, order, event_id, rectified=True)


async def _save_order(ctx: ScoringContext, order: OrderToCorrect, event_id: str, *, rectified: bool) -> None:
    await locked(ctx, order.enterprise_uscc)
    await repo.save(ctx.session, repo.ORDER_RECTIFIED if rectified else repo.ORDER_ISSUED, {
        "uscc": order.enterprise_uscc, "order_id": order.order_id, "issued_date": order.issued_date,
        "deadline_date": order.deadline_date, "rectified_date": order.rectified_date if rectified else None,
        "event_id": event_id}, ctx.deferred)
