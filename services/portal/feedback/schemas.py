"""API shapes of ratings, reports and moderation."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.portal import ReportCategory, ReportLocation

RatingStatus = Literal["pending", "approved", "rejected"]
ReportStatus = Literal["received", "in_progress", "resolved"]


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stars: int = Field(ge=1, le=5, description="1 (poor) to 5 (good)")
    comment: str | None = Field(None, max_length=500, description="shown once a moderator approved it")


class RatingReceipt(BaseModel):
    rating_id: str
    status: RatingStatus = Field(description="approved at once without a comment; pending until moderated with one")


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: ReportCategory
    description: str = Field(min_length=1, max_length=2000, pattern=r"\S", description="what is wrong, in your words")
    location: ReportLocation | None = Field(None, description="where you are (WGS-84), if you share it")


class ReportReceipt(BaseModel):
    report_id: str
    receipt: str = Field(description="keep it: it opens the report's status page")
    status: ReportStatus
    status_url: str


class ReportStatusOut(BaseModel):
    """What the reporter sees: the report's status as enforcement moves it, never who handles it."""

    receipt: str
    unit_name: str
    category: ReportCategory
    category_name: str
    status: ReportStatus
    status_label: str
    status_meaning: str
    submitted_at: datetime
    status_at: datetime
    has_photo: bool


class RatingOut(BaseModel):
    id: str
    uscc: str
    unit_name: str | None
    stars: int
    comment: str | None
    status: RatingStatus
    submitted_at: datetime
    moderated_at: datetime | None
    moderated_by: str | None


class ReportOut(BaseModel):
    """A report as a regulator handling it sees it (still no reporter: none is ever kept)."""

    id: str
    uscc: str
    unit_name: str | None
    category: ReportCategory
    description: str
    location: ReportLocation | None
    channel: Literal["qr", "open311"]
    status: ReportStatus
    alert_id: str | None = Field(description="the alert enforcement raised for it, once it did")
    submitted_at: datetime
    status_at: datetime
    photo_url: str | None
