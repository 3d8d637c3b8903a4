"""What a scan opens: the public page (HTML, server-rendered, readable without JavaScript) and
its JSON. No login; unknown and revoked tokens get the same friendly 404."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, cast
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from starlette.types import Receive, Scope, Send

from services.portal.access import TOKEN_PATTERN, Client, Ctx, PublicCtx, Token, client_in, client_of
from services.portal.context import Resources, render
from services.portal.feedback.schemas import RatingIn
from services.portal.qr import label_pdf, service
from services.portal.qr.schemas import PublicView
from shared.app import ServiceRuntime
from shared.auth import PUBLIC
from shared.context import unit_of_work
from shared.contracts.portal import REPORT_CATEGORIES
from shared.http.openapi import problem_responses
from shared.http.problems import Problem

router = APIRouter()
LOOKUP_PROBLEMS = problem_responses(
    404, 429, 503, s404="no such QR code, or it was revoked (both answer alike)",
    s429="too many lookups (or unknown codes) from this client: wait Retry-After seconds",
    s503="registry, which resolves codes not seen before, cannot be reached: try again after Retry-After")
JSON_HEADERS = {"Cache-Control": "public, max-age=30"}
PAGE_HEADERS = {"Cache-Control": "public, max-age=60"}
_TOKEN = re.compile(TOKEN_PATTERN)
Header = tuple[bytes, bytes]


async def _remember_once(runtime: ServiceRuntime, token: str, client: str) -> service.Shown:
    """``service.remember`` in a unit of work of its own (the hot path has none), committed before
    it returns; once for the lookups of one token that find it not remembered at once
    (``SingleFlight``)."""
    async def from_read_model() -> service.Shown:
        async with unit_of_work(runtime, PUBLIC) as ctx:
            return await service.remember(ctx, token, client)

    return await cast(Resources, runtime.resources).remembering.run(token, from_read_model)


class RememberedViewRoute(APIRoute):
    """The hot path of a scan (issue 11): a valid token whose view this process remembers is
    answered by the route's own ASGI app, which counts the lookup against the client's limits
    (past them, the endpoint answers the refusal as it answers any) and sends what the view holds
    encoded already (``answer``): no ``Request``, exit stacks, parameter solving or unit of work.
    Anything else (a token not remembered, or not matching its pattern) goes through the
    endpoint as declared, and so does what the OpenAPI document describes."""

    def answer(self, runtime: ServiceRuntime, token: str, shown: service.Shown,
               scope: Scope) -> tuple[list[Header], bytes]:
        """The headers (but Content-Length) and body of the 200 answer."""
        raise NotImplementedError

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        declared = self.app

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            token = scope["path_params"]["token"]
            runtime = scope["app"].state.runtime
            views = cast(Resources, runtime.resources).views
            shown = views.get(token, runtime.clock().timestamp()) if _TOKEN.fullmatch(token) else None
            if shown is None:
                await declared(scope, receive, send)
                return
            try:
                service.throttle(runtime, client_in(runtime.settings.trust_forwarded_for, scope))
            except Problem:  # refused, nothing counted: the endpoint answers it (a page, or a problem)
                await declared(scope, receive, send)
                return
            headers, body = self.answer(runtime, token, shown, scope)
            await send({"type": "http.response.start", "status": 200,
                        "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        self.app = app


def _headers(media_type: str, headers: dict[str, str]) -> list[Header]:
    return [(b"content-type", media_type.encode()), *((k.lower().encode(), v.encode()) for k, v in headers.items())]


class RememberedJsonRoute(RememberedViewRoute):
    headers = _headers("application/json", JSON_HEADERS)

    def answer(self, runtime: ServiceRuntime, token: str, shown: service.Shown,
               scope: Scope) -> tuple[list[Header], bytes]:
        return self.headers, shown.json


class RememberedPageRoute(RememberedViewRoute):
    headers = _headers("text/html; charset=utf-8", PAGE_HEADERS)

    def answer(self, runtime: ServiceRuntime, token: str, shown: service.Shown,
               scope: Scope) -> tuple[list[Header], bytes]:
        query = scope.get("query_string", b"").decode("latin-1")
        rated = dict(parse_qsl(query, keep_blank_values=True)).get("rated") == "1" if query else False  # the last
        return self.headers, unit_page(runtime, token, shown, rated)


def unit_page(runtime: ServiceRuntime, token: str, shown: service.Shown, rated: bool) -> bytes:
    """The unit's page (200, no form errors) for what ``shown`` holds, rendered once per entry."""
    page = shown.pages.get(rated)
    if page is None:
        page = shown.pages[rated] = render(runtime, "unit.html", token=token, page=shown.view, rated=rated,
                                           errors={}, categories=REPORT_CATEGORIES).encode()
    return page


