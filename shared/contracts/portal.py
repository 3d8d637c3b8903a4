"""Events the portal publishes: what the public reports (``portal.reports``; enforcement turns a
report into a ``public_report`` alert) and how the public rates a unit (``portal.ratings``).
Neither carries personal data: no reporter contact, no client address; a rating's comment
leaves the portal only once a moderator approved it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.contracts.common import EventData, Uscc
from shared.events.spec import EventSpec

ReportCategory = Literal["equipment_fault", "expired_inspection", "unsafe_operation", "gas_leak", "other"]
REPORT_CATEGORIES: dict[str, str] = {
    "equipment_fault": "设备故障或异常",
    "expired_inspection": "检验超期或无检验标志",
    "unsafe_operation": "违规操作或无证作业",
    "gas_leak": "气体泄漏或异味",
    "other": "其他安全问题",
}
ReportChannel = Literal["qr", "open311"]


class ReportLocation(EventData):
    """Where the reporter was (WGS-84, as a phone's GPS gives it)."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class ReportSubmitted(EventData):
    """A member of the public (or a city system through Open311) reported a problem at a unit."""

    report_id: str
    enterprise_uscc: Uscc
    equipment_id: str | None = Field(None, description="registry's equipment id, when the report is about one piece")
    category: ReportCategory
    description: str
    location: ReportLocation | None = None
    photo_sha256: str | None = None
    channel: ReportChannel = "qr"
    submitted_at: datetime


class RatingSubmitted(EventData):
    """The public rated a unit 1-5; a comment, if any, waits for moderation."""

    rating_id: str
    enterprise_uscc: Uscc
    stars: int = Field(ge=1, le=5)
    has_comment: bool = False
    submitted_at: datetime


class RatingModerated(EventData):
    """A moderator approved or rejected a rating's comment (approved: it is shown, and here)."""

    rating_id: str
    enterprise_uscc: Uscc
    decision: Literal["approved", "rejected"]
    comment: str | None = Field(None, description="the comment as shown, when approved")
    moderated_at: datetime


REPORT_SUBMITTED = EventSpec(
    "safegrid.portal.report.submitted.v1", "portal.reports", ReportSubmitted,
    "The public reported a problem at a unit (a QR page or Open311); enforcement raises a public_report alert.")
RATING_SUBMITTED = EventSpec(
    "safegrid.portal.rating.submitted.v1", "portal.ratings", RatingSubmitted,
    "The public rated a unit (1-5 stars).")
RATING_MODERATED = EventSpec(
    "safegrid.portal.rating.moderated.v1", "portal.ratings", RatingModerated,
    "A rating's comment was approved (now shown) or rejected.")

EVENTS = (
    REPORT_SUBMITTED,
    RATING_SUBMITTED,
    RATING_MODERATED,
)
