"""Use cases of ratings, reports and moderation. Each write and its event land in the same
transaction (the outbox); each public write counts against the client's hourly limit."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from services.portal import access
from services.portal.context import PortalContext
from services.portal.domain.limits import SlidingWindow
from services.portal.domain.reports import LABELS
from services.portal.errors import field_error, invalid_transition, not_found, too_large, too_many, unsupported_type
from services.portal.feedback import repository as repo
from services.portal.feedback.schemas import (
    RatingIn,
    RatingOut,
    RatingReceipt,
    ReportIn,
    ReportOut,
    ReportReceipt,
    ReportStatusOut,
)
from services.portal.models import Rating, Report, ReportPhoto
from services.portal.qr import service as qr
from shared.contracts.portal import (
    RATING_MODERATED,
    RATING_SUBMITTED,
    REPORT_CATEGORIES,
    REPORT_SUBMITTED,
    RatingModerated,
    RatingSubmitted,
    ReportChannel,
    ReportLocation,
    ReportSubmitted,
)
from shared.db import new_uuid
from shared.http.pagination import PageParams, make_page

RECEIPT_BYTES = 18
# The first bytes of each accepted image type: a photo is what it says it is.
MAGIC = {"image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",), "image/webp": (b"RIFF",)}


def _limit(ctx: PortalContext, window: SlidingWindow, client: str, what: str) -> None:
    wait = window.hit(client, ctx.now().timestamp())
    if wait is not None:
        raise too_many(f"too many {what} from here; try again later", wait)


def check_photo(ctx: PortalContext, data: bytes, media_type: str) -> None:
    if len(data) > ctx.settings.photo_max_bytes:
        raise too_large(f"a photo may be at most {ctx.settings.photo_max_bytes} bytes")
    if media_type not in MAGIC:
        raise unsupported_type(f"a photo must be one of {', '.join(MAGIC)}, not {media_type or 'unnamed'}")
    if not data.startswith(MAGIC[media_type]) or (media_type == "image/webp" and data[8:12] != b"WEBP"):
        raise unsupported_type(f"the photo's bytes are not {media_type}")


async def rate(ctx: PortalContext, token: str, client: str, rating: RatingIn) -> RatingReceipt:
    """A rating of the unit behind ``token``; its comment waits for a moderator."""
    resolved = await qr.resolve(ctx, token, client)
    comment = (rating.comment or "").strip() or None
    if comment is not None and len(comment) > ctx.settings.comment_max_chars:
        raise field_error("comment", f"at most {ctx.settings.comment_max_chars} characters")
    _limit(ctx, ctx.limits.ratings, client, "ratings")
    now = ctx.now()
    row = Rating(id=new_uuid(), uscc=resolved.uscc, stars=rating.stars, comment=comment,
                 status="pending" if comment else "approved", submitted_at=now)
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.outbox.publish(ctx.session, RATING_SUBMITTED, subject=resolved.uscc, data=RatingSubmitted(
        rating_id=row.id, enterprise_uscc=resolved.uscc, stars=row.stars, has_comment=comment is not None,
        submitted_at=now))
    if row.status == "approved":
        ctx.unit_changed(resolved.uscc)
    return RatingReceipt(rating_id=row.id, status=row.status)  # type: ignore[arg-type]


async def report(ctx: PortalContext, token: str, client: str, body: ReportIn,
                 photo: tuple[bytes, str] | None = None) -> ReportReceipt:
    """A problem report about the unit (or the piece of equipment) behind ``token``."""
    resolved = await qr.resolve(ctx, token, client)
    if photo is not None:
        check_photo(ctx, *photo)
    _check_description(ctx, body.description)
    _limit(ctx, ctx.limits.reports, client, "reports")
    return await file_report(ctx, resolved.uscc, body, photo, channel="qr")


def _check_description(ctx: PortalContext, description: str) -> str:
    description = description.strip()
    if not description:
        raise field_error("description", "say what is wrong")
    if len(description) > ctx.settings.report_max_chars:
        raise field_error("description", f"at most {ctx.settings.report_max_chars} characters")
    return description


async def file_report(ctx: PortalContext, uscc: str, body: ReportIn, photo: tuple[bytes, str] | None = None, *,
                      channel: ReportChannel) -> ReportReceipt:
    """Store a checked report and its ``report.submitted`` event in one transaction."""
    description = _check_description(ctx, body.description)
    now, report_id = ctx.now(), new_uuid()
    sha = hashlib.sha256(photo[0]).hexdigest() if photo else None
    equipment_id = None  # registry's public resolution does not name the equipment's id
    data = ReportSubmitted(report_id=report_id, enterprise_uscc=uscc, equipment_id=equipment_id,
                           category=body.category, description=description, location=body.location,
                           photo_sha256=sha, channel=channel, submitted_at=now)
    event = await ctx.outbox.publish(ctx.session, REPORT_SUBMITTED, subject=uscc, data=data)
    row = Report(id=report_id, receipt=secrets.token_urlsafe(RECEIPT_BYTES), uscc=uscc,
                 equipment_id=equipment_id, category=body.category, description=description,
                 lat=body.location.lat if body.location else None, lon=body.location.lon if body.location else None,
                 photo_sha256=sha, channel=channel, event_id=event.id, status="received", submitted_at=now,
                 status_at=now)
    ctx.session.add(row)
    await ctx.session.flush()
    if photo is not None:
        ctx.session.add(ReportPhoto(report_id=report_id, sha256=sha, media_type=photo[1], data=photo[0]))
        await ctx.session.flush()
    return ReportReceipt(report_id=report_id, receipt=row.receipt, status="received",
                         status_url=f"{ctx.settings.public_base_url.rstrip('/')}/r/{row.receipt}")


async def report_status(ctx: PortalContext, receipt: str) -> ReportStatusOut:
    row = await repo.get_report(ctx.session, receipt)
    if row is None:
        raise not_found("report with receipt", receipt)
    unit = await qr.repo.get_enterprise(ctx.session, row.uscc)
    token = await qr.repo.get_token_of(ctx.session, row.uscc)
    label, meaning = LABELS[row.status]
    return ReportStatusOut(
        receipt=row.receipt, unit_name=(unit.name if unit and unit.name else token.name if token else row.uscc),
        category=row.category, category_name=REPORT_CATEGORIES[row.category],  # type: ignore[arg-type]
        status=row.status, status_label=label, status_meaning=meaning,  # type: ignore[arg-type]
        submitted_at=row.submitted_at, status_at=row.status_at, has_photo=row.photo_sha256 is not None)


async def list_ratings(ctx: PortalContext, status: str | None, params: PageParams,
                       after: tuple[datetime, str] | None) -> dict[str, Any]:
    access.ensure_moderator(ctx.principal)
    node = None if ctx.principal.is_admin else ctx.principal.jurisdiction
    rows = await repo.list_ratings(ctx.session, node=node, status=status, after=after, limit=params.limit)
    return make_page(rows, params, key_of=lambda r: [r[0].submitted_at.isoformat(), r[0].id],
                     to_item=lambda r: _rating_out(r[0], r[1]))


def _rating_out(row: Rating, unit_name: str | None) -> RatingOut:
    return RatingOut(id=row.id, uscc=row.uscc, unit_name=unit_name, stars=row.stars, comment=row.comment,
                     status=row.status, submitted_at=row.submitted_at,  # type: ignore[arg-type]
                     moderated_at=row.moderated_at, moderated_by=row.moderated_by)


async def moderate(ctx: PortalContext, rating_id: str, decision: str) -> RatingOut:
    """Approve (the comment is shown) or reject a pending rating; a decided one is 409."""
    found = await repo.lock_rating(ctx.session, rating_id)
    if found is None:
        raise not_found("rating", rating_id)
    row, unit = found
    access.ensure_moderator(ctx.principal, unit.jurisdiction_code or "" if unit else "")
    if row.status != "pending":
        raise invalid_transition(f"this rating was already {row.status}", row.status)
    row.status, row.moderated_at, row.moderated_by = decision, ctx.now(), ctx.actor
    await ctx.session.flush()
    ctx.unit_changed(row.uscc)
    await ctx.outbox.publish(ctx.session, RATING_MODERATED, subject=row.uscc, data=RatingModerated(
        rating_id=row.id, enterprise_uscc=row.uscc, decision=decision,  # type: ignore[arg-type]
        comment=row.comment if decision == "approved" else None, moderated_at=row.moderated_at))
    return _rating_out(row, unit.name if unit else None)


async def _handled_report(ctx: PortalContext, report_id: str) -> tuple[Report, str | None]:
    row = await repo.get_report_by_id(ctx.session, report_id)
    if row is None:
        raise not_found("report", report_id)
    unit = await qr.repo.get_enterprise(ctx.session, row.uscc)
    access.ensure_report_reader(ctx.principal, unit.jurisdiction_code if unit else None)
    return row, unit.name if unit else None


async def read_report(ctx: PortalContext, report_id: str) -> ReportOut:
    row, unit_name = await _handled_report(ctx, report_id)
    location = ReportLocation(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None
    return ReportOut(id=row.id, uscc=row.uscc, unit_name=unit_name, category=row.category,  # type: ignore[arg-type]
                     description=row.description, location=location, channel=row.channel,  # type: ignore[arg-type]
                     status=row.status, alert_id=row.alert_id, submitted_at=row.submitted_at,  # type: ignore[arg-type]
                     status_at=row.status_at,
                     photo_url=f"/api/v1/reports/{row.id}/photo" if row.photo_sha256 else None)


async def report_photo(ctx: PortalContext, report_id: str) -> tuple[bytes, str, str]:
    row, _ = await _handled_report(ctx, report_id)
    photo = await repo.get_photo(ctx.session, row.id)
    if photo is None:
        raise not_found("photo of report", report_id)
    return photo.data, photo.media_type, photo.sha256
