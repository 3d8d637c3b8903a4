"""API shapes of the daily cut-off."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import Field

from services.inspection.records.schemas import Day, Output
from services.inspection.tasks.schemas import Input, Trim
from shared.locality import DIVISION_CODE_PATTERN


class CutoffIn(Input):
    """Run the cut-off of a business date now (patterns matched as Python's ``re``, as tasks' are)."""

    date: Day = Field(description="the business date (YYYY-MM-DD, Asia/Shanghai) to run the cut-off for")
    jurisdiction_code: Annotated[str, Field(pattern=DIVISION_CODE_PATTERN), Trim] | None = Field(None, description=(
        "only the units of this subtree (a city, district...), which the caller must cover; default: every unit "
        "the caller covers. Runs now whatever the city's cut-off time"))


class MissingOut(Output):
    enterprise_uscc: str
    name: str | None
    jurisdiction_code: str | None
    event_id: str = Field(description="id of the filling_records.missing event")
    found_at: dt.datetime
    found_by_run: str
    new: bool = Field(description="found by this run (false: an earlier run had found it)")
    records_arrived_late: bool
    withdrawn_event_id: str | None = Field(description=(
        "id of the filling_records.missing_withdrawn event, once a closure of the day was declared afterwards"))


class CutoffOut(Output):
    run_id: str
    date: dt.date
    scope: str | None = Field(description="the division-code prefix covered (null: every filling unit)")
    checked: int = Field(description="operating filling units that owed records for the date")
    newly_found: int
    missing: list[MissingOut] = Field(description="every unit found missing for the date (in scope), by any run")
