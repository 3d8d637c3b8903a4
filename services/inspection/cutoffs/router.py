"""HTTP endpoint of the daily cut-off: run it now for a business date (admin or regulator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from services.inspection import jobs
from services.inspection.access import cutoff_scope
from services.inspection.cutoffs.schemas import CutoffIn, CutoffOut
from shared.app import Runtime
from shared.auth import Principal, current_principal
from shared.http.openapi import problem_responses

router = APIRouter(prefix="/api/v1", tags=["daily cut-off"])


def _runner(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
    cutoff_scope(principal)
    return principal


@router.post("/admin/cutoffs", summary="Run the daily cut-off for a business date now (admin or regulator)",
             responses=problem_responses(403, 409, s409="the date has not begun yet",
                                         s403="the caller may not run the cut-off (of that jurisdiction)"))
async def run_cutoff(body: CutoffIn, runtime: Runtime, principal: Annotated[Principal, Depends(_runner)]
                     ) -> CutoffOut:
    # Not the request's unit of work: the cut-off commits chunk by chunk (see jobs.run_cutoff).
    return CutoffOut.model_validate(await jobs.run_cutoff(runtime, body.date, principal, trigger="admin",
                                                                  jurisdiction_code=body.jurisdiction_code))
