"""HTTP endpoints of ratings, reports and moderation: the JSON API, and the same writes as
plain HTML forms (POST, then a redirect: no JavaScript needed) with the report's status page."""

from __future__ import annotations

import email.policy
import re
from datetime import datetime
from email import message_from_bytes
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.portal.access import RECEIPT_PATTERN, Client, Ctx, Paging, PublicCtx, RatingId, Receipt, ReportId, Token
from services.portal.errors import field_error, too_large
from services.portal.feedback import service
from services.portal.feedback.schemas import (
    RatingIn,
    RatingOut,
    RatingReceipt,
    RatingStatus,
    ReportIn,
    ReportOut,
    ReportReceipt,
    ReportStatusOut,
)
from services.portal.qr.router import LOOKUP_PROBLEMS, problem_page, render_unit
from shared.contracts.portal import REPORT_CATEGORIES
from shared.http.openapi import problem_responses
from shared.http.pagination import Page
from shared.http.problems import Problem

router = APIRouter()
WRITE_PROBLEMS = {**LOOKUP_PROBLEMS, **problem_responses(
    429, s429="too many lookups, ratings or reports from this client: wait Retry-After seconds")}
MODERATION = problem_responses(409, s409="the rating was already approved or rejected")


# --- JSON --------------------------------------------------------------------------------------

@router.post("/api/v1/public/qr/{token}/ratings", tags=["public"], status_code=status.HTTP_201_CREATED,
             responses=WRITE_PROBLEMS, summary="Rate the unit behind a code 1-5, with an optional comment")
async def rate(token: Token, body: RatingIn, ctx: PublicCtx, client: Client) -> RatingReceipt:
    return await service.rate(ctx, token, client, body)


@router.post("/api/v1/public/qr/{token}/reports", tags=["public"], status_code=status.HTTP_201_CREATED,
             responses=WRITE_PROBLEMS, summary="Report a problem at the unit behind a code; keep the receipt")
async def report(token: Token, body: ReportIn, ctx: PublicCtx, client: Client) -> ReportReceipt:
    return await service.report(ctx, token, client, body)


@router.get("/api/v1/public/reports/{receipt}", tags=["public"],
            summary="A report's status, by its receipt (follows enforcement's handling)")
async def report_status(receipt: Receipt, ctx: PublicCtx) -> ReportStatusOut:
    return await service.report_status(ctx, receipt)


@router.get("/api/v1/reports/{report_id}", tags=["moderation"],
            summary="A report in full, for the regulator handling the alert it raised")
async def read_report(report_id: ReportId, ctx: Ctx) -> ReportOut:
    return await service.read_report(ctx, report_id)


@router.get("/api/v1/reports/{report_id}/photo", tags=["moderation"], response_class=Response,
            responses={200: {"description": "the photo's bytes", "content": {t: {"schema": {
                "type": "string", "format": "binary"}} for t in ("image/jpeg", "image/png", "image/webp")}}},
            summary="A report's photo")
async def report_photo(report_id: ReportId, ctx: Ctx) -> Response:
    data, media_type, sha256 = await service.report_photo(ctx, report_id)
    return Response(data, media_type=media_type, headers={"ETag": f'"{sha256}"', "Cache-Control": "private"})


def _after(page: Paging) -> tuple[datetime, str] | None:
    after = page.after
    if not after:
        return None
    try:
        return datetime.fromisoformat(after[0]), str(after[1])
    except (ValueError, TypeError, IndexError) as exc:
        raise field_error("cursor", "not a cursor this API issued") from exc


@router.get("/api/v1/ratings", tags=["moderation"],
            summary="Ratings to moderate (oldest first), in the caller's jurisdiction subtree")
async def list_ratings(ctx: Ctx, page: Paging,
                       status: Annotated[RatingStatus | None, Query(description="only ratings in this status")] = None,
                       ) -> Page[RatingOut]:
    found = await service.list_ratings(ctx, status, page, _after(page))
    return Page[RatingOut](**found)


