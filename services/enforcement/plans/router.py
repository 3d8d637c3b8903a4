"""HTTP endpoints of supervision plans: generate a month, read it with its completion, list and
assign its visits, draw and publish 双随机 samples."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from services.enforcement.access import (
    JURISDICTION_PATTERN,
    Ctx,
    DrawId,
    ItemId,
    Jurisdiction,
    PageByTime,
    PlanId,
    PublicCtx,
)
from services.enforcement.context import EnforcementContext
from services.enforcement.plans import service
from services.enforcement.plans.schemas import (
    MONTH_PATTERN,
    AssignRequest,
    DrawOut,
    DrawRequest,
    ItemSource,
    ItemStatus,
    PlanCreate,
    PlanDetail,
    PlanItemOut,
    PlanOut,
    VisitMode,
)
from shared.contracts.common import USCC_PATTERN
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["plans"])


def _minimum(ctx: EnforcementContext) -> int:
    return ctx.supervision().inspection.min_inspectors


@router.post("/plans", status_code=status.HTTP_201_CREATED, responses=problem_responses(
    409, s409="the plan of that jurisdiction and month exists already"),
    summary="Generate a jurisdiction's supervision plan for a month")
async def generate(body: PlanCreate, ctx: Ctx) -> PlanDetail:
    plan = await service.generate_plan(ctx, body.jurisdiction_code, body.month)
    return PlanDetail.build(*await service.read_plan(ctx, plan.id))


@router.get("/plans", summary="Supervision plans the caller may see, newest first")
async def list_plans(ctx: Ctx, page: PageByTime, jurisdiction: Jurisdiction = None,
                     month: Annotated[str | None, Query(pattern=MONTH_PATTERN, description="YYYY-MM")] = None,
                     ) -> Page[PlanOut]:
    found = await service.list_plans(ctx, {"jurisdiction": jurisdiction, "month": month}, page.params, page.after)
    return Page[PlanOut](items=[PlanOut.of(p) for p in found["items"]], next_cursor=found["next_cursor"])


@router.get("/plans/{plan_id}", summary="One plan with its completion by mode and by grid")
async def read(plan_id: PlanId, ctx: Ctx) -> PlanDetail:
    return PlanDetail.build(*await service.read_plan(ctx, plan_id))


@router.get("/plans/{plan_id}/items", summary="A plan's visits in the caller's subtree")
async def list_items(
    plan_id: PlanId, ctx: Ctx, page: PageByTime, status: ItemStatus | None = None, mode: VisitMode | None = None,
    source: ItemSource | None = None,
    grid: Annotated[str | None, Query(pattern=JURISDICTION_PATTERN, description="one grid's visits")] = None,
    enterprise: Annotated[str | None, Query(pattern=USCC_PATTERN, description="one enterprise's visits")] = None,
) -> Page[PlanItemOut]:
    filters = {"status": status, "mode": mode, "source": source, "grid": grid, "enterprise": enterprise}
    found = await service.list_items(ctx, plan_id, filters, page.params, page.after)
    minimum = _minimum(ctx)
    return Page[PlanItemOut](items=[PlanItemOut.of(i, minimum) for i in found["items"]],
                             next_cursor=found["next_cursor"])


@router.get("/plan-items/{item_id}", summary="One planned visit")
async def read_item(item_id: ItemId, ctx: Ctx) -> PlanItemOut:
    return PlanItemOut.of(await service.read_item(ctx, item_id), _minimum(ctx))


@router.put("/plan-items/{item_id}/assignees", responses=problem_responses(
    409, s409="the visit is done or cancelled"), summary="Assign a visit's inspectors (on site: at least two)")
async def assign(item_id: ItemId, body: AssignRequest, ctx: Ctx) -> PlanItemOut:
    return PlanItemOut.of(await service.assign(ctx, item_id, [a.model_dump() for a in body.assignees]), _minimum(ctx))


@router.post("/plans/{plan_id}/draws", status_code=status.HTTP_201_CREATED,
             summary="Draw a 双随机 sample of units and inspectors (published, reproducible, audited)")
async def draw(plan_id: PlanId, body: DrawRequest, ctx: Ctx) -> DrawOut:
    people = [a.model_dump() for a in body.inspectors] if body.inspectors else None
    return DrawOut.of(await service.draw(ctx, plan_id, body.rates, body.inspectors_per_unit, people, body.seed))


@router.get("/plans/{plan_id}/draws", summary="A plan's draws, newest first")
async def list_draws(plan_id: PlanId, ctx: Ctx, page: PageByTime) -> Page[DrawOut]:
    found = await service.list_draws(ctx, plan_id, page.params, page.after)
    return Page[DrawOut](items=[DrawOut.of(d) for d in found["items"]], next_cursor=found["next_cursor"])


@router.get("/public/draws/{draw_id}", tags=["public"],
            summary="A published draw (no token): seed, populations, algorithm and sample, to check it")
async def public_draw(draw_id: DrawId, ctx: PublicCtx) -> DrawOut:
    return DrawOut.of(await service.read_draw(ctx, draw_id))
