"""HTTP API of QR codes: the same four routes for 一企一码 (enterprises) and 风险防控码
(equipment), and the public resolution of a scanned token that the portal calls (no login)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi import Path as PathParam

from services.registry.access import Ctx, PublicCtx
from services.registry.qr import service
from services.registry.qr.schemas import PublicQrInfo, QrOut
from shared.contracts.common import USCC_PATTERN
from shared.http.openapi import problem_responses

router = APIRouter(prefix="/api/v1")
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])
Format = Annotated[Literal["png", "svg", "pdf"], Query(description="label format")]
# Issuing the first token races another request issuing it: the loser retries, then gives up.
ISSUE_CONFLICT = problem_responses(409, s409="the token is being issued concurrently: try again")
LABEL_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {t: {} for t in service.MEDIA_TYPES.values()}},
                                                    **ISSUE_CONFLICT}


# --- QR codes ------------------------------------------------------------------------------------------

def _qr_routes(kind: service.QrKind, prefix: str, param: str, tag: str, pattern: str | None = None) -> None:
    """The same four routes for 一企一码 (enterprises) and 风险防控码 (equipment)."""
    path = f"{prefix}/{{{param}}}/qr"
    key_param = PathParam(alias=param, pattern=pattern, description="unified social credit code" if pattern else None)

    @router.get(path, tags=[tag], response_model=QrOut, name=f"{kind}_qr", responses=ISSUE_CONFLICT,
                summary=f"The {kind}'s QR token and public URL (issued on first request)")
    async def get_qr(ctx: Ctx, key: str = key_param) -> QrOut:
        return service.qr_out(ctx, await service.current_token(ctx, kind, key))

    @router.post(path + "/reissue", tags=[tag], status_code=status.HTTP_201_CREATED, response_model=QrOut,
                 responses=problem_responses(409, s409="the token is being reissued concurrently: try again"),
                 name=f"{kind}_qr_reissue", summary="Revoke the current token and issue a new one")
    async def reissue_qr(ctx: Ctx, key: str = key_param) -> QrOut:
        return service.qr_out(ctx, await service.reissue(ctx, kind, key))

    @router.delete(path, tags=[tag], status_code=status.HTTP_204_NO_CONTENT, name=f"{kind}_qr_revoke",
                   responses=problem_responses(404, s404=f"no such {kind}, or it has no active token"),
                   summary="Revoke the current token: printed labels stop resolving (410)")
    async def revoke_qr(ctx: Ctx, key: str = key_param) -> Response:
        await service.revoke(ctx, kind, key)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(path + "/label", tags=[tag], response_class=Response, responses=LABEL_RESPONSES,
                name=f"{kind}_qr_label", summary="A printable label: PNG, SVG or PDF")
    async def qr_label(ctx: Ctx, key: str = key_param, format: Format = "png") -> Response:
        label = await service.label(ctx, kind, key, format)
        return Response(label, media_type=service.MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'inline; filename="qr-{kind}-{key}.{format}"'})


_qr_routes("enterprise", "/enterprises", "uscc", "QR codes", pattern=USCC_PATTERN)
_qr_routes("equipment", "/equipment", "equipment_id", "QR codes")


@public_router.get("/qr/{token}", response_model=PublicQrInfo,
                   responses=problem_responses(404, 410, s404="no such token",
                                               s410="the token was revoked: ask the unit for its current label"),
                   summary="Resolve a scanned token (no login): unit, equipment, inspection validity")
async def resolve_qr(token: str, ctx: PublicCtx) -> PublicQrInfo:
    return await service.resolve_public(ctx, token)
