"""RFC 9457 problem details for every error path, validation included. No stack traces leave."""

from __future__ import annotations

from typing import Any

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.db import database_unavailable, sqlstate
from shared.http.routes import methods_at, route_path

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://safegrid.dev/problems/"
# PostgreSQL refusing a character of the request: 22021 character_not_in_repertoire (a NUL in
# text), 22P05 untranslatable_character (\u0000 in jsonb). Bad input, never a server error.
UNSTORABLE_CHARACTER_STATES = frozenset({"22021", "22P05"})
RETRY_AFTER_S = 5  # a database restart or failover takes seconds


class Problem(Exception):
    """Raise from anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        *,
        type: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail or title
        self.type = type or TYPE_BASE + title.lower().replace(" ", "-")
        self.errors = errors
        self.headers = headers
        self.extra = extra


def field_error(field: str, message: str, status: int = 422, title: str = "Validation failed") -> Problem:
    """A problem about one field, in the same shape as request validation errors."""
    return Problem(status, title, f"{field}: {message}", type=TYPE_BASE + "validation",
                   errors=[{"field": field, "message": message}])


def not_found(what: str, ident: str) -> Problem:
    return Problem(404, "Not found", f"{what} {ident} does not exist", type=TYPE_BASE + "not-found")


def conflict(detail: str, **extra: Any) -> Problem:
    return Problem(409, "Conflict", detail, type=TYPE_BASE + "conflict", **extra)


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    body: dict[str, Any] = {"type": problem.type, "title": problem.title, "status": problem.status,
                            "detail": problem.detail}
    if request is not None:
        body["instance"] = request.url.path
    if problem.errors is not None:
        body["errors"] = problem.errors
    body.update(problem.extra)
    return JSONResponse(body, status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "request")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this request's path. Starlette's own 405 names only the
    first route whose path matched, but FastAPI declares one route per method."""
    return sorted(methods_at(request.app, route_path(request.scope)))


def unavailable(request: Request, exc: BaseException) -> JSONResponse:
    """503 with Retry-After. Usually nothing changed (the unit of work did not commit), but a
    connection lost during COMMIT leaves that unknown: a retry with the same Idempotency-Key tells."""
    log.warning("http.database_unavailable", path=request.url.path, error=str(exc)[:200] or type(exc).__name__)
    return problem_response(Problem(503, "Service unavailable", "the database cannot be reached right now: try again "
                                    "after Retry-After seconds (a write retried with its Idempotency-Key is never "
                                    "applied twice)", type=TYPE_BASE + "unavailable",
                                    headers={"Retry-After": str(RETRY_AFTER_S)}), request)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _location(e.get("loc", ())), "message": e.get("msg", "invalid")} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(Problem(422, "Validation failed", detail, type=TYPE_BASE + "validation",
                                        errors=errors), request)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> JSONResponse:
        """The database down or asking to be tried again is a 503; a character PostgreSQL cannot
        store is the request's fault (422: the safety net behind ``shared.http.nul``); any other
        database error stays an unexpected one (500)."""
        if database_unavailable(exc):
            return unavailable(request, exc)
        if sqlstate(exc) not in UNSTORABLE_CHARACTER_STATES:
            raise exc
        log.info("http.unstorable_character", path=request.url.path, sqlstate=sqlstate(exc))
        message = "holds a character the database cannot store (e.g. NUL, U+0000)"
        return problem_response(Problem(422, "Validation failed", f"request: {message}", type=TYPE_BASE + "validation",
                                        errors=[{"field": "request", "message": message}]), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 409: "Conflict", 412: "Precondition failed", 413: "Payload too large",
                  415: "Unsupported media type", 428: "Precondition required", 429: "Too many requests"}
        title = titles.get(exc.status_code, "HTTP error")
        detail = exc.detail if isinstance(exc.detail, str) else title
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405 and (methods := allowed_methods(request)):
            headers["Allow"] = ", ".join(methods)
        return problem_response(Problem(exc.status_code, title, detail, headers=headers or None), request)

    @app.exception_handler(OSError)
    @app.exception_handler(asyncpg.PostgresError)
    async def _unreachable(request: Request, exc: Exception) -> JSONResponse:
        """What the driver raises, unwrapped, while it connects: refused, timed out, the server
        starting or shutting down."""
        if not database_unavailable(exc):
            raise exc
        return unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.unhandled_error", path=request.url.path)
        return problem_response(Problem(500, "Internal error", "an unexpected error occurred; it was logged",
                                        type=TYPE_BASE + "internal"), request)
