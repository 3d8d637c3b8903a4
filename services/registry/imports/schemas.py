"""API shapes of bulk imports: the run and its row errors."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from services.registry.models import ImportRun


class RowErrorOut(BaseModel):
    sheet: str
    row: int
    field: str
    message: str


class ImportOut(BaseModel):
    id: str
    status: str
    filename: str | None
    kinds: list[str]
    counts: dict[str, int] = Field(description="rows, inserted, updated, unchanged, rejected, events")
    counts_by_kind: dict[str, dict[str, int]] = {}
    errors: list[RowErrorOut] = Field([], description="the first 100 row errors; the report has them all")
    report_url: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ImportRun, errors: list[RowErrorOut] | None = None) -> ImportOut:
        counts = row.counts or {}
        return cls(id=row.id, status=row.status, filename=row.filename, kinds=row.kinds or [],
                   counts=counts.get("totals", {}), counts_by_kind=counts.get("by_kind", {}), errors=errors or [],
                   report_url=f"/api/v1/imports/{row.id}/report", created_by=row.created_by,
                   created_at=row.created_at, finished_at=row.finished_at)
