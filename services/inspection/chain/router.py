"""HTTP endpoints of the record chain: verify it, read its links."""

from __future__ import annotations

from fastapi import APIRouter

from services.inspection.access import Ctx, PageBySequence, Readable
from services.inspection.chain import service
from services.inspection.chain.schemas import ChainVerificationOut, LinkOut
from services.inspection.corrections.service import content_checks as correction_checks
from services.inspection.hazards.service import content_checks as self_inspection_checks
from services.inspection.records.service import content_checks
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["record chain"])


@router.get("/enterprises/{uscc}/chain/verify", summary="Recompute the record chain and name the first broken link")
async def verify(ctx: Ctx, enterprise: Readable) -> ChainVerificationOut:
    return ChainVerificationOut.model_validate(await service.verify(ctx, enterprise["uscc"], [
        *content_checks(), *correction_checks(), *self_inspection_checks()]))


@router.get("/enterprises/{uscc}/chain/links", summary="The chain's links, in sequence")
async def links(ctx: Ctx, enterprise: Readable, page: PageBySequence) -> Page[LinkOut]:
    return Page[LinkOut].model_validate(await service.list_links(ctx, enterprise["uscc"], page.params, page.after))
