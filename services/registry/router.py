"""HTTP API of the registry core: jurisdictions, enterprises, management facts, key
supervision, verified locations, the map, imports and the daily job. Thin: parse, call the
service, map the result (access rules live in ``access`` and are applied by the service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse

from services.registry import access, service
from services.registry import repository as repo
from services.registry.dependencies import Caller, Ctx, IfMatch, Paging, Session, cursor_key, page, set_etag
from services.registry.errors import not_found
from services.registry.imports.mapping import MappingError, parse_mapping
from services.registry.imports.readers import UnreadableFile
from services.registry.imports.service import import_file
from services.registry.imports.upload import read_upload
from services.registry.jobs import run_daily_job
from services.registry.schemas import (
    DailyJobOut,
    DailyJobRequest,
    EnterpriseCreate,
    EnterpriseOut,
    EnterprisePage,
    EnterprisePatch,
    FactStateOut,
    ImportOut,
    InspectorsUpdate,
    JurisdictionOut,
    KeySupervisionDesignation,
    Location,
    ManagementFacts,
    ManagementObservation,
    ManagementOut,
    ManagementRecordOut,
    RowErrorOut,
)
from shared.contracts.vocabulary import KINDS, VENUE_TYPES
from shared.http.problems import Problem, field_error

router = APIRouter(prefix="/api/v1")
GEOJSON = "application/geo+json"


# --- jurisdictions ---------------------------------------------------------------------------------

@router.get("/jurisdictions", tags=["jurisdictions"], response_model=list[JurisdictionOut],
            summary="The jurisdiction tree, flat (any signed-in user)")
async def list_jurisdictions(session: Session, _: Caller, parent: str | None = None, within: str | None = None,
                             level: str | None = Query(None, pattern="^(province|city|district|township|grid)$")
                             ) -> list[JurisdictionOut]:
    rows = await repo.list_jurisdictions(session, parent=parent, within=within, level=level)
    return [JurisdictionOut.of(row) for row in rows]


@router.get("/jurisdictions/{code}", tags=["jurisdictions"], response_model=JurisdictionOut)
async def get_jurisdiction(code: str, session: Session, _: Caller, response: Response) -> JurisdictionOut:
    row = await repo.get_jurisdiction(session, code)
    if row is None:
        raise not_found("jurisdiction", code)
    set_etag(response, row.revision)
    return JurisdictionOut.of(row, await repo.child_codes(session, code))


@router.put("/jurisdictions/{code}/inspectors", tags=["jurisdictions"], response_model=JurisdictionOut,
            summary="Assign a grid's responsible inspectors (regulators over the grid, admin)")
async def put_inspectors(code: str, body: InspectorsUpdate, ctx: Ctx, response: Response,
                         if_match: IfMatch = None) -> JurisdictionOut:
    row = await service.set_inspectors(ctx, code, [i.model_dump() for i in body.inspectors], if_match)
    set_etag(response, row.revision)
    return JurisdictionOut.of(row)


# --- enterprises -----------------------------------------------------------------------------------

@router.post("/enterprises", tags=["enterprises"], status_code=status.HTTP_201_CREATED, response_model=EnterpriseOut,
             summary="Register an enterprise (regulator within subtree, integrator, admin)")
async def register_enterprise(body: EnterpriseCreate, ctx: Ctx, response: Response) -> EnterpriseOut:
    row = await service.register_enterprise(ctx, body)
    set_etag(response, row.revision)
    response.headers["Location"] = f"/api/v1/enterprises/{row.uscc}"
    return EnterpriseOut.of(row)


def _filters(jurisdiction: str | None, grid: str | None, kind: str | None, venue_type: str | None,
             key_supervision: bool | None, operating_status: str | None, q: str | None) -> repo.EnterpriseFilters:
    if kind is not None and kind not in KINDS:
        raise field_error("kind", f"one of {', '.join(KINDS)}")
    if venue_type is not None and venue_type not in VENUE_TYPES:
        raise field_error("venue_type", f"one of {', '.join(VENUE_TYPES)}")
    return repo.EnterpriseFilters(jurisdiction=jurisdiction, grid=grid, kind=kind, venue_type=venue_type,
                                  key_supervision=key_supervision, operating_status=operating_status, q=q)


@router.get("/enterprises", tags=["enterprises"], response_model=EnterprisePage,
            summary="Search the ledger within your scope (cursor-paginated, ordered by USCC)")
async def search_enterprises(
    ctx: Ctx, paging: Paging,
    jurisdiction: Annotated[str | None, Query(description="division code: its whole subtree")] = None,
    grid: str | None = None, kind: str | None = None, venue_type: str | None = None,
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
    ctx: Ctx, jurisdiction: str | None = None, grid: str | None = None, kind: str | None = None,
    venue_type: str | None = None, key_supervision: bool | None = None,
    operating_status: Annotated[str | None, Query(pattern="^(operating|suspended|closed)$")] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    filters = _filters(jurisdiction, grid, kind, venue_type, key_supervision, operating_status, q)
    return JSONResponse(await service.enterprise_map(ctx, filters), media_type=GEOJSON)


@router.get("/enterprises/{uscc}", tags=["enterprises"], response_model=EnterpriseOut)
async def get_enterprise(uscc: str, ctx: Ctx, response: Response) -> EnterpriseOut:
    row = await service.read_enterprise(ctx, uscc)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


@router.patch("/enterprises/{uscc}", tags=["enterprises"], response_model=EnterpriseOut,
              summary="Change fields (If-Match required); enterprise users: contacts and operating_status only")
async def patch_enterprise(uscc: str, body: EnterprisePatch, ctx: Ctx, response: Response,
                           if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.update_enterprise(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


async def _management_out(ctx: Any, uscc: str, response: Response) -> ManagementOut:
    row, history = await service.management_view(ctx, uscc)
    set_etag(response, row.revision)
    return ManagementOut(uscc=row.uscc, revision=row.revision,
                         current={k: FactStateOut.model_validate(v) for k, v in (row.management or {}).items()},
                         history=[ManagementRecordOut.model_validate(r, from_attributes=True) for r in history])


@router.get("/enterprises/{uscc}/management", tags=["management facts"], response_model=ManagementOut,
            summary="Management facts (三落实, 三到位, 双机制): current state with provenance, and history")
async def get_management(uscc: str, ctx: Ctx, response: Response) -> ManagementOut:
    return await _management_out(ctx, uscc, response)


@router.put("/enterprises/{uscc}/management", tags=["management facts"], response_model=ManagementOut,
            summary="Declare management facts (the enterprise, or a supervisor on its behalf; If-Match)")
async def declare_management(uscc: str, body: ManagementFacts, ctx: Ctx, response: Response,
                             if_match: IfMatch = None) -> ManagementOut:
    await service.declare_management(ctx, uscc, body, if_match)
    return await _management_out(ctx, uscc, response)


@router.post("/enterprises/{uscc}/management/observations", tags=["management facts"],
             status_code=status.HTTP_201_CREATED, response_model=ManagementOut,
             summary="Record facts observed on a patrol (regulator, integrator, admin); the latest report wins")
async def observe_management(uscc: str, body: ManagementObservation, ctx: Ctx, response: Response) -> ManagementOut:
    await service.observe_management(ctx, uscc, body)
    return await _management_out(ctx, uscc, response)


@router.put("/enterprises/{uscc}/key-supervision", tags=["enterprises"], response_model=EnterpriseOut,
            summary="Designate for, or release from, manual key supervision (city/district regulator; If-Match)")
async def designate(uscc: str, body: KeySupervisionDesignation, ctx: Ctx, response: Response,
                    if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.designate_key_supervision(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


@router.put("/enterprises/{uscc}/location", tags=["enterprises"], response_model=EnterpriseOut,
            summary="Confirm the coordinates on site (regulator; If-Match): the location becomes verified")
async def verify_location(uscc: str, body: Location, ctx: Ctx, response: Response,
                          if_match: IfMatch = None) -> EnterpriseOut:
    row = await service.verify_location(ctx, uscc, body, if_match)
    set_etag(response, row.revision)
    return EnterpriseOut.of(row)


# --- operations: daily job and imports ----------------------------------------------------------------

@router.post("/admin/daily-job", tags=["operations"], response_model=DailyJobOut,
             summary="Run the daily ledger job for a business date now (admin); idempotent per date")
async def daily_job(ctx: Ctx, body: DailyJobRequest | None = None) -> DailyJobOut:
    access.ensure_can_administer(ctx.principal)
    if body is not None and body.date is not None:
        ctx.today = body.date
    result = await run_daily_job(ctx)
    return DailyJobOut(date=result.date, inspections_overdue=result.inspections_overdue,
                       certificates_expired=result.certificates_expired,
                       key_supervision_released=result.key_supervision_released)


MAX_ERRORS_SHOWN = 100


@router.post("/imports", tags=["imports"], status_code=status.HTTP_201_CREATED, response_model=ImportOut,
             summary="Import enterprises, equipment or operators from CSV/XLSX (regulator, integrator, admin)",
             openapi_extra={"requestBody": {"content": {
                 "multipart/form-data": {"schema": {"type": "object", "properties": {
                     "file": {"type": "string", "format": "binary"}, "mapping": {"type": "string", "format": "binary"},
                     "kind": {"type": "string", "enum": ["enterprises", "equipment", "operators"]}}}},
                 "text/csv": {"schema": {"type": "string"}},
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                     "schema": {"type": "string", "format": "binary"}}}}})
async def create_import(request: Request, principal: Caller, response: Response,
                        allow_invalid_check_digit: bool = False) -> ImportOut:
    """Rows are committed chunk by chunk (each chunk with its events); the report lists every
    rejected row. Re-running the same file changes nothing and publishes nothing."""
    access.ensure_can_import(principal)
    runtime = request.app.state.runtime
    upload = await read_upload(request, runtime.settings.import_max_bytes)
    try:
        mapping = parse_mapping(upload.mapping_text) if upload.mapping_text else None
        run, result = await import_file(runtime, principal, upload.content, filename=upload.filename,
                                        fmt=upload.fmt, mapping=mapping, kind=upload.kind,
                                        allow_invalid_check_digit=allow_invalid_check_digit)
    except MappingError as exc:
        raise field_error("mapping", str(exc)) from exc
    except UnreadableFile as exc:
        raise field_error("file", str(exc)) from exc
    response.headers["Location"] = f"/api/v1/imports/{run.id}"
    errors = [RowErrorOut(sheet=e.sheet, row=e.row, field=e.field, message=e.message)
              for e in result.errors[:MAX_ERRORS_SHOWN]]
    return ImportOut.of(run, errors)


async def _import_run(session: Any, principal: Any, import_id: str) -> Any:
    run = await repo.get_import(session, import_id)
    if run is None:
        raise not_found("import", import_id)
    if run.created_by != principal.sub and not principal.is_admin:
        raise Problem(403, "Forbidden", "only whoever ran an import (or an admin) may read it")
    return run


@router.get("/imports/{import_id}", tags=["imports"], response_model=ImportOut)
async def get_import(import_id: str, session: Session, principal: Caller) -> ImportOut:
    return ImportOut.of(await _import_run(session, principal, import_id))


@router.get("/imports/{import_id}/report", tags=["imports"], response_class=PlainTextResponse,
            responses={200: {"content": {"text/csv": {}}}},
            summary="The row-level report: sheet, row, field, message (CSV)")
async def import_report(import_id: str, session: Session, principal: Caller) -> PlainTextResponse:
    run = await _import_run(session, principal, import_id)
    return PlainTextResponse(run.report_csv, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{run.id}-report.csv"'})