@router.post("/api/v1/ratings/{rating_id}/approve", tags=["moderation"], responses=MODERATION,
             summary="Approve a rating: its comment is shown on the unit's page")
async def approve(rating_id: RatingId, ctx: Ctx) -> RatingOut:
    return await service.moderate(ctx, rating_id, "approved")


@router.post("/api/v1/ratings/{rating_id}/reject", tags=["moderation"], responses=MODERATION,
             summary="Reject a rating: its comment is never shown, its stars do not count")
async def reject(rating_id: RatingId, ctx: Ctx) -> RatingOut:
    return await service.moderate(ctx, rating_id, "rejected")


# --- HTML forms --------------------------------------------------------------------------------

async def _form(request: Request, limit: int) -> tuple[dict[str, str], tuple[bytes, str] | None]:
    """Fields of an urlencoded or multipart form, and its ``photo`` part if one was sent."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large(f"the form is too large: a photo may be at most {limit // (1024 * 1024)} MB")
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "multipart/form-data":
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}, None
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                                 policy=email.policy.HTTP)
    fields: dict[str, str] = {}
    photo = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if name == "photo" and part.get_filename() is not None:
            if payload:
                photo = (payload, part.get_content_type().lower())
        elif isinstance(name, str):
            fields[name] = payload.decode("utf-8", "replace")
    return fields, photo


def _errors(exc: ValidationError) -> dict[str, str]:
    return {".".join(str(p) for p in e["loc"]) or "form": e["msg"] for e in exc.errors()}


@router.post("/q/{token}/ratings", include_in_schema=False)
async def rate_form(token: str, ctx: PublicCtx, client: Client, request: Request) -> Response:
    try:
        fields, _ = await _form(request, 0)
        body = RatingIn.model_validate({"stars": fields.get("stars"), "comment": fields.get("comment") or None})
        await service.rate(ctx, token, client, body)
    except ValidationError as exc:
        return await render_unit(ctx, token, client, status=422, errors=_errors(exc))
    except Problem as problem:
        if problem.status == 422:
            return await render_unit(ctx, token, client, status=422,
                                     errors={e["field"]: e["message"] for e in problem.errors or []})
        return problem_page(ctx, problem)
    return RedirectResponse(f"/q/{token}?rated=1#rate", status_code=status.HTTP_303_SEE_OTHER)


@router.post("/q/{token}/reports", include_in_schema=False)
async def report_form(token: str, ctx: PublicCtx, client: Client, request: Request) -> Response:
    try:
        fields, photo = await _form(request, ctx.settings.photo_max_bytes)
        location: dict[str, Any] | None = None
        if fields.get("lat") or fields.get("lon"):
            location = {"lat": fields.get("lat"), "lon": fields.get("lon")}
        body = ReportIn.model_validate({"category": fields.get("category"), "description": fields.get("description"),
                                        "location": location})
        receipt = await service.report(ctx, token, client, body, photo)
    except ValidationError as exc:
        return await render_unit(ctx, token, client, status=422, errors=_errors(exc))
    except Problem as problem:
        if problem.status in (413, 415, 422):
            errors = {e["field"]: e["message"] for e in problem.errors or []} or {"photo": problem.detail}
            return await render_unit(ctx, token, client, status=problem.status, errors=errors)
        return problem_page(ctx, problem)
    return RedirectResponse(f"/r/{receipt.receipt}", status_code=status.HTTP_303_SEE_OTHER)


@router.get("/r/{receipt}", include_in_schema=False)
async def report_page(receipt: str, ctx: PublicCtx) -> HTMLResponse:
    """The receipt's page: the report's status as enforcement moves it."""
    try:
        if not re.fullmatch(RECEIPT_PATTERN, receipt):
            raise Problem(404, "Not found", "no report has this receipt")
        report = await service.report_status(ctx, receipt)
    except Problem as problem:
        return problem_page(ctx, problem)
    return HTMLResponse(ctx.render("report.html", report=report, categories=REPORT_CATEGORIES),
                        headers={"Cache-Control": "no-store"})