# Routers whose routes the app holds directly (create_service_app's ``hot_routes``): FastAPI
# matches an included router's routes twice a request, once to find it, once inside.
json_router = APIRouter(route_class=RememberedJsonRoute)
page_router = APIRouter(route_class=RememberedPageRoute)


@json_router.get("/api/v1/public/qr/{token}", tags=["public"], responses=LOOKUP_PROBLEMS,
                 response_model=PublicView,
                 summary="What a scanned code shows (no login): the unit's grade, equipment, ratings")
async def public_view(token: Token, request: Request) -> Response:
    # What RememberedJsonRoute did not answer: no unit of work while the view is remembered,
    # and its JSON encoded once when it was, so no response-model validation; the runtime and
    # client are read here rather than as dependencies.
    runtime, client = request.app.state.runtime, await client_of(request)
    shown = service.remembered(runtime, token, client) or await _remember_once(runtime, token, client)
    return Response(shown.json, media_type="application/json", headers=JSON_HEADERS)


def problem_page(ctx: PublicCtx, problem: Problem) -> HTMLResponse:
    """A problem as a page a person can read (404, 429, 503), with the problem's headers."""
    html = ctx.render("problem.html", status=problem.status, detail=problem.detail,
                      retry_after=(problem.headers or {}).get("Retry-After"))
    return HTMLResponse(html, status_code=problem.status, headers=problem.headers)


async def render_unit(ctx: PublicCtx, token: str, client: str, *, status: int = 200, rated: bool = False,
                      errors: dict[str, str] | None = None, form: RatingIn | None = None) -> HTMLResponse:
    if not _TOKEN.fullmatch(token):
        return problem_page(ctx, Problem(404, "Not found", "this QR code is not valid"))
    try:
        shown = await service.cached_view(ctx, token, client)
    except Problem as problem:
        return problem_page(ctx, problem)
    if status == 200 and not errors:
        return HTMLResponse(unit_page(ctx.runtime, token, shown, rated), headers=PAGE_HEADERS)
    html = ctx.render("unit.html", token=token, page=shown.view, rated=rated, errors=errors or {},
                      categories=REPORT_CATEGORIES)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"} if status != 200 else
                        PAGE_HEADERS)


@page_router.get("/q/{token}", include_in_schema=False)
async def public_page(token: str, ctx: PublicCtx, client: Client, request: Request) -> HTMLResponse:
    """The page a QR label opens (一企一码 or 风险防控码), when RememberedPageRoute did not answer it."""
    return await render_unit(ctx, token, client, rated=request.query_params.get("rated") == "1")


LABEL_PROBLEMS = problem_responses(404, 503, s404="no such QR code, or it was revoked",
                                   s503="registry cannot be reached")
LabelSize = Annotated[Literal["a6", "sticker"], Query(description="A6 card or a 60x80 mm sticker")]


@router.get("/api/v1/labels/{token}.svg", tags=["QR codes"], response_class=Response,
            responses={200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}}}, **LABEL_PROBLEMS},
            summary="A printable label (SVG, in mm): the code, the name, what scanning shows, 96333 for lifts")
async def label(token: Token, ctx: Ctx, size: LabelSize = "a6") -> Response:
    svg = service.label_svg(ctx, await service.label(ctx, token, size))
    return Response(svg, media_type="image/svg+xml",
                    headers={"Content-Disposition": f'inline; filename="label-{size}.svg"'})


@router.get("/api/v1/labels/{token}.pdf", tags=["QR codes"], response_class=Response,
            responses={200: {"content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                             "description": "one page the label's size, its Chinese text in the CID font "
                                            "STSong-Light (supplied by the reader, not embedded)"},
                       **LABEL_PROBLEMS},
            summary="The same label as PDF: one page of A6 or 60x80 mm, the same layout as the SVG")
async def label_as_pdf(token: Token, ctx: Ctx, size: LabelSize = "a6") -> Response:
    pdf = label_pdf.render(await service.label(ctx, token, size))
    return Response(pdf, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="label-{size}.pdf"'})
