"""Use cases of Open311 GeoReport v2. A service is a report category; a request is a public
report (from a QR page or filed here), its status ``open`` until enforcement resolves the alert
raised for it. ``api_key`` is a platform token (JWT) of an integrator, or an admin, whose
jurisdiction (if any) covers the unit: required to file requests (as the specification says)
and, because reports are the public's own words, to read them. Personal fields the
specification allows (email, names, phone, device and account ids) are accepted and dropped."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from services.portal.context import PortalContext
from services.portal.domain.reports import LABELS
from services.portal.feedback import service as feedback
from services.portal.feedback.schemas import ReportIn
from services.portal.models import Report
from services.portal.open311 import repository as repo
from shared.auth import Principal
from shared.contracts.common import USCC_PATTERN
from shared.contracts.portal import REPORT_CATEGORIES
from shared.http.problems import Problem

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = datetime(2026, 12, 1, tzinfo=UTC)
AGENCY = "特种设备安全监管部门"
WRITE_SCOPE = "portal:write"
DEFAULT_WINDOW = timedelta(days=90)
MAX_REQUESTS = 1000
OPEN311_STATUS = {"received": "open", "in_progress": "open", "resolved": "closed"}
USCC_ATTRIBUTE = "uscc"


def bad(description: str) -> Problem:
    return Problem(400, "Bad request", description)


def discovery(ctx: PortalContext) -> dict[str, Any]:
    base = ctx.settings.public_base_url.rstrip("/") + "/open311/v2/"
    return {"changeset": CHANGESET, "contact": "市场监督管理局 特种设备安全监察科", "key_service": (
        "api_key: a platform token (JWT) of an integrator, issued by the city's identity provider"),
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": CHANGESET, "type": "production",
                       "formats": ["text/xml", "application/json"]}]}


def services() -> list[dict[str, Any]]:
    return [{"service_code": code, "service_name": name, "description": f"特种设备安全问题反映：{name}",
             "metadata": True, "type": "realtime", "keywords": "特种设备,安全", "group": "特种设备"}
            for code, name in REPORT_CATEGORIES.items()]


def definition(code: str) -> dict[str, Any]:
    if code not in REPORT_CATEGORIES:
        raise Problem(404, "Not found", f"service_code {code} is not provided")
    return {"service_code": code, "attributes": [{
        "variable": True, "code": USCC_ATTRIBUTE, "datatype": "string", "required": True, "order": 1,
        "datatype_description": "18 characters, GB 32100-2015",
        "description": "统一社会信用代码 of the unit (使用单位) the report is about", "values": []}]}


async def _caller(ctx: PortalContext, api_key: str | None) -> Principal:
    if not api_key:
        raise bad("api_key is required")
    try:
        principal = await ctx.runtime.authenticator.verify_async(api_key)
    except Problem as exc:
        raise Problem(403, "Forbidden", "api_key is not valid") from exc
    if principal.is_admin or principal.role == "integrator" and principal.has_scope(WRITE_SCOPE):
        return principal
    raise Problem(403, "Forbidden", f"api_key of a {principal.describe()} may not use this endpoint")


def _number(fields: dict[str, str], name: str) -> float | None:
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise bad(f"{name} must be a number") from None
    if not math.isfinite(value):
        raise bad(f"{name} must be a finite number")
    return value


async def create_request(ctx: PortalContext, fields: dict[str, str]) -> list[dict[str, Any]]:
    """POST requests: a report about the unit named by ``attribute[uscc]``."""
    principal = await _caller(ctx, fields.get("api_key"))
    code = fields.get("service_code", "")
    if code not in REPORT_CATEGORIES:
        raise bad(f"service_code must be one of {', '.join(REPORT_CATEGORIES)}")
    uscc = fields.get(f"attribute[{USCC_ATTRIBUTE}]", "").strip().upper()
    if not re.fullmatch(USCC_PATTERN, uscc):
        raise bad(f"attribute[{USCC_ATTRIBUTE}] must be the unit's 18-character USCC")
    unit = await repo.get_enterprise(ctx.session, uscc)
    if unit is None or unit.revision == 0:
        raise Problem(404, "Not found", f"no unit {uscc} is known to the portal")
    if not principal.covers(unit.jurisdiction_code):
        raise Problem(403, "Forbidden", f"the unit lies outside your jurisdiction ({principal.jurisdiction})")
    lat, lon = _number(fields, "lat"), _number(fields, "long")
    if (lat is None) != (lon is None):
        raise bad("lat and long go together")
    location = {"lat": lat, "lon": lon} if lat is not None else (
        {"lat": unit.lat, "lon": unit.lon} if unit.lat is not None and unit.lon is not None else None)
    try:
        body = ReportIn(category=code, description=fields.get("description") or "", location=location)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = {"location": "lat/long"}.get(str(first["loc"][0]), str(first["loc"][0]))
        raise bad(f"{field}: {first['msg']}") from exc
    try:
        receipt = await feedback.file_report(ctx, uscc, body, channel="open311")
    except Problem as exc:
        raise bad(exc.detail) from exc
    return [{"service_request_id": receipt.report_id, "token": receipt.receipt,
             "service_notice": LABELS["received"][1], "account_id": None}]


def _request(row: Report) -> dict[str, Any]:
    return {"service_request_id": row.id, "status": OPEN311_STATUS[row.status], "status_notes": LABELS[row.status][1],
            "service_name": REPORT_CATEGORIES[row.category], "service_code": row.category,
            "description": row.description, "agency_responsible": AGENCY, "service_notice": None,
            "requested_datetime": row.submitted_at, "updated_datetime": row.status_at, "expected_datetime": None,
            "address": None, "address_id": None, "zipcode": None, "lat": row.lat, "long": row.lon, "media_url": None}


async def token(ctx: PortalContext, api_key: str | None, value: str) -> list[dict[str, Any]]:
    await _caller(ctx, api_key)
    row = await repo.by_receipt(ctx.session, value)
    if row is None:
        raise Problem(404, "Not found", "no request has this token")
    return [{"service_request_id": row.id, "token": row.receipt}]


async def one_request(ctx: PortalContext, api_key: str | None, request_id: str) -> list[dict[str, Any]]:
    await _caller(ctx, api_key)
    row = await repo.get_report(ctx.session, request_id)
    if row is None:
        raise Problem(404, "Not found", f"service_request_id {request_id} does not exist")
    return [_request(row)]


def _split(text: str | None) -> list[str] | None:
    parts = [p.strip() for p in (text or "").split(",") if p.strip()]
    return parts or None


def _moment(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise bad(f"{name} must be a W3C (ISO 8601) date-time, e.g. 2026-06-15T10:00:00+08:00") from None
    if moment.tzinfo is None:
        raise bad(f"{name} must carry its offset")
    return moment


async def list_requests(ctx: PortalContext, api_key: str | None, params: dict[str, str | None]) -> list[dict[str, Any]]:
    """GET requests: the last 90 days by default, newest first, at most 1000."""
    await _caller(ctx, api_key)
    end = _moment(params.get("end_date"), "end_date") or ctx.now() + timedelta(seconds=1)
    start = _moment(params.get("start_date"), "start_date") or end - DEFAULT_WINDOW
    if start > end:
        raise bad("start_date must not be after end_date")
    statuses = _split(params.get("status"))
    if statuses and not set(statuses) <= {"open", "closed"}:
        raise bad("status must be open, closed or both")
    ours = [s for s, theirs in OPEN311_STATUS.items() if theirs in statuses] if statuses else None
    rows = await repo.find_reports(ctx.session, ids=_split(params.get("service_request_id")),
                                   codes=_split(params.get("service_code")), statuses=ours, start=start, end=end,
                                   limit=MAX_REQUESTS)
    return [_request(r) for r in rows]
