"""HTTP endpoints of 332211 patrols: start, mark item by item, complete, record findings, read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from services.enforcement.access import Ctx, Jurisdiction, PageByTime, PatrolId
from services.enforcement.patrols import service
from services.enforcement.patrols.schemas import (
    CompleteRequest,
    FindingCreate,
    FindingOut,
    MarkOut,
    MarkRequest,
    PatrolDetail,
    PatrolMode,
    PatrolOut,
    PatrolStart,
    PatrolStatus,
)
from shared.contracts.common import USCC_PATTERN
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["patrols"])
FINAL = problem_responses(409, s409="the patrol is completed: its marks are final")
Item = Annotated[int, Path(ge=1, le=12, description="the checklist item (1-12)")]


@router.post("/patrols", status_code=status.HTTP_201_CREATED, summary="Start a patrol (online, or on site)")
async def start(body: PatrolStart, ctx: Ctx) -> PatrolOut:
    return PatrolOut.of(await service.start(ctx, body.enterprise_uscc, body.mode,
                                            [i.model_dump() for i in body.inspectors], body.plan_item_id,
                                            body.alert_id))


@router.get("/patrols", summary="Patrols the caller may see, newest first")
async def list_patrols(
    ctx: Ctx, page: PageByTime, jurisdiction: Jurisdiction = None,
    enterprise: Annotated[str | None, Query(pattern=USCC_PATTERN, description="one enterprise's patrols")] = None,
    status: PatrolStatus | None = None, mode: PatrolMode | None = None,
) -> Page[PatrolOut]:
    filters = {"jurisdiction": jurisdiction, "enterprise": enterprise, "status": status, "mode": mode}
    found = await service.list_patrols(ctx, filters, page.params, page.after)
    return Page[PatrolOut](items=[PatrolOut.of(p) for p in found["items"]], next_cursor=found["next_cursor"])


@router.get("/patrols/{patrol_id}", summary="One patrol with its marks and findings")
async def read(patrol_id: PatrolId, ctx: Ctx) -> PatrolDetail:
    return PatrolDetail.build(*await service.read_patrol(ctx, patrol_id))


@router.put("/patrols/{patrol_id}/items/{item}", responses=FINAL, summary="Mark one checklist item")
async def mark(patrol_id: PatrolId, item: Item, body: MarkRequest, ctx: Ctx) -> MarkOut:
    _, row = await service.mark_item(ctx, patrol_id, item, body.mark, body.note, body.photos)
    return MarkOut.of(row)


@router.post("/patrols/{patrol_id}/complete", responses=FINAL,
             summary="Complete a patrol with every item marked (publishes patrol.completed)")
async def complete(patrol_id: PatrolId, body: CompleteRequest, ctx: Ctx) -> PatrolDetail:
    await service.complete(ctx, patrol_id, body.summary)
    return PatrolDetail.build(*await service.read_patrol(ctx, patrol_id))


@router.post("/patrols/{patrol_id}/findings", status_code=status.HTTP_201_CREATED,
             summary="Record a failed item's finding; optionally issue an order to correct or open a case")
async def add_finding(patrol_id: PatrolId, body: FindingCreate, ctx: Ctx) -> FindingOut:
    return FindingOut.of(await service.add_finding(
        ctx, patrol_id, body.item, body.note, body.order.model_dump() if body.order else None,
        body.case.model_dump() if body.case else None))
