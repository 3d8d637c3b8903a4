"""HTTP endpoints of scores: the current score, histories, lists, statistics, the public grade,
and rescoring everyone on demand."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from services.scoring import jobs
from services.scoring.access import (
    Admin,
    Ctx,
    PageById,
    PageByUscc,
    PublicCtx,
    ReportNode,
    SupervisorCtx,
    Uscc,
    Visible,
)
from services.scoring.scores import service
from services.scoring.scores.schemas import (
    GradePeriodOut,
    GradeStatistics,
    GradeTrend,
    PublicGrade,
    RescoreSummary,
    ScoreHistoryOut,
    ScoreListItem,
    ScoreOut,
)
from shared.app import Runtime
from shared.contracts.vocabulary import Grade
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["scoring"])


@router.get("/enterprises/{uscc}/score", summary="The current score, grade and why")
async def get_score(ctx: Ctx, profile: Visible) -> ScoreOut:
    return ScoreOut.model_validate(await service.describe_score(ctx, profile))


@router.get("/enterprises/{uscc}/grade-history", summary="Each grade held, newest first, with its cause")
async def get_grade_history(uscc: Uscc, ctx: Ctx, _: Visible, page: PageById) -> Page[GradePeriodOut]:
    return Page[GradePeriodOut].model_validate(await service.grade_history(ctx, uscc, page.params, page.after))


@router.get("/enterprises/{uscc}/score-history", summary="Every score recorded, newest first, with its breakdown")
async def get_score_history(uscc: Uscc, ctx: Ctx, _: Visible, page: PageById) -> Page[ScoreHistoryOut]:
    return Page[ScoreHistoryOut].model_validate(await service.score_history(ctx, uscc, page.params, page.after))


@router.get("/scores", summary="Scores under the caller's jurisdiction, by USCC")
async def list_scores(ctx: SupervisorCtx, node: ReportNode, page: PageByUscc,
                      grade: Grade | None = None, key_supervision: bool | None = None) -> Page[ScoreListItem]:
    found = await service.list_scores(ctx, node, page.params, page.after, grade=grade, key_supervision=key_supervision)
    return Page[ScoreListItem].model_validate(found)


@router.get("/statistics/grades", summary="Grade distribution per child node, or its monthly trend",
            response_model=GradeStatistics | GradeTrend)
async def grade_statistics(
    ctx: SupervisorCtx, node: ReportNode,
    over: Literal["month"] | None = Query(None, description="month: the distribution at each month's end"),
    months: int = Query(12, ge=1, le=60, description="how many months back, with over=month"),
) -> dict[str, Any]:
    if over == "month":
        return await service.grade_trend(ctx, node, months)
    return await service.grade_distribution(ctx, node)


@router.get("/public/enterprises/{uscc}/grade", tags=["public"],
            summary="The grade as the public may see it (no token; per public_grade_display)")
async def public_grade(uscc: Uscc, ctx: PublicCtx) -> PublicGrade:
    return PublicGrade.model_validate(await service.public_grade(ctx, uscc))


@router.post("/admin/rescore", summary="Rescore everyone now, as the nightly pass does (admin)")
async def rescore_everyone(runtime: Runtime, principal: Admin) -> RescoreSummary:
    # Not the request's unit of work: a full rescore commits chunk by chunk.
    summary = await jobs.rescore_everyone(runtime, jobs.ADMIN_RESCORE, actor=principal.sub)
    return RescoreSummary.model_validate(summary)
