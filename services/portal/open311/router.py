"""Open311 GeoReport v2 at ``/open311/v2``: ``…/<resource>.json`` or ``….xml``. Errors on this
path answer in the specification's own format (``[{"code", "description"}]`` or
``<errors><error>…``), validation failures included (400), never a problem document."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from services.portal.access import PublicCtx
from services.portal.domain.open311 import to_xml
from services.portal.open311 import service
from services.portal.open311.schemas import (
    Discovery,
    Open311Error,
    RequestCreated,
    Service,
    ServiceDefinition,
    ServiceRequest,
    TokenOut,
)
from shared.http.problems import Problem

Format = Annotated[Literal["json", "xml"], Path(description="the response format")]
ApiKey = Annotated[str, Query(min_length=1, max_length=4096, description=(
    "a platform token (JWT) of an integrator: reports are the public's own words, so reading them needs one too"))]
XML = "text/xml"
MAX_FORM_BYTES = 64 * 1024


def _body(data: Any, fmt: str, root: str, status: int = 200) -> Response:
    if fmt == "xml":
        return Response(to_xml(root, data), status_code=status, media_type=f"{XML}; charset=utf-8")
    return Response(json.dumps(jsonable_encoder(data), ensure_ascii=False), status_code=status,
                    media_type="application/json")


def _error(request: Request, status: int, description: str) -> Response:
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    return _body([{"code": status, "description": description}], fmt, "errors", status)


class Open311Route(APIRoute):
    """Answers validation failures and problems in GeoReport v2's error format."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first.get("loc", ()) if p not in ("path", "query")) or "request"
                return _error(request, 400, f"{field}: {first.get('msg', 'invalid')}")
            except Problem as problem:
                return _error(request, problem.status, problem.detail)

        return handle


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=Open311Route)


def _ok(model: Any) -> dict[int | str, dict[str, Any]]:
    return {200: {"model": model, "content": {XML: {"schema": {"type": "string"}}}}}


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    meaning = {400: "a required field is missing or malformed", 403: "api_key is missing its rights or invalid",
               404: "no such service or request"}
    xml = {XML: {"schema": {"type": "string"}}}
    return {s: {"model": list[Open311Error], "description": meaning[s], "content": xml} for s in statuses}


FORM_BODY = {"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": {
    "type": "object", "required": ["api_key", "service_code", "attribute[uscc]", "description"],
    "properties": {
        "api_key": {"type": "string", "description": "a platform token (JWT) of an integrator"},
        "service_code": {"type": "string", "enum": list(service.REPORT_CATEGORIES)},
        "attribute[uscc]": {"type": "string", "pattern": service.USCC_PATTERN, "description": "the unit's USCC"},
        "description": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": r"\S"},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "long": {"type": "number", "minimum": -180, "maximum": 180},
        "address_string": {"type": "string"}, "email": {"type": "string", "description": "accepted, never stored"},
        "first_name": {"type": "string"}, "last_name": {"type": "string"}, "phone": {"type": "string"},
        "device_id": {"type": "string"}, "account_id": {"type": "string"}, "media_url": {"type": "string"},
    }}}}}}


@router.get("/discovery.{format}", responses={**_ok(Discovery), **_errors(400)}, summary="Service discovery")
async def discovery(format: Format, ctx: PublicCtx) -> Response:
    return _body(service.discovery(ctx), format, "discovery")


@router.get("/services.{format}", responses={**_ok(list[Service]), **_errors(400)},
            summary="The services (report categories)")
async def services(format: Format,
                   jurisdiction_id: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    return _body(service.services(), format, "services")


@router.get("/services/{service_code}.{format}", responses={**_ok(ServiceDefinition), **_errors(400, 404)},
            summary="A service's definition (its attributes)")
async def definition(service_code: Annotated[str, Path(max_length=40)], format: Format) -> Response:
    return _body(service.definition(service_code), format, "service_definition")


@router.post("/requests.{format}", status_code=201, openapi_extra=FORM_BODY,
             responses={201: {"model": list[RequestCreated], "content": {XML: {"schema": {"type": "string"}}}},
                        **_errors(400, 403, 404)},
             summary="File a request (form-encoded, with api_key): a report about a unit")
async def create_request(format: Format, ctx: PublicCtx, request: Request) -> Response:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise service.bad("the body must be application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise service.bad(f"the form may be at most {MAX_FORM_BYTES} bytes")
    fields = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return _body(await service.create_request(ctx, fields), format, "service_requests", 201)


@router.get("/requests.{format}", responses={**_ok(list[ServiceRequest]), **_errors(400, 403)},
            summary="Requests (newest first; the last 90 days unless dated; at most 1000)")
async def list_requests(
    format: Format, ctx: PublicCtx, api_key: ApiKey,
    service_request_id: Annotated[str | None, Query(max_length=4000, description="comma-separated ids")] = None,
    service_code: Annotated[str | None, Query(max_length=400, description="comma-separated codes")] = None,
    start_date: Annotated[str | None, Query(max_length=40, description="W3C date-time")] = None,
    end_date: Annotated[str | None, Query(max_length=40, description="W3C date-time")] = None,
    status: Annotated[str | None, Query(max_length=20, description="open, closed or both, comma-separated")] = None,
) -> Response:
    params = {"service_request_id": service_request_id, "service_code": service_code, "start_date": start_date,
              "end_date": end_date, "status": status}
    return _body(await service.list_requests(ctx, api_key, params), format, "service_requests")


@router.get("/requests/{service_request_id}.{format}", summary="One request and its status",
            responses={**_ok(list[ServiceRequest]), **_errors(400, 403, 404)})
async def one_request(service_request_id: Annotated[str, Path(max_length=64)], format: Format, ctx: PublicCtx,
                      api_key: ApiKey) -> Response:
    return _body(await service.one_request(ctx, api_key, service_request_id), format, "service_requests")


@router.get("/tokens/{token}.{format}", responses={**_ok(list[TokenOut]), **_errors(400, 403, 404)},
            summary="The request a token (returned when it was filed) stands for")
async def token(token: Annotated[str, Path(max_length=64)], format: Format, ctx: PublicCtx,
                api_key: ApiKey) -> Response:
    return _body(await service.token(ctx, api_key, token), format, "service_requests")
