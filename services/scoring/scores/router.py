"""HTTP endpoints of the scoring service: parse, authorise, call the service, shape the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from services.scoring import jobs, service
from services.scoring import repository as repo
from services.scoring.errors import field_error, forbidden, not_found
from services.scoring.schemas import (
    JURISDICTION_PATTERN,
    USCC_PATTERN,
    CreditRepairDecided,
    CreditRepairIn,
    CreditRepairOut,
    DecisionIn,
    Grade,
    GradeAdjustmentIn,
    GradePeriodOut,
    GradeStatistics,
    GradeTrend,
    ModelDetail,
    ModelLoaded,
    ModelSummary,
    PublicGrade,
    RescoreSummary,
    ScoreHistoryOut,
    ScoreListItem,
    ScoreOut,
)
from services.scoring.service import ScoringContext
from shared.app import DbSession, Runtime
from shared.auth import Principal, current_principal, require_roles
from shared.http.pagination import Page, PageParams, make_page, page_params
from shared.http.problems import Problem
from shared.locality import jurisdiction_prefix

router = APIRouter(prefix="/api/v1", tags=["scoring"])


def scoring_context(request: Request) -> ScoringContext:
    return request.app.state.scoring


Ctx = Annotated[ScoringContext, Depends(scoring_context)]
Uscc = Annotated[str, Path(pattern=USCC_PATTERN, description="unified social credit code (统一社会信用代码)")]
Anyone = Annotated[Principal, Depends(current_principal)]
Regulator = Annotated[Principal, Depends(require_roles("regulator"))]
Supervisor = Annotated[Principal, Depends(require_roles("regulator", "integrator"))]
EnterpriseUser = Annotated[Principal, Depends(require_roles("enterprise"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
Paging = Annotated[PageParams, Depends(page_params)]


def _require_city_level(principal: Principal, what: str) -> None:
    if not principal.is_city_level:
        raise forbidden(f"only a city-level regulator may {what}; your jurisdiction is {principal.jurisdiction}")


def _cursor_value(params: PageParams, kind: type) -> Any:
    if not params.after:
        return None
    value = params.after[0]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise field_error("cursor", "not a cursor this API issued")
    return value


def _scope(principal: Principal, jurisdiction: str | None) -> str | None:
    """The node to report on: the one asked for (inside the caller's subtree), else the caller's."""
    if jurisdiction is not None:
        if not principal.covers(jurisdiction):
            raise forbidden(f"jurisdiction {jurisdiction} lies outside yours ({principal.jurisdiction})")
        return jurisdiction
    return principal.jurisdiction if not principal.is_admin else None


# --- scores ---------------------------------------------------------------------------------

@router.get("/enterprises/{uscc}/score", summary="The current score, grade and why")
async def get_score(uscc: Uscc, session: DbSession, ctx: Ctx, principal: Anyone) -> ScoreOut:
    profile = await service.visible_enterprise(session, principal, uscc)
    return ScoreOut.model_validate(await service.describe_score(session, ctx, profile))


@router.get("/enterprises/{uscc}/grade-history", summary="Each grade held, newest first, with its cause")
async def get_grade_history(uscc: Uscc, session: DbSession, principal: Anyone,
                            params: Paging) -> Page[GradePeriodOut]:
    await service.visible_enterprise(session, principal, uscc)
    rows = await repo.grade_history(session, uscc, _cursor_value(params, int), params.limit)
    return Page(**make_page(rows, params, key_of=lambda r: [r["id"]], to_item=lambda r: GradePeriodOut(
        **{k: r[k] for k in ("grade", "previous_grade", "from_date", "to_date", "started_at", "score",
                             "model_version")},
        cause={"event_type": r["cause_event_type"], "event_id": r["cause_event_id"], "ref": r["cause_ref"],
               "correlation_id": r["correlation_id"]})))


@router.get("/enterprises/{uscc}/score-history", summary="Every score recorded, newest first, with its breakdown")
async def get_score_history(uscc: Uscc, session: DbSession, principal: Anyone,
                            params: Paging) -> Page[ScoreHistoryOut]:
    await service.visible_enterprise(session, principal, uscc)
    rows = await repo.score_history(session, uscc, _cursor_value(params, int), params.limit)
    return Page(**make_page(rows, params, key_of=lambda r: [r["id"]], to_item=lambda r: ScoreHistoryOut(
        **{k: r[k] for k in ("id", "computed_at", "score", "grade", "raw_grade", "previous_grade",
                             "model_version")},
        breakdown=r["explanation"]["breakdown"], groups=r["explanation"]["groups"],
        rules_applied=r["explanation"]["rules"],
        cause={"event_type": r["trigger_event_type"], "event_id": r["trigger_event_id"], "ref": r["trigger_ref"],
               "correlation_id": r["correlation_id"]})))


@router.get("/scores", summary="Scores under the caller's jurisdiction, by USCC")
async def list_scores(
    session: DbSession, principal: Supervisor, params: Paging,
    grade: Grade | None = None,
    jurisdiction: Annotated[str | None, Query(pattern=JURISDICTION_PATTERN)] = None,
    key_supervision: bool | None = None,
) -> Page[ScoreListItem]:
    node = _scope(principal, jurisdiction)
    rows = await repo.list_scores(session, prefix=jurisdiction_prefix(node) if node else None, grade=grade,
                                  key_supervision=key_supervision, after_uscc=_cursor_value(params, str),
                                  limit=params.limit)
    return Page(**make_page(rows, params, key_of=lambda r: [r["uscc"]],
                            to_item=lambda r: ScoreListItem.model_validate(dict(r))))


@router.get("/statistics/grades", summary="Grade distribution per child node, or its monthly trend",
            response_model=GradeStatistics | GradeTrend)
async def grade_statistics(
    session: DbSession, ctx: Ctx, principal: Supervisor,
    jurisdiction: Annotated[str | None, Query(pattern=JURISDICTION_PATTERN)] = None,
    over: Literal["month"] | None = Query(None, description="month: the distribution at each month's end"),
    months: int = Query(12, ge=1, le=60, description="how many months back, with over=month"),
) -> dict[str, Any]:
    node = _scope(principal, jurisdiction)
    if over == "month":
        return await service.grade_trend(session, node, ctx.today(), months)
    return await service.grade_distribution(session, node)


@router.get("/public/enterprises/{uscc}/grade", tags=["public"],
            summary="The grade as the public may see it (no token; per public_grade_display)")
async def public_grade(uscc: Uscc, session: DbSession, ctx: Ctx) -> PublicGrade:
    return PublicGrade.model_validate(await service.public_grade(session, ctx, uscc))


# --- manual adjustment ----------------------------------------------------------------------

@router.put("/enterprises/{uscc}/grade-adjustment", summary="Set a manual grade (city-level regulator)")
async def set_grade_adjustment(uscc: Uscc, body: GradeAdjustmentIn, session: DbSession, ctx: Ctx,
                               principal: Regulator) -> ScoreOut:
    _require_city_level(principal, "adjust a grade")
    profile = await service.visible_enterprise(session, principal, uscc)
    await service.set_grade_adjustment(session, ctx, principal, uscc, body.grade, body.reason, body.expires_on)
    return ScoreOut.model_validate(await service.describe_score(session, ctx, profile))


@router.delete("/enterprises/{uscc}/grade-adjustment", summary="Lift the manual grade (city-level regulator)")
async def lift_grade_adjustment(uscc: Uscc, session: DbSession, ctx: Ctx, principal: Regulator,
                                reason: Annotated[str | None, Query(max_length=4000)] = None) -> ScoreOut:
    _require_city_level(principal, "lift a grade adjustment")
    profile = await service.visible_enterprise(session, principal, uscc)
    await service.lift_grade_adjustment(session, ctx, principal, uscc, reason)
    return ScoreOut.model_validate(await service.describe_score(session, ctx, profile))


# --- credit repair --------------------------------------------------------------------------

def _repair_out(row: Any) -> CreditRepairOut:
    return CreditRepairOut.model_validate(dict(row))


@router.post("/enterprises/{uscc}/credit-repairs", status_code=201,
             summary="Apply for credit repair (the enterprise itself)",
             responses={422: {"description": "not eligible: `reasons` says why"}})
async def apply_for_credit_repair(uscc: Uscc, body: CreditRepairIn, session: DbSession, ctx: Ctx,
                                  principal: EnterpriseUser) -> CreditRepairOut:
    await service.visible_enterprise(session, principal, uscc)
    row = await service.apply_for_repair(session, ctx, principal, uscc, body.reason, body.case_ids,
                                         body.penalty_ids, body.missing_record_dates)
    return _repair_out(row)


@router.get("/enterprises/{uscc}/credit-repairs", summary="Credit repair applications, newest first")
async def list_credit_repairs(uscc: Uscc, session: DbSession, principal: Anyone,
                              params: Paging) -> Page[CreditRepairOut]:
    await service.visible_enterprise(session, principal, uscc)
    after = None
    if params.after:
        if len(params.after) != 2 or not all(isinstance(v, str) for v in params.after):
            raise field_error("cursor", "not a cursor this API issued")
        try:
            datetime.fromisoformat(params.after[0])
        except ValueError as exc:
            raise field_error("cursor", "not a cursor this API issued") from exc
        after = (params.after[0], params.after[1])
    rows = await repo.list_repairs(session, uscc, after, params.limit)
    return Page(**make_page(rows, params, key_of=lambda r: [r["applied_at"].isoformat(), r["id"]],
                            to_item=_repair_out))


async def _decide(uscc: str, repair_id: str, approve: bool, body: DecisionIn, session: Any, ctx: ScoringContext,
                  principal: Principal) -> CreditRepairDecided:
    profile = await service.visible_enterprise(session, principal, uscc)
    row = await service.decide_repair(session, ctx, principal, uscc, repair_id, approve, body.reason)
    score = await service.describe_score(session, ctx, profile) if approve else None
    return CreditRepairDecided(repair=_repair_out(row), score=score)


@router.post("/enterprises/{uscc}/credit-repairs/{repair_id}/approve",
             summary="Approve credit repair (a regulator covering the enterprise)")
async def approve_credit_repair(uscc: Uscc, repair_id: str, body: DecisionIn, session: DbSession, ctx: Ctx,
                                principal: Regulator) -> CreditRepairDecided:
    return await _decide(uscc, repair_id, True, body, session, ctx, principal)


@router.post("/enterprises/{uscc}/credit-repairs/{repair_id}/reject",
             summary="Reject credit repair (a regulator covering the enterprise)")
async def reject_credit_repair(uscc: Uscc, repair_id: str, body: DecisionIn, session: DbSession, ctx: Ctx,
                               principal: Regulator) -> CreditRepairDecided:
    return await _decide(uscc, repair_id, False, body, session, ctx, principal)


# --- models and rescoring -------------------------------------------------------------------

MODEL_BODY = {"requestBody": {"required": True, "description": "the model file, YAML or JSON", "content": {
    "application/yaml": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}}}


@router.get("/models", summary="Model versions, newest loaded first")
async def list_models(session: DbSession, ctx: Ctx, _: Anyone, params: Paging) -> Page[ModelSummary]:
    await ctx.models.in_effect(session, ctx.today())  # the default model is there from the start
    rows = await repo.list_models(session, _cursor_value(params, int), params.limit)
    items = [ModelSummary.model_validate(await service.model_summary(session, ctx, r)) for r in rows]
    page = make_page(rows, params, key_of=lambda r: [r["id"]])
    return Page(items=items[: params.limit], next_cursor=page["next_cursor"])


@router.get("/models/{version}", summary="One model version: its document and the file as loaded")
async def get_model(version: str, session: DbSession, ctx: Ctx, _: Anyone) -> ModelDetail:
    await ctx.models.in_effect(session, ctx.today())
    row = await repo.get_model(session, version)
    if row is None:
        raise not_found("model version", version)
    return ModelDetail(**await service.model_summary(session, ctx, row), document=row["document"],
                       source_text=row["source_text"])


@router.post("/models", status_code=201, openapi_extra=MODEL_BODY,
             summary="Load a new model version (admin or city-level regulator); rescores everyone if in effect",
             responses={422: {"description": "invalid model: `errors` names each field"},
                        409: {"description": "the version exists"}})
async def load_model(request: Request, runtime: Runtime, ctx: Ctx,
                     principal: Annotated[Principal, Depends(require_roles("regulator"))]) -> ModelLoaded:
    _require_city_level(principal, "load a scoring model")
    raw = await request.body()
    if len(raw) > ctx.settings.max_model_bytes:
        raise Problem(413, "Payload too large", f"a model file may be at most {ctx.settings.max_model_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise field_error("body", "the model file must be UTF-8 text") from exc
    # Not the request's DbSession: the model commits first, then the rescore runs chunk by chunk.
    row, summary = await jobs.load_model(runtime.session_factory, ctx, text, principal.sub)
    async with runtime.session_factory() as session:
        described = await service.model_summary(session, ctx, row)
    return ModelLoaded(**described, rescore=summary)


@router.post("/admin/rescore", summary="Rescore everyone now, as the nightly pass does (admin)")
async def rescore_everyone(runtime: Runtime, ctx: Ctx, principal: Admin) -> RescoreSummary:
    summary = await jobs.rescore_everyone(runtime.session_factory, ctx, jobs.ADMIN_RESCORE, actor=principal.sub)
    return RescoreSummary.model_validate(summary)
