"""API shapes of an association's members and notices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.common import USCC_PATTERN

MemberUscc = Annotated[str, Field(pattern=USCC_PATTERN)]


class MemberOut(BaseModel):
    uscc: str
    name: str | None
    jurisdiction_code: str | None
    grade: str | None
    grade_date: date | None
    key_supervision: bool
    open_alerts: int = Field(description="alerts enforcement raised that are not resolved yet")
    open_alert_kinds: list[str]


class NoticeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=200, pattern=r"\S")
    body: str = Field(min_length=1, max_length=5000, pattern=r"\S")
    members: list[MemberUscc] | None = Field(None, min_length=1, max_length=1000, description=(
        "USCCs of the members to address (each must be a member); omitted: every member"))


class NoticeOut(BaseModel):
    id: str
    association: str
    title: str
    body: str
    sent_at: datetime
    recipients: int
