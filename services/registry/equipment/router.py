"""HTTP API of an enterprise's equipment ledger: equipment and inspections, gas cylinders,
operators. Thin: parse, authorise through ``access``, call one use case, map the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from services.registry.access import PRECONDITION_RESPONSES, Ctx, IfMatch, Paging, cursor_key, page, set_etag
from services.registry.equipment import service
from services.registry.equipment.schemas import (
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
    UpsertCounts,
)
from shared.contracts.registry import EquipmentStatus
from shared.http.bodies import IsoDate
from shared.http.openapi import link, problem_responses
from shared.http.parameters import UsccPath

router = APIRouter(prefix="/api/v1")


# --- equipment ---------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/equipment", tags=["equipment"], status_code=status.HTTP_201_CREATED,
             responses={**problem_responses(409, s409="the registration_no or equipment_code is already registered"),
                        201: {"links": {"GetEquipment": link("GET", "/api/v1/equipment/{equipment_id}",
                                                             equipment_id="$response.body#/id")}}},
             response_model=EquipmentOut, summary="Add equipment to the ledger (registration_no null = unregistered)")
async def register_equipment(uscc: UsccPath, body: EquipmentCreate, ctx: Ctx, response: Response) -> EquipmentOut:
    row = await service.register_equipment(ctx, uscc, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/equipment/{row.id}"
    return EquipmentOut.of(row)


@router.get("/enterprises/{uscc}/equipment", tags=["equipment"], response_model=EquipmentPage)
async def list_equipment(uscc: UsccPath, ctx: Ctx, paging: Paging, category: str | None = None,
                         status: EquipmentStatus | None = None) -> dict[str, Any]:
    rows = await service.list_equipment(ctx, uscc, limit=paging.limit, after=cursor_key(paging), category=category,
                                       status=status)
    return page(rows, paging, lambda r: r.id, EquipmentOut.of)


@router.get("/equipment/{equipment_id}", tags=["equipment"], response_model=EquipmentOut)
async def get_equipment(equipment_id: str, ctx: Ctx, response: Response) -> EquipmentOut:
    row = await service.read_equipment(ctx, equipment_id)
    set_etag(response, row.revision)
    return EquipmentOut.of(row)


@router.patch("/equipment/{equipment_id}", tags=["equipment"], response_model=EquipmentOut,
              responses={**problem_responses(409, s409="the registration_no or equipment_code is already registered"),
               **PRECONDITION_RESPONSES},
              summary="Change equipment (If-Match required); scrapped is final")
async def patch_equipment(equipment_id: str, body: EquipmentPatch, ctx: Ctx, response: Response,
                          if_match: IfMatch = None) -> EquipmentOut:
    row = await service.update_equipment(ctx, equipment_id, body, if_match)
    set_etag(response, row.revision)
    return EquipmentOut.of(row)


@router.post("/equipment/{equipment_id}/inspections", tags=["equipment"], status_code=status.HTTP_201_CREATED,
             response_model=InspectionOut, summary="Record a periodic inspection; it moves next_inspection_due")
async def record_inspection(equipment_id: str, body: InspectionCreate, ctx: Ctx) -> InspectionOut:
    return InspectionOut.of(await service.record_inspection(ctx, equipment_id, body))


@router.get("/equipment/{equipment_id}/inspections", tags=["equipment"], response_model=list[InspectionOut])
async def list_inspections(equipment_id: str, ctx: Ctx) -> list[InspectionOut]:
    return [InspectionOut.of(row) for row in await service.list_inspections(ctx, equipment_id)]


# --- gas cylinders ---------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/cylinders", tags=["gas cylinders"], response_model=UpsertCounts,
             responses=problem_responses(409, s409="a concurrent batch registered one of these numbers first: retry"),
             summary="Register or update gas cylinders by number (batch, all or nothing)")
async def upsert_cylinders(uscc: UsccPath, body: CylinderBatch, ctx: Ctx) -> UpsertCounts:
    return await service.upsert_cylinders(ctx, uscc, body)


@router.get("/enterprises/{uscc}/cylinders", tags=["gas cylinders"], response_model=CylinderPage)
async def list_cylinders(uscc: UsccPath, ctx: Ctx, paging: Paging,
                         inspection_due_before: Annotated[IsoDate | None, Query()] = None) -> dict[str, Any]:
    rows = await service.list_cylinders(ctx, uscc, limit=paging.limit, after=cursor_key(paging),
                                       inspection_due_before=inspection_due_before)
    return page(rows, paging, lambda r: r.cylinder_no, CylinderOut.of)


@router.get("/enterprises/{uscc}/cylinders/{cylinder_no}", tags=["gas cylinders"], response_model=CylinderOut)
async def get_cylinder(uscc: UsccPath, cylinder_no: str, ctx: Ctx, response: Response) -> CylinderOut:
    row = await service.read_cylinder(ctx, uscc, cylinder_no)
    set_etag(response, row.revision)
    return CylinderOut.of(row)


# --- operators ---------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/operators", tags=["operators"], status_code=status.HTTP_201_CREATED,
             responses={**problem_responses(409, s409="the certificate_no is already registered"),
                        201: {"links": {"GetOperator": link("GET", "/api/v1/operators/{operator_id}",
                                                            operator_id="$response.body#/id")}}},
             response_model=OperatorOut, summary="Add an operator (作业人员); the ID number is stored hashed only")
async def register_operator(uscc: UsccPath, body: OperatorCreate, ctx: Ctx, response: Response) -> OperatorOut:
    row = await service.register_operator(ctx, uscc, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/operators/{row.id}"
    return OperatorOut.of(row)


@router.get("/enterprises/{uscc}/operators", tags=["operators"], response_model=OperatorPage)
async def list_operators(uscc: UsccPath, ctx: Ctx, paging: Paging) -> dict[str, Any]:
    rows = await service.list_operators(ctx, uscc, limit=paging.limit, after=cursor_key(paging))
    return page(rows, paging, lambda r: r.id, OperatorOut.of)


@router.get("/operators/{operator_id}", tags=["operators"], response_model=OperatorOut)
async def get_operator(operator_id: str, ctx: Ctx, response: Response) -> OperatorOut:
    row = await service.read_operator(ctx, operator_id)
    set_etag(response, row.revision)
    return OperatorOut.of(row)


@router.patch("/operators/{operator_id}", tags=["operators"], response_model=OperatorOut,
              responses={**problem_responses(409, s409="the certificate_no is already registered"),
               **PRECONDITION_RESPONSES},
              summary="Change an operator or their certificate (If-Match required)")
async def patch_operator(operator_id: str, body: OperatorPatch, ctx: Ctx, response: Response,
                         if_match: IfMatch = None) -> OperatorOut:
    row = await service.update_operator(ctx, operator_id, body, if_match)
    set_etag(response, row.revision)
    return OperatorOut.of(row)
