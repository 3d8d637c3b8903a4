"""HTTP endpoints of hazards (隐患): list, read, the enterprise's evidence, a regulator's verdict."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.inspection.access import Ctx, PageByTimeAndId
from services.inspection.hazards import service
from services.inspection.hazards.schemas import EvidenceIn, HazardOut, VerifyIn
from services.inspection.tasks.router import EnterpriseFilter, Id
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["hazards"])


@router.get("/hazards", summary="Hazards the caller may see, by when raised")
async def list_hazards(ctx: Ctx, page: PageByTimeAndId, enterprise: EnterpriseFilter = None,
                       status: Literal["open", "evidence_submitted", "rectified"] | None = None,
                       overdue: Annotated[bool | None, Query(description="open past the deadline")] = None,
                       ) -> Page[HazardOut]:
    found = await service.list_hazards(ctx, enterprise=enterprise, status=status, overdue=overdue,
                                       page=page.params, after=page.after)
    return Page[HazardOut].model_validate(found)


@router.get("/hazards/{hazard_id}", summary="One hazard with its evidence and verdicts")
async def get_hazard(ctx: Ctx, hazard_id: Id) -> HazardOut:
    return HazardOut.model_validate(await service.get(ctx, hazard_id))


@router.post("/hazards/{hazard_id}/evidence", status_code=201,
             summary="Upload evidence of rectification (the enterprise): the re-check is due within 10 working days",
             responses=problem_responses(409, s409="the hazard is not open (evidence pending, or rectified)"))
async def submit_evidence(ctx: Ctx, hazard_id: Id, body: EvidenceIn) -> HazardOut:
    return HazardOut.model_validate(await service.submit_evidence(ctx, hazard_id, body.note, body.photos))


@router.post("/hazards/{hazard_id}/verify",
             summary="Verify the evidence (regulator): accepted → rectified; rejected → open again",
             responses=problem_responses(409, s409="no evidence awaits verification"))
async def verify(ctx: Ctx, hazard_id: Id, body: VerifyIn) -> HazardOut:
    return HazardOut.model_validate(await service.verify(ctx, hazard_id, body.verdict, body.note))
