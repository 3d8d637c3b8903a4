"""API shapes of declared closed days."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from services.inspection.records.schemas import Day, Input, Output


class ClosedDayIn(Input):
    date: Day = Field(description="the business date the unit does not operate (YYYY-MM-DD)")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="why (holiday closure, maintenance, ordered to suspend...)")


class ClosedDayOut(Output):
    enterprise_uscc: str
    date: dt.date
    reason: str
    declared_by: str
    declared_by_role: Literal["enterprise", "regulator"]
    declared_at: dt.datetime
    cancelled_at: dt.datetime | None
    cancelled_by: str | None
