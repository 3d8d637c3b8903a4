"""The grade-rule commands: manual grade adjustment (人工调整) by a city-level regulator, and credit
repair (信用修复): the enterprise applies, a regulator approves or rejects. Each one that moves the
grade rescores the enterprise in the same unit of work, and only flushes.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.engine import RowMapping

from services.scoring.context import ScoringContext
from services.scoring.domain import EnterpriseFacts, check_repair_eligibility, facts_from_rows
from services.scoring.errors import conflict, enterprise_not_found, field_error, not_eligible, not_found
from services.scoring.events import caused_by
from services.scoring.model_versions.service import in_effect
from services.scoring.projection import repository as projection
from services.scoring.repairs import repository as repo
from services.scoring.repository import audit
from services.scoring.scores import repository as scores
from services.scoring.scores.service import Trigger, rescore
from shared.contracts.scoring import CREDIT_REPAIR_APPROVED, CreditRepairApproved
from shared.http.pagination import PageParams, make_page


async def lock_known_enterprise(ctx: ScoringContext, uscc: str) -> RowMapping:
    row = await projection.get_profile(ctx.session, uscc)
    if row is None or row["revision"] == 0:
        raise enterprise_not_found(uscc)
    return await projection.lock_enterprise(ctx.session, uscc)


# --- manual adjustment (人工调整) --------------------------------------------------------------

async def set_grade_adjustment(ctx: ScoringContext, uscc: str, grade: str, reason: str, expires_on: date) -> str:
    """Set a manual grade (it replaces one in force); the locks still bound it. Returns its id."""
    await lock_known_enterprise(ctx, uscc)
    now = ctx.now()
    if expires_on < ctx.today():
        raise field_error("expires_on", f"{expires_on} is in the past; the adjustment must hold at least today")
    await repo.lift_adjustments(ctx.session, uscc, at=now, by=ctx.actor, reason="superseded by a new adjustment")
    adjustment_id = str(uuid.uuid4())
    await repo.insert_adjustment(ctx.session, {"id": adjustment_id, "uscc": uscc, "grade": grade, "reason": reason,
                                               "expires_on": expires_on, "set_by": ctx.actor, "set_at": now})
    await audit(ctx.session, actor=ctx.actor, action="grade_adjustment.set", subject=uscc, detail={
        "adjustment_id": adjustment_id, "grade": grade, "reason": reason, "expires_on": expires_on.isoformat()})
    await rescore(ctx, [uscc], Trigger("scoring.grade_adjustment.set", ref=adjustment_id), as_of=now)
    return adjustment_id


async def lift_grade_adjustment(ctx: ScoringContext, uscc: str, reason: str | None) -> None:
    await lock_known_enterprise(ctx, uscc)
    now = ctx.now()
    lifted = await repo.lift_adjustments(ctx.session, uscc, at=now, by=ctx.actor, reason=reason or "lifted")
    if not lifted:
        raise not_found("grade adjustment of enterprise", uscc)
    await audit(ctx.session, actor=ctx.actor, action="grade_adjustment.lifted", subject=uscc,
                detail={"reason": reason})
    await rescore(ctx, [uscc], Trigger("scoring.grade_adjustment.lifted", ref=uscc), as_of=now)


# --- credit repair (信用修复) -----------------------------------------------------------------

async def _facts_now(ctx: ScoringContext, uscc: str) -> EnterpriseFacts:
    rows = (await scores.load_enterprise_state(ctx.session, [uscc], ceiling_since=ctx.today()))[uscc]
    return facts_from_rows(rows)


async def _require_eligible(ctx: ScoringContext, uscc: str) -> None:
    model = await in_effect(ctx)
    eligibility = check_repair_eligibility(await _facts_now(ctx, uscc), ctx.now(),
                                           open_orders=await projection.open_orders(ctx.session, uscc),
                                           policy=model.policy)
    if not eligibility.eligible:
        raise not_eligible(eligibility.reasons)


async def apply_for_repair(ctx: ScoringContext, uscc: str, reason: str, case_ids: list[str] | None,
                           penalty_ids: list[str] | None, missing_record_dates: list[date] | None) -> RowMapping:
    """File an application if the enterprise is eligible; 422 with the reasons when it is not."""
    await lock_known_enterprise(ctx, uscc)
    if (pending := await repo.pending_repair(ctx.session, uscc)) is not None:
        raise conflict(f"credit repair {pending['id']} is still pending for {uscc}", repair_id=pending["id"])
    await _require_eligible(ctx, uscc)

    open_items = await repo.unrepaired_items(ctx.session, uscc)
    chosen = {
        "case_ids": _choose("case_ids", case_ids, [r["case_id"] for r in open_items["cases"]]),
        "penalty_ids": _choose("penalty_ids", penalty_ids, [r["penalty_id"] for r in open_items["penalties"]]),
        "missing_record_dates": _choose("missing_record_dates", missing_record_dates,
                                        sorted({r["business_date"] for r in open_items["missing_days"]})),
    }
    if not any(chosen.values()):
        raise field_error("items", "nothing to repair: no case, penalty or missing-records day is counted against "
                                   "the enterprise")
    repair_id = str(uuid.uuid4())
    values = {"id": repair_id, "uscc": uscc, "status": "pending", "reason": reason,
              "case_ids": chosen["case_ids"], "penalty_ids": chosen["penalty_ids"],
              "missing_record_dates": [d.isoformat() for d in chosen["missing_record_dates"]],
              "applied_at": ctx.now(), "applied_by": ctx.actor, "repaired_event_ids": []}
    await repo.insert_repair(ctx.session, values)
    await audit(ctx.session, actor=ctx.actor, action="credit_repair.applied", subject=uscc, detail={
        "repair_id": repair_id, **{k: v for k, v in values.items() if k.endswith(("ids", "dates"))}})
    return await _repair(ctx, uscc, repair_id)


def _choose(field_name: str, asked: list[Any] | None, available: list[Any]) -> list[Any]:
    """The items asked for (each must be open), or every open item when none were named."""
    if asked is None:
        return available
    unknown = [str(a) for a in asked if a not in available]
    if unknown:
        raise field_error(field_name, f"not counted against the enterprise (unknown or already repaired): "
                                      f"{', '.join(unknown)}")
    return list(dict.fromkeys(asked))


async def decide_repair(ctx: ScoringContext, uscc: str, repair_id: str, approve: bool, reason: str) -> RowMapping:
    """Approve (the items leave the score, they stay in history marked repaired) or reject."""
    await lock_known_enterprise(ctx, uscc)
    repair = await repo.get_repair(ctx.session, uscc, repair_id, lock=True)
    if repair is None:
        raise not_found("credit repair", repair_id)
    if repair["status"] != "pending":
        raise conflict(f"credit repair {repair_id} was already {repair['status']}")
    now = ctx.now()
    if not approve:
        await repo.decide_repair(ctx.session, repair_id, {"status": "rejected", "decided_at": now,
                                                          "decided_by": ctx.actor, "decision_reason": reason})
        await audit(ctx.session, actor=ctx.actor, action="credit_repair.rejected", subject=uscc,
                    detail={"repair_id": repair_id, "reason": reason})
        return await _repair(ctx, uscc, repair_id)

    await _require_eligible(ctx, uscc)
    repaired = await repo.mark_repaired(
        ctx.session, uscc, repair_id, case_ids=repair["case_ids"], penalty_ids=repair["penalty_ids"],
        missing_dates=[date.fromisoformat(d) for d in repair["missing_record_dates"]])
    await repo.decide_repair(ctx.session, repair_id, {"status": "approved", "decided_at": now,
                                                      "decided_by": ctx.actor, "decision_reason": reason,
                                                      "repaired_event_ids": repaired})
    await audit(ctx.session, actor=ctx.actor, action="credit_repair.approved", subject=uscc,
                detail={"repair_id": repair_id, "reason": reason, "repaired_event_ids": repaired})
    approved = await ctx.outbox.publish(ctx.session, CREDIT_REPAIR_APPROVED, subject=uscc, data=CreditRepairApproved(
        enterprise_uscc=uscc, repair_id=repair_id, approved_at=now, repaired_event_ids=repaired,
        approved_by=ctx.actor, reason=reason))
    with caused_by(approved):
        await rescore(ctx, [uscc], Trigger("scoring.credit_repair.approved", event_id=approved.id, ref=repair_id),
                      as_of=now)
    return await _repair(ctx, uscc, repair_id)


async def _repair(ctx: ScoringContext, uscc: str, repair_id: str) -> RowMapping:
    row = await repo.get_repair(ctx.session, uscc, repair_id)
    assert row is not None
    return row


async def list_repairs(ctx: ScoringContext, uscc: str, params: PageParams,
                       after: tuple[str, str] | None) -> dict[str, Any]:
    rows = await repo.list_repairs(ctx.session, uscc, after, params.limit)
    return make_page(rows, params, key_of=lambda r: [r["applied_at"].isoformat(), r["id"]], to_item=dict)
