"""API shapes of the daily cut-off."""

from __future__ import annotations

import datetime as dt

from pydantic import Field

from services.inspection.records.schemas import Day, Input, Output


class CutoffIn(Input):
    date: Day = Field(description="the business date (YYYY-MM-DD, Asia/Shanghai) to run the cut-off for")


class MissingOut(Output):
    enterprise_uscc: str
    name: str | None
    jurisdiction_code: str | None
    event_id: str = Field(description="id of the filling_records.missing event")
    found_at: dt.datetime
    found_by_run: str
    new: bool = Field(description="found by this run (false: an earlier run had found it)")
    records_arrived_late: bool


class CutoffOut(Output):
    run_id: str
    date: dt.date
    scope: str | None = Field(description="the division-code prefix covered (null: every filling unit)")
    checked: int = Field(description="operating filling units that owed records for the date")
    newly_found: int
    missing: list[MissingOut] = Field(description="every unit found missing for the date (in scope), by any run")
