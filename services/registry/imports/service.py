"""The import use cases: ``import_file``, shared by ``safegrid registry import`` and
``POST /api/v1/imports`` (read the file, decide which ledger each sheet holds, run the importer,
keep the report), and ``read_import``."""

from __future__ import annotations

from services.registry import access
from services.registry.context import RegistryContext
from services.registry.errors import not_found
from services.registry.imports import repository as repo
from services.registry.imports.loader import Importer, ImportResult, ProgressCallback, RowError
from services.registry.imports.mapping import Mapping, MappingError, SheetMapping
from services.registry.imports.readers import Sheet, UnreadableFile, detect_format, read_sheets
from services.registry.imports.rows import IMPORT_KINDS
from services.registry.models import ImportRun
from shared.context import unit_of_work


def assign_kinds(sheets: list[Sheet], mapping: Mapping, kind: str | None) -> tuple[
        list[tuple[Sheet, str, SheetMapping]], list[RowError]]:
    """Which ledger each sheet holds: the --kind given, else the mapping's sheet names, else the
    headers. A sheet nobody can place is reported, not guessed."""
    if kind is not None and kind not in IMPORT_KINDS:
        raise MappingError(f"kind must be one of {', '.join(IMPORT_KINDS)}")
    assigned, errors = [], []
    for sheet in sheets:
        sheet_kind = (kind if kind and len(sheets) == 1 else None) or mapping.kind_of_sheet(sheet.name) \
            or kind or mapping.kind_of_headers(sheet.headers)
        if sheet_kind is None:
            errors.append(RowError(sheet.name, 1, "sheet", "cannot tell whether this sheet holds enterprises, "
                                                           "equipment or operators; name it or map its headers"))
            continue
        assigned.append((sheet, sheet_kind, mapping.for_kind(sheet_kind)))
    return assigned, errors


def names_a_column(sheet: Sheet, mapping: SheetMapping) -> bool:
    """Does the sheet's header row name at least one field of its ledger?"""
    return any(mapping.field_of(header) is not None for header in sheet.headers)


async def import_file(ctx: RegistryContext, content: bytes, *, filename: str | None = None,
                      fmt: str | None = None, mapping: Mapping | None = None, kind: str | None = None,
                      progress: ProgressCallback | None = None,
                      allow_invalid_check_digit: bool = False) -> tuple[ImportRun, ImportResult]:
    """Import one file as ``ctx.principal``; the run is recorded before the first chunk and
    completed (or failed) after the last. A file none of whose header rows names a column of
    the registry is no ledger table: ``UnreadableFile``, and no run is recorded.

    Unlike other use cases this one commits, and not in ``ctx.session`` (which it leaves
    untouched): through ``ctx.runtime`` it opens its own units of work, one for the run record,
    one per chunk of ``import_chunk_size`` rows (each holding its rows and their events) and one
    for the report. A city's file is tens of thousands of rows: as one transaction it would hold
    its row locks and the outbox's events until the last row, a failure late in the file would
    lose every row before it, and nobody could watch the run. Per chunk, a crash keeps the
    finished chunks and re-running the file completes the rest (the upserts are idempotent)."""
    runtime, principal = ctx.runtime, ctx.principal
    mapping = mapping or Mapping()
    sheets = read_sheets(content, detect_format(content, filename, fmt), name=filename or "csv")
    assigned, sheet_errors = assign_kinds(sheets, mapping, kind)
    if not any(names_a_column(sheet, sheet_mapping) for sheet, _, sheet_mapping in assigned):
        raise UnreadableFile("no header row names a column of the registry (its field names, or the mapping's "
                             "headers): this is not a ledger table")
    async with unit_of_work(runtime, principal) as unit:
        run = ImportRun(filename=filename, kinds=sorted({k for _, k, _ in assigned}), status="running",
                        counts={}, report_csv="", created_by=principal.sub, created_at=unit.now())
        unit.session.add(run)
    importer = Importer(runtime, principal, allow_invalid_check_digit=allow_invalid_check_digit, progress=progress)
    importer.result.errors.extend(sheet_errors)
    status = "failed"
    try:
        await importer.run(assigned)
        status = "completed"
    finally:
        result = importer.result
        async with unit_of_work(runtime, principal) as unit:
            stored = await repo.get_import(unit.session, run.id, for_update=True)
            if stored is None:
                raise RuntimeError(f"import run {run.id} disappeared while it ran")
            stored.status = status
            stored.counts = {"totals": result.totals(), "by_kind": result.by_kind()}
            stored.report_csv, stored.finished_at = result.report_csv(), unit.now()
            run = stored
    return run, result


async def read_import(ctx: RegistryContext, import_id: str) -> ImportRun:
    """A run and its report: whoever ran it, or an admin."""
    run = await repo.get_import(ctx.session, import_id)
    if run is None:
        raise not_found("import", import_id)
    access.ensure_can_read_import(ctx.principal, run.created_by)
    return run
