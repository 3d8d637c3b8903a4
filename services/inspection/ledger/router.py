"""HTTP endpoints of declared closed days (the rest of the ledger is fed by registry events)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from services.inspection.access import Closable, Ctx, FromDate, PageByDate, Readable, ToDate
from services.inspection.ledger import service
from services.inspection.ledger.schemas import ClosedDayIn, ClosedDayOut
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["closed days"])
ClosedDate = Annotated[dt.date, Path(description="the closed business date (YYYY-MM-DD)")]


@router.post("/enterprises/{uscc}/closed-days", status_code=201, summary="Declare a day closed (停业日)",
             responses={**problem_responses(409, s409="the day may no longer be declared by this caller (an "
                                                       "enterprise declares ahead of the day's cut-off)"),
                        200: {"description": "already declared: the closure as it stands", "model": ClosedDayOut}})
async def declare(ctx: Ctx, enterprise: Closable, body: ClosedDayIn, response: Response) -> ClosedDayOut:
    closure, new = await service.declare_closed_day(ctx, enterprise, body.date, body.reason)
    if not new:
        response.status_code = 200
    return ClosedDayOut.model_validate(closure)


@router.get("/enterprises/{uscc}/closed-days", summary="The closed days of an enterprise, by date")
async def list_closed_days(ctx: Ctx, enterprise: Readable, page: PageByDate, start: FromDate = None,
                           end: ToDate = None, include_cancelled: bool = Query(False)) -> Page[ClosedDayOut]:
    found = await service.list_closed_days(ctx, enterprise["uscc"], start, end, page.params, page.after,
                                           include_cancelled)
    return Page[ClosedDayOut].model_validate(found)


@router.delete("/enterprises/{uscc}/closed-days/{date}", status_code=204, summary="Cancel a declared closed day",
               responses=problem_responses(409, s409="the day may no longer be cancelled by this caller"))
async def cancel(ctx: Ctx, enterprise: Closable, date: ClosedDate) -> Response:
    await service.cancel_closed_day(ctx, enterprise, date)
    return Response(status_code=204)
