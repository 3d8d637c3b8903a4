"""HTTP endpoints of records: filling-record batches in, queries and CSV out; equipment usage and
maintenance records; the maintenance-lapse check on demand."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from services.inspection import jobs
from services.inspection.access import (
    AdminCtx,
    Ctx,
    FromDate,
    PageByTime,
    Readable,
    RecordId,
    ToDate,
    Uscc,
    Versions,
)
from services.inspection.records import service
from services.inspection.records.schemas import (
    EquipmentRecordIn,
    EquipmentRecordOut,
    FillingBatchIn,
    FillingBatchOut,
    FillingRecordOut,
    MaintenanceCheckIn,
    MaintenanceCheckOut,
)
from shared.app import Runtime
from shared.context import unit_of_work
from shared.http.openapi import problem_responses
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["records"])
CylinderNo = Annotated[str | None, Query(min_length=1, max_length=64, description="one cylinder's records")]
EquipmentId = Annotated[str | None, Query(min_length=1, max_length=100, description="one equipment's records")]


@router.post("/filling-records", status_code=201, response_model_exclude={"in_batch_duplicates"},
             summary="Upload a batch of filling records (气瓶充装记录), up to 5,000")
async def upload_filling_records(ctx: Ctx, body: FillingBatchIn) -> FillingBatchOut:
    return FillingBatchOut.model_validate(await service.ingest_filling_records(ctx, body.records))


@router.get("/enterprises/{uscc}/filling-records",
            summary="An enterprise's filling records, by filled_at: each fill's current version unless versions=all")
async def list_filling_records(ctx: Ctx, enterprise: Readable, page: PageByTime, cylinder_no: CylinderNo = None,
                               start: FromDate = None, end: ToDate = None, versions: Versions = "current"
                               ) -> Page[FillingRecordOut]:
    found = await service.list_filling_records(ctx, enterprise["uscc"], cylinder_no=cylinder_no, start=start,
                                               end=end, all_versions=versions == "all", page=page.params,
                                               after=page.after)
    return Page[FillingRecordOut].model_validate(found)


@router.get("/enterprises/{uscc}/filling-records.csv", summary="An enterprise's filling records as CSV (streamed)",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "the records, one per row, with a header row (UTF-8 with BOM)"}})
async def export_filling_records(uscc: Uscc, enterprise: Readable, runtime: Runtime, cylinder_no: CylinderNo = None,
                                 start: FromDate = None, end: ToDate = None, versions: Versions = "current"
                                 ) -> StreamingResponse:
    async def rows():  # type: ignore[no-untyped-def]
        # The response streams after the request's unit of work ended: the export reads in its own.
        async with unit_of_work(runtime) as ctx:
            async for text in service.filling_records_csv(ctx, uscc, cylinder_no=cylinder_no, start=start,
                                                          end=end, all_versions=versions == "all"):
                yield text

    return StreamingResponse(rows(), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="filling-records-{uscc}.csv"'})


@router.get("/filling-records/{record_id}", summary="One version of a filling record, current or replaced")
async def get_filling_record(ctx: Ctx, record_id: RecordId) -> FillingRecordOut:
    return FillingRecordOut.model_validate(await service.get_filling_record(ctx, int(record_id)))


@router.post("/enterprises/{uscc}/equipment-records", status_code=201,
             summary="Record a use, maintenance, trial run, routine check or fault of one piece of equipment",
             responses=problem_responses(409, s409="occurred_at lies in the future"))
async def record_equipment(ctx: Ctx, enterprise: Readable, body: EquipmentRecordIn) -> EquipmentRecordOut:
    return EquipmentRecordOut.model_validate(await service.record_equipment_use(ctx, enterprise, body))


@router.get("/enterprises/{uscc}/equipment-records", summary="An enterprise's equipment records, by occurred_at")
async def list_equipment_records(ctx: Ctx, enterprise: Readable, page: PageByTime, equipment_id: EquipmentId = None,
                                 kind: Annotated[str | None, Query(
                                     pattern="^(daily_use|maintenance|trial_run|routine_check|fault)$")] = None,
                                 start: FromDate = None, end: ToDate = None) -> Page[EquipmentRecordOut]:
    found = await service.list_equipment_records(ctx, enterprise["uscc"], equipment_id=equipment_id, kind=kind,
                                                 start=start, end=end, page=page.params, after=page.after)
    return Page[EquipmentRecordOut].model_validate(found)


@router.post("/admin/maintenance-checks", summary="Run the maintenance-lapse check now, as of a date (admin)")
async def check_maintenance(_: AdminCtx, runtime: Runtime, body: MaintenanceCheckIn) -> MaintenanceCheckOut:
    return MaintenanceCheckOut.model_validate(await jobs.run_maintenance_check(runtime, body.date))
