"""The import use case shared by ``safegrid registry import`` and ``POST /api/v1/imports``:
read the file, decide which ledger each sheet holds, run the importer, keep the report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from services.registry.imports.loader import Importer, ImportResult, ProgressCallback, RowError
from services.registry.imports.mapping import Mapping, MappingError, SheetMapping
from services.registry.imports.readers import Sheet, detect_format, read_sheets
from services.registry.imports.rows import IMPORT_KINDS
from services.registry.models import ImportRun
from shared.auth import Principal
from shared.db import utcnow


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


async def import_file(runtime: Any, principal: Principal, content: bytes, *, filename: str | None = None,
                      fmt: str | None = None, mapping: Mapping | None = None, kind: str | None = None,
                      progress: ProgressCallback | None = None,
                      allow_invalid_check_digit: bool = False) -> tuple[ImportRun, ImportResult]:
    """Import one file. ``runtime`` provides session_factory, tables, settings and relay."""
    mapping = mapping or Mapping()
    sheets = read_sheets(content, detect_format(content, filename, fmt), name=filename or "csv")
    assigned, sheet_errors = assign_kinds(sheets, mapping, kind)
    async with runtime.session_factory() as session, session.begin():
        run = ImportRun(filename=filename, kinds=sorted({k for _, k, _ in assigned}), status="running",
                        counts={}, report_csv="", created_by=principal.sub, created_at=utcnow())
        session.add(run)
    importer = Importer(session_factory=runtime.session_factory, tables=runtime.tables, settings=runtime.settings,
                        principal=principal, allow_invalid_check_digit=allow_invalid_check_digit,
                        progress=progress, after_commit=runtime.relay.notify)
    importer.result.errors.extend(sheet_errors)
    status = "failed"
    try:
        result = await importer.run(assigned)
        status = "completed"
    finally:
        result = importer.result
        async with runtime.session_factory() as session, session.begin():
            stored = (await session.execute(select(ImportRun).where(ImportRun.id == run.id))).scalar_one()
            stored.status = status
            stored.counts = {"totals": result.totals(), "by_kind": result.by_kind()}
            stored.report_csv, stored.finished_at = result.report_csv(), utcnow()
            run = stored
    return run, result
