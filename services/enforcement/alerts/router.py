"""HTTP endpoints of alerts: the list (pinned fields, filters, cursor pages), one alert with its
history, and the lifecycle steps people take."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.enforcement.access import AlertId, Ctx, Jurisdiction, PageByTime, ReadCtx
from services.enforcement.alerts import service
from services.enforcement.alerts.schemas import Acknowledge, AlertDetail, AlertOut, Dispatch, Resolve
from services.enforcement.domain.policy import AlertKind
from shared.contracts.common import USCC_PATTERN
from shared.contracts.enforcement import AlertAction, AlertStatus
from shared.contracts.vocabulary import Grade
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["alerts"])
TRANSITION = problem_responses(409, s409="the alert's status does not allow this step (e.g. it is resolved)")


@router.get("/alerts", summary="Alerts the caller may see, newest first")
async def list_alerts(
    ctx: ReadCtx, page: PageByTime, jurisdiction: Jurisdiction = None,
    enterprise: Annotated[str | None, Query(pattern=USCC_PATTERN, description="one enterprise's alerts")] = None,
    status: AlertStatus | None = None, kind: AlertKind | None = None, action: AlertAction | None = None,
    grade: Grade | None = None,
) -> Page[AlertOut]:
    filters = {"jurisdiction": jurisdiction, "enterprise": enterprise, "status": status, "kind": kind,
               "action": action, "grade": grade}
    found = await service.list_alerts(ctx, filters, page.params, page.after)
    return Page[AlertOut](items=[AlertOut.of(a) for a in found["items"]], next_cursor=found["next_cursor"])


@router.get("/alerts/{alert_id}", summary="One alert with its history (who did what, when)")
async def get_alert(alert_id: AlertId, ctx: ReadCtx) -> AlertDetail:
    return AlertDetail.build(*await service.read_alert(ctx, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", responses=TRANSITION,
             summary="Acknowledge an alert (the responsible regulator, or the enterprise for its warning)")
async def acknowledge(alert_id: AlertId, body: Acknowledge, ctx: Ctx) -> AlertOut:
    return AlertOut.of(await service.act(ctx, alert_id, "acknowledge", note=body.note))


@router.post("/alerts/{alert_id}/resolve", responses=TRANSITION, summary="Resolve an alert with a resolution note")
async def resolve(alert_id: AlertId, body: Resolve, ctx: Ctx) -> AlertOut:
    return AlertOut.of(await service.act(ctx, alert_id, "resolve", note=body.note))


@router.post("/alerts/{alert_id}/dispatch", responses=problem_responses(
    409, s409="the alert is resolved, or nobody is named and its grid has no inspectors"),
    summary="Dispatch (or reassign) an alert to inspectors")
async def dispatch(alert_id: AlertId, body: Dispatch, ctx: Ctx) -> AlertOut:
    assignees = [a.model_dump() for a in body.assignees] if body.assignees else None
    return AlertOut.of(await service.act(ctx, alert_id, "dispatch", note=body.note, assignees=assignees))
