"""HTTP API of an enterprise's ledger: equipment and inspections, gas cylinders, operators,
accidents, and QR codes (with the public token resolution the portal calls)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi import Path as PathParam

from services.registry import ledger, qr
from services.registry.dependencies import Ctx, IfMatch, Paging, Session, cursor_key, page, set_etag
from services.registry.schemas import (
    AccidentCreate,
    AccidentOut,
    CylinderBatch,
    CylinderOut,
    CylinderPage,
    EquipmentCreate,
    EquipmentOut,
    EquipmentPage,
    EquipmentPatch,
    InspectionCreate,
    InspectionOut,
    OperatorCreate,
    OperatorOut,
    OperatorPage,
    OperatorPatch,
    PublicQrInfo,
    QrOut,
    UpsertCounts,
)
from shared.contracts.registry import EquipmentStatus
from shared.locality import business_today

router = APIRouter(prefix="/api/v1")
public_router = APIRouter(prefix="/api/v1/public", tags=["public"])
Format = Annotated[Literal["png", "svg", "pdf"], Query(description="label format")]
LABEL_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {t: {} for t in qr.MEDIA_TYPES.values()}}}


# --- equipment ---------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/equipment", tags=["equipment"], status_code=status.HTTP_201_CREATED,
             response_model=EquipmentOut, summary="Add equipment to the ledger (registration_no null = unregistered)")
async def register_equipment(uscc: str, body: EquipmentCreate, ctx: Ctx, response: Response) -> EquipmentOut:
    row = await ledger.register_equipment(ctx, uscc, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/equipment/{row.id}"
    return EquipmentOut.of(row)


@router.get("/enterprises/{uscc}/equipment", tags=["equipment"], response_model=EquipmentPage)
async def list_equipment(uscc: str, ctx: Ctx, paging: Paging, category: str | None = None,
                         status: EquipmentStatus | None = None) -> dict[str, Any]:
    rows = await ledger.list_equipment(ctx, uscc, limit=paging.limit, after=cursor_key(paging), category=category,
                                       status=status)
    return page(rows, paging, lambda r: r.id, EquipmentOut.of)


@router.get("/equipment/{equipment_id}", tags=["equipment"], response_model=EquipmentOut)
async def get_equipment(equipment_id: str, ctx: Ctx, response: Response) -> EquipmentOut:
    row = await ledger.read_equipment(ctx, equipment_id)
    set_etag(response, row.revision)
    return EquipmentOut.of(row)


@router.patch("/equipment/{equipment_id}", tags=["equipment"], response_model=EquipmentOut,
              summary="Change equipment (If-Match required); scrapped is final")
async def patch_equipment(equipment_id: str, body: EquipmentPatch, ctx: Ctx, response: Response,
                          if_match: IfMatch = None) -> EquipmentOut:
    row = await ledger.update_equipment(ctx, equipment_id, body, if_match)
    set_etag(response, row.revision)
    return EquipmentOut.of(row)


@router.post("/equipment/{equipment_id}/inspections", tags=["equipment"], status_code=status.HTTP_201_CREATED,
             response_model=InspectionOut, summary="Record a periodic inspection; it moves next_inspection_due")
async def record_inspection(equipment_id: str, body: InspectionCreate, ctx: Ctx) -> InspectionOut:
    return InspectionOut.of(await ledger.record_inspection(ctx, equipment_id, body))


@router.get("/equipment/{equipment_id}/inspections", tags=["equipment"], response_model=list[InspectionOut])
async def list_inspections(equipment_id: str, ctx: Ctx) -> list[InspectionOut]:
    return [InspectionOut.of(row) for row in await ledger.list_inspections(ctx, equipment_id)]


# --- gas cylinders ---------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/cylinders", tags=["gas cylinders"], response_model=UpsertCounts,
             summary="Register or update gas cylinders by number (batch, all or nothing)")
async def upsert_cylinders(uscc: str, body: CylinderBatch, ctx: Ctx) -> UpsertCounts:
    return await ledger.upsert_cylinders(ctx, uscc, body)


@router.get("/enterprises/{uscc}/cylinders", tags=["gas cylinders"], response_model=CylinderPage)
async def list_cylinders(uscc: str, ctx: Ctx, paging: Paging, inspection_due_before: date | None = None
                         ) -> dict[str, Any]:
    rows = await ledger.list_cylinders(ctx, uscc, limit=paging.limit, after=cursor_key(paging),
                                       inspection_due_before=inspection_due_before)
    return page(rows, paging, lambda r: r.cylinder_no, CylinderOut.of)


@router.get("/enterprises/{uscc}/cylinders/{cylinder_no}", tags=["gas cylinders"], response_model=CylinderOut)
async def get_cylinder(uscc: str, cylinder_no: str, ctx: Ctx, response: Response) -> CylinderOut:
    row = await ledger.read_cylinder(ctx, uscc, cylinder_no)
    set_etag(response, row.revision)
    return CylinderOut.of(row)


# --- operators ---------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/operators", tags=["operators"], status_code=status.HTTP_201_CREATED,
             response_model=OperatorOut, summary="Add an operator (作业人员); the ID number is stored hashed only")
async def register_operator(uscc: str, body: OperatorCreate, ctx: Ctx, response: Response) -> OperatorOut:
    row = await ledger.register_operator(ctx, uscc, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/operators/{row.id}"
    return OperatorOut.of(row)


@router.get("/enterprises/{uscc}/operators", tags=["operators"], response_model=OperatorPage)
async def list_operators(uscc: str, ctx: Ctx, paging: Paging) -> dict[str, Any]:
    rows = await ledger.list_operators(ctx, uscc, limit=paging.limit, after=cursor_key(paging))
    return page(rows, paging, lambda r: r.id, OperatorOut.of)


@router.get("/operators/{operator_id}", tags=["operators"], response_model=OperatorOut)
async def get_operator(operator_id: str, ctx: Ctx, response: Response) -> OperatorOut:
    row = await ledger.read_operator(ctx, operator_id)
    set_etag(response, row.revision)
    return OperatorOut.of(row)


@router.patch("/operators/{operator_id}", tags=["operators"], response_model=OperatorOut,
              summary="Change an operator or their certificate (If-Match required)")
async def patch_operator(operator_id: str, body: OperatorPatch, ctx: Ctx, response: Response,
                         if_match: IfMatch = None) -> OperatorOut:
    row = await ledger.update_operator(ctx, operator_id, body, if_match)
    set_etag(response, row.revision)
    return OperatorOut.of(row)


# --- accidents ---------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/accidents", tags=["accidents"], status_code=status.HTTP_201_CREATED,
             response_model=AccidentOut,
             summary="Report an accident (regulator, integrator, admin): the unit becomes key-supervision")
async def report_accident(uscc: str, body: AccidentCreate, ctx: Ctx) -> AccidentOut:
    return AccidentOut.of(await ledger.report_accident(ctx, uscc, body))


@router.get("/enterprises/{uscc}/accidents", tags=["accidents"], response_model=list[AccidentOut])
async def list_accidents(uscc: str, ctx: Ctx) -> list[AccidentOut]:
    return [AccidentOut.of(row) for row in await ledger.list_accidents(ctx, uscc)]


# --- QR codes ------------------------------------------------------------------------------------------

def _qr_routes(kind: qr.QrKind, prefix: str, param: str, tag: str) -> None:
    """The same four routes for 一企一码 (enterprises) and 风险防控码 (equipment)."""
    path = f"{prefix}/{{{param}}}/qr"
    key_param = PathParam(alias=param)

    @router.get(path, tags=[tag], response_model=QrOut, name=f"{kind}_qr",
                summary=f"The {kind}'s QR token and public URL (issued on first request)")
    async def get_qr(ctx: Ctx, key: str = key_param) -> QrOut:
        return qr.qr_out(ctx, await qr.current_token(ctx, kind, key))

    @router.post(path + "/reissue", tags=[tag], status_code=status.HTTP_201_CREATED, response_model=QrOut,
                 name=f"{kind}_qr_reissue", summary="Revoke the current token and issue a new one")
    async def reissue_qr(ctx: Ctx, key: str = key_param) -> QrOut:
        return qr.qr_out(ctx, await qr.reissue(ctx, kind, key))

    @router.delete(path, tags=[tag], status_code=status.HTTP_204_NO_CONTENT, name=f"{kind}_qr_revoke",
                   summary="Revoke the current token: printed labels stop resolving (410)")
    async def revoke_qr(ctx: Ctx, key: str = key_param) -> Response:
        await qr.revoke(ctx, kind, key)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.get(path + "/label", tags=[tag], response_class=Response, responses=LABEL_RESPONSES,
                name=f"{kind}_qr_label", summary="A printable label: PNG, SVG or PDF")
    async def qr_label(ctx: Ctx, key: str = key_param, format: Format = "png") -> Response:
        token = await qr.current_token(ctx, kind, key)
        url = qr.public_url(ctx.settings.public_base_url, token.token)
        return Response(qr.render_label(url, format, title=f"{kind} {key}"), media_type=qr.MEDIA_TYPES[format],
                        headers={"Content-Disposition": f'inline; filename="qr-{kind}-{key}.{format}"'})


_qr_routes("enterprise", "/enterprises", "uscc", "QR codes")
_qr_routes("equipment", "/equipment", "equipment_id", "QR codes")


@public_router.get("/qr/{token}", response_model=PublicQrInfo, responses={404: {}, 410: {"description": "revoked"}},
                   summary="Resolve a scanned token (no login): unit, equipment, inspection validity")
async def resolve_qr(token: str, session: Session) -> PublicQrInfo:
    return await qr.resolve_public(session, token, business_today())
