"""HTTP API of bulk imports: upload a CSV/XLSX file (multipart or raw), read a run and its
row-level report. Thin: parse the upload, call the import, map the result."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import PlainTextResponse

from services.registry.access import Ctx, ImportingPrincipal
from services.registry.imports import service
from services.registry.imports.mapping import MappingError, parse_mapping
from services.registry.imports.readers import UnreadableFile
from services.registry.imports.rows import IMPORT_KINDS
from services.registry.imports.schemas import ImportOut, RowErrorOut
from services.registry.imports.upload import read_upload
from shared.http.openapi import link, problem_responses
from shared.http.problems import field_error

router = APIRouter(prefix="/api/v1")

MAX_ERRORS_SHOWN = 100


@router.post("/imports", tags=["imports"], status_code=status.HTTP_201_CREATED, response_model=ImportOut,
             summary="Import enterprises, equipment or operators from CSV/XLSX (regulator, integrator, admin)",
             responses={**problem_responses(413, 415, s413="the file is larger than the import limit",
                                            s415="neither multipart/form-data nor a CSV/XLSX body"),
                        201: {"links": {"GetImport": link("GET", "/api/v1/imports/{import_id}",
                                                          import_id="$response.body#/id")}}},
             openapi_extra={"requestBody": {"required": True, "content": {
                 "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
                     "file": {"type": "string", "format": "binary",
                              "description": "the CSV or XLSX file; its header row names the columns"},
                     "mapping": {"type": "string", "description": "the mapping file (UTF-8 YAML): the city's "
                                                                  "headers → the registry's fields"},
                     "kind": {"type": "string", "enum": list(IMPORT_KINDS)}}}},
                 "text/csv": {"schema": {"type": "string"}},
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                     "schema": {"type": "string", "format": "binary"}}}}})
async def create_import(request: Request, principal: ImportingPrincipal, ctx: Ctx, response: Response,
                        allow_invalid_check_digit: bool = False) -> ImportOut:
    """Rows are committed chunk by chunk (each chunk with its events); the report lists every
    rejected row. Re-running the same file changes nothing and publishes nothing."""
    upload = await read_upload(request, ctx.settings.import_max_bytes)
    try:
        mapping = parse_mapping(upload.mapping_text) if upload.mapping_text else None
        run, result = await service.import_file(ctx, upload.content, filename=upload.filename,
                                        fmt=upload.fmt, mapping=mapping, kind=upload.kind,
                                        allow_invalid_check_digit=allow_invalid_check_digit)
    except MappingError as exc:
        raise field_error(exc.field, exc.message) from exc
    except UnreadableFile as exc:
        raise field_error("file", str(exc)) from exc
    response.headers["Location"] = f"/api/v1/imports/{run.id}"
    errors = [RowErrorOut(sheet=e.sheet, row=e.row, field=e.field, message=e.message)
              for e in result.errors[:MAX_ERRORS_SHOWN]]
    return ImportOut.of(run, errors)


@router.get("/imports/{import_id}", tags=["imports"], response_model=ImportOut)
async def get_import(import_id: str, ctx: Ctx) -> ImportOut:
    return ImportOut.of(await service.read_import(ctx, import_id))


@router.get("/imports/{import_id}/report", tags=["imports"], response_class=PlainTextResponse,
            responses={200: {"content": {"text/csv": {}}}},
            summary="The row-level report: sheet, row, field, message (CSV)")
async def import_report(import_id: str, ctx: Ctx) -> PlainTextResponse:
    run = await service.read_import(ctx, import_id)
    return PlainTextResponse(run.report_csv, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="import-{run.id}-report.csv"'})

