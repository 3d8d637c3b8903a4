"""HTTP endpoints of manual grade adjustments and credit repairs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.scoring.access import (
    Ctx,
    EnterpriseCtx,
    GradeAdjusterCtx,
    GradeLifterCtx,
    PageOfRepairs,
    RegulatorCtx,
    Uscc,
    Visible,
)
from services.scoring.context import ScoringContext
from services.scoring.repairs import service
from services.scoring.repairs.schemas import (
    CreditRepairDecided,
    CreditRepairIn,
    CreditRepairOut,
    DecisionIn,
    GradeAdjustmentIn,
)
from services.scoring.scores.schemas import ScoreOut
from services.scoring.scores.service import describe_score
from shared.http.openapi import link, problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["scoring"])


# --- manual adjustment ----------------------------------------------------------------------

@router.put("/enterprises/{uscc}/grade-adjustment", summary="Set a manual grade (city-level regulator)")
async def set_grade_adjustment(uscc: Uscc, body: GradeAdjustmentIn, ctx: GradeAdjusterCtx,
                               profile: Visible) -> ScoreOut:
    await service.set_grade_adjustment(ctx, uscc, body.grade, body.reason, body.expires_on)
    return ScoreOut.model_validate(await describe_score(ctx, profile))


@router.delete("/enterprises/{uscc}/grade-adjustment", summary="Lift the manual grade (city-level regulator)")
async def lift_grade_adjustment(uscc: Uscc, ctx: GradeLifterCtx, profile: Visible,
                                reason: Annotated[str | None, Query(max_length=4000)] = None) -> ScoreOut:
    await service.lift_grade_adjustment(ctx, uscc, reason)
    return ScoreOut.model_validate(await describe_score(ctx, profile))


# --- credit repair --------------------------------------------------------------------------

DECISION = {"uscc": "$request.path.uscc", "repair_id": "$response.body#/id"}


@router.post("/enterprises/{uscc}/credit-repairs", status_code=201,
             summary="Apply for credit repair (the enterprise itself)",
             responses={**problem_responses(409, 422, s409="an application is still pending",
                                            s422="not eligible: `reasons` says why"),
                        201: {"links": {
                            "Approve": link("POST", "/api/v1/enterprises/{uscc}/credit-repairs/{repair_id}/approve",
                                            **DECISION),
                            "Reject": link("POST", "/api/v1/enterprises/{uscc}/credit-repairs/{repair_id}/reject",
                                           **DECISION)}}})
async def apply_for_credit_repair(uscc: Uscc, body: CreditRepairIn, ctx: EnterpriseCtx,
                                  _: Visible) -> CreditRepairOut:
    row = await service.apply_for_repair(ctx, uscc, body.reason, body.case_ids, body.penalty_ids,
                                         body.missing_record_dates)
    return CreditRepairOut.model_validate(dict(row))


@router.get("/enterprises/{uscc}/credit-repairs", summary="Credit repair applications, newest first")
async def list_credit_repairs(uscc: Uscc, ctx: Ctx, _: Visible, page: PageOfRepairs) -> Page[CreditRepairOut]:
    return Page[CreditRepairOut].model_validate(await service.list_repairs(ctx, uscc, page.params, page.after))


async def _decide(ctx: ScoringContext, profile: Visible, uscc: str, repair_id: str, approve: bool,
                  body: DecisionIn) -> CreditRepairDecided:
    row = await service.decide_repair(ctx, uscc, repair_id, approve, body.reason)
    score = await describe_score(ctx, profile) if approve else None
    return CreditRepairDecided.model_validate({"repair": dict(row), "score": score})


@router.post("/enterprises/{uscc}/credit-repairs/{repair_id}/approve",
             responses=problem_responses(409, s409="the application was already decided"),
             summary="Approve credit repair (a regulator covering the enterprise)")
async def approve_credit_repair(uscc: Uscc, repair_id: str, body: DecisionIn, ctx: RegulatorCtx,
                                profile: Visible) -> CreditRepairDecided:
    return await _decide(ctx, profile, uscc, repair_id, True, body)


@router.post("/enterprises/{uscc}/credit-repairs/{repair_id}/reject",
             responses=problem_responses(409, s409="the application was already decided"),
             summary="Reject credit repair (a regulator covering the enterprise)")
async def reject_credit_repair(uscc: Uscc, repair_id: str, body: DecisionIn, ctx: RegulatorCtx,
                               profile: Visible) -> CreditRepairDecided:
    return await _decide(ctx, profile, uscc, repair_id, False, body)
