"""HTTP API of enterprises and the jurisdiction tree: registration, search and the map,
management facts, key supervision, verified locations, accidents, and the daily ledger job.
Thin: parse, authorise through ``access``, call one use case, map the result."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import JSONResponse

from services.registry.access import (
    PRECONDITION_RESPONSES,
    AdminCtx,
    Ctx,
    DivisionCodePath,
    GridCodePath,
    IfMatch,
    KindFilter,
    Paging,
    VenueTypeFilter,
    cursor_key,
    page,
    set_etag,
)
from services.registry.enterprises import service
from services.registry.enterprises.schemas import (
    AccidentCreate,
    AccidentOut,
    DailyJobOut,
    DailyJobRequest,
    EnterpriseCreate,
    EnterpriseFilters,
    EnterpriseOut,
    EnterprisePage,
    EnterprisePatch,
    FactStateOut,
    InspectorsUpdate,
    JurisdictionOut,
    KeySupervisionDesignation,
    Location,
    ManagementFacts,
    ManagementObservation,
    ManagementOut,
    ManagementRecordOut,
)
from services.registry.jobs import run_daily_job
from shared.http.openapi import link, problem_responses
from shared.http.parameters import UsccPath

router = APIRouter(prefix="/api/v1")
GEOJSON = "application/geo+json"


# --- jurisdictions ---------------------------------------------------------------------------------

@router.get("/jurisdictions", tags=["jurisdictions"], response_model=list[JurisdictionOut],
            summary="The jurisdiction tree, flat (any signed-in user)")
async def list_jurisdictions(ctx: Ctx, parent: str | None = None, within: str | None = None,
                             level: str | None = Query(None, pattern="^(province|city|district|township|grid)$")
                             ) -> list[JurisdictionOut]:
    rows = await service.list_jurisdictions(ctx, parent=parent, within=within, level=level)
    return [JurisdictionOut.of(row) for row in rows]


@router.get("/jurisdictions/{code}", tags=["jurisdictions"], response_model=JurisdictionOut)
async def get_jurisdiction(code: DivisionCodePath, ctx: Ctx, response: Response) -> JurisdictionOut:
    row, children = await service.read_jurisdiction(ctx, code)
    set_etag(response, row.revision)
    return JurisdictionOut.of(row, children)


@router.put("/jurisdictions/{code}/inspectors", tags=["jurisdictions"], response_model=JurisdictionOut,
            responses={**problem_responses(404, s404="no grid has this code"), **PRECONDITION_RESPONSES},
            summary="Assign a grid's responsible inspectors (regulators over the grid, admin)")
async def put_inspectors(code: GridCodePath, body: InspectorsUpdate, ctx: Ctx, response: Response,
                         if_match: IfMatch = None) -> JurisdictionOut:
    row = await service.set_inspectors(ctx, code, [i.model_dump() for i in body.inspectors], if_match)
    set_etag(response, row.revision)
    return JurisdictionOut.of(row)


# --- enterprises -----------------------------------------------------------------------------------

@router.post("/enterprises", tags=["enterprises"], status_code=status.HTTP_201_CREATED, response_model=EnterpriseOut,
             responses={**problem_responses(409, s409="the USCC is already registered"), 201: {"links": {
                 "GetEnterprise": link("GET", "/api/v1/enterprises/{uscc}", uscc="$response.body#/uscc"),
                 "AddEquipment": link("POST", "/api/v1/enterprises/{uscc}/equipment", uscc="$response.body#/uscc"),
                 "AddOperator": link("POST", "/api/v1/enterprises/{uscc}/operators", uscc="$response.body#/uscc")}}},
             summary="Register an enterprise (regulator within subtree, integrator, admin)")
async def register_enterprise(body: EnterpriseCreate, ctx: Ctx, response: Response) -> EnterpriseOut:
    row = await service.register_enterprise(ctx, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/enterprises/{row.uscc}"
    return EnterpriseOut.of(row)


def _filters(jurisdiction: str | None, grid: str | None, kind: str | None, venue_type: str | None,
             key_supervision: bool | None, operating_status: str | None, q: str | None) -> EnterpriseFilters:
    """The filters asked for; an empty kind or venue_type (``kind=``) filters nothing."""
    return EnterpriseFilters(jurisdiction=jurisdiction, grid=grid, kind=kind or None, venue_type=venue_type or None,
                                  key_supervision=key_supervision, operating_status=operating_status, q=q)


@router.get("/enterprises", tags=["enterprises"], response_model=EnterprisePage,
            summary="Search the ledger within your scope (cursor-paginated, ordered by USCC)")
async def search_enterprises(
    ctx: Ctx, paging: Paging,
    jurisdiction: Annotated[str | None, Query(description="division code: its whole subtree")] = None,
    grid: str | None = None, kind: KindFilter = None, venue_type: VenueTypeFilter = None,
    key_supervision: bool | None = None,
    operating_status: Annotated[str | None, Query(pattern="^(operating|suspended|closed)$")] = None,
    q: Annotated[str | None, Query(max_length=100, description="text in the name")] = None,
) -> dict[str, Any]:
    filters = _filters(jurisdiction, grid, kind, venue_type, key_supervision, operating_status, q)
    rows = await service.search_enterprises(ctx, filters, limit=paging.limit, after=cursor_key(paging))
    return page(rows, paging, lambda r: r.uscc, EnterpriseOut.of)


@router.get("/map/enterprises", tags=["enterprises"], response_class=JSONResponse,
            responses={200: {"content": {GEOJSON: {}}}},
            summary="Located enterprises as a GeoJSON FeatureCollection (same filters and scope as search)")
async def enterprise_map(
    ctx: Ctx, jurisdiction: str | None = None, grid: str | None = None, kind: KindFilter = None,
    venue_type: VenueTypeFilter = None, key_supervision: bool | None = None,
    operating_status: Annotated[str | None, Query(pattern="^(operating|suspended|closed)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    filters = _filters(jurisdiction, grid, kind, venue_type, key_supervision, operating_status, q)
    return JSONResponse(await service.enterprise_map(ctx, filters), media_type=GEOJSON)


@router.get("/enterprises/{uscc}", tags=["enterprises"], response_model=EnterpriseOut)
async def get_enterprise(uscc: UsccPath, ctx: Ctx, response: Response) -> EnterpriseOut:
    row = await service.read_enterprise(ctx, uscc)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


@router.patch("/enterprises/{uscc}", tags=["enterprises"], response_model=EnterpriseOut,
              responses=PRECONDITION_RESPONSES,
              summary="Change fields (If-Match required); enterprise users: contacts and operating_status only")
async def patch_enterprise(uscc: UsccPath, body: EnterprisePatch, ctx: Ctx, response: Response,
                           if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.update_enterprise(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


async def _management_out(ctx: Ctx, uscc: str, response: Response) -> ManagementOut:
    row, history = await service.management_view(ctx, uscc)
    set_etag(response, row.revision)
    return ManagementOut(uscc=row.uscc, revision=row.revision,
                         current={k: FactStateOut.model_validate(v) for k, v in (row.management or {}).items()},
                         history=[ManagementRecordOut.model_validate(r, from_attributes=True) for r in history])


@router.get("/enterprises/{uscc}/management", tags=["management facts"], response_model=ManagementOut,
            summary="Management facts (三落实, 三到位, 双机制): current state with provenance, and history")
async def get_management(uscc: UsccPath, ctx: Ctx, response: Response) -> ManagementOut:
    return await _management_out(ctx, uscc, response)


@router.put("/enterprises/{uscc}/management", tags=["management facts"], response_model=ManagementOut,
            responses=PRECONDITION_RESPONSES,
            summary="Declare management facts (the enterprise, or a supervisor on its behalf; If-Match)")
async def declare_management(uscc: UsccPath, body: ManagementFacts, ctx: Ctx, response: Response,
                             if_match: IfMatch = None) -> ManagementOut:
    await service.declare_management(ctx, uscc, body, if_match)
    return await _management_out(ctx, uscc, response)


@router.post("/enterprises/{uscc}/management/observations", tags=["management facts"],
             status_code=status.HTTP_201_CREATED, response_model=ManagementOut,
             summary="Record facts observed on a patrol (regulator, integrator, admin); the latest report wins")
async def observe_management(uscc: UsccPath, body: ManagementObservation, ctx: Ctx,
                             response: Response) -> ManagementOut:
    await service.observe_management(ctx, uscc, body)
    return await _management_out(ctx, uscc, response)


@router.put("/enterprises/{uscc}/key-supervision", tags=["enterprises"], response_model=EnterpriseOut,
            responses=PRECONDITION_RESPONSES,
            summary="Designate for, or release from, manual key supervision (city/district regulator; If-Match)")
async def designate(uscc: UsccPath, body: KeySupervisionDesignation, ctx: Ctx, response: Response,
                    if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.designate_key_supervision(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


@router.put("/enterprises/{uscc}/location", tags=["enterprises"], response_model=EnterpriseOut,
            responses=PRECONDITION_RESPONSES,
            summary="Confirm the coordinates on site (regulator; If-Match): the location becomes verified")
async def verify_location(uscc: UsccPath, body: Location, ctx: Ctx, response: Response,
                          if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.verify_location(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


# --- accidents -------------------------------------------------------------------------------------

@router.post("/enterprises/{uscc}/accidents", tags=["accidents"], status_code=status.HTTP_201_CREATED,
             response_model=AccidentOut,
             summary="Report an accident (regulator, integrator, admin): the unit becomes key-supervision")
async def report_accident(uscc: UsccPath, body: AccidentCreate, ctx: Ctx) -> AccidentOut:
    return AccidentOut.of(await service.report_accident(ctx, uscc, body))


@router.get("/enterprises/{uscc}/accidents", tags=["accidents"], response_model=list[AccidentOut])
async def list_accidents(uscc: UsccPath, ctx: Ctx) -> list[AccidentOut]:
    return [AccidentOut.of(row) for row in await service.list_accidents(ctx, uscc)]


# --- operations: the daily ledger job ---------------------------------------------------------------

@router.post("/admin/daily-job", tags=["operations"], response_model=DailyJobOut,
             summary="Run the daily ledger job for a business date now (admin); idempotent per date")
async def daily_job(ctx: AdminCtx, body: DailyJobRequest | None = None) -> DailyJobOut:
    result = await run_daily_job(ctx, body.date if body is not None and body.date is not None else ctx.today())
    return DailyJobOut(date=result.date, inspections_overdue=result.inspections_overdue,
                       certificates_expired=result.certificates_expired,
                       key_supervision_released=result.key_supervision_released)
