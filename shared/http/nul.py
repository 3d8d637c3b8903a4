"""No NUL character (U+0000) in anything the API accepts (issue 8, "crafted input gives 500s").

PostgreSQL text cannot hold a NUL (SQLite can: the same request is a 201 there and a 500 on
PostgreSQL), and no field of the platform means one. ``RefuseNul`` (installed by
``create_service_app`` for every service) refuses it before any route runs, in path parameters,
query parameters and JSON bodies (keys and values, at any depth; a GET's, HEAD's or OPTIONS's
body is not read, as no route reads one), as one 422 problem naming each field as request
validation does. What it cannot see (a multipart part, a text body) and
PostgreSQL then refuses (22021, 22P05) is mapped to a 422 as well, by ``install_problem_handlers``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.http.asgi import buffered_body
from shared.http.problems import TYPE_BASE, Problem, problem_response
from shared.http.routes import api_routes

NUL = "\x00"
JSON_NUL = b"\\u0000"  # how a NUL appears in JSON text (a raw one is not JSON: its parser says so)
MESSAGE = "must not contain the NUL character (U+0000)"
WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})  # no route reads a body on these: never buffered


def nul_fields(value: Any, location: tuple[str, ...] = ()) -> list[str]:
    """The dotted names (``contacts.0.name``) of every string in ``value`` holding a NUL; a key
    holding one is named with the NUL written as ``\\u0000``."""
    if isinstance(value, str):
        return [".".join(location) or "body"] if NUL in value else []
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key)
            if NUL in name:
                found.append(".".join((*location, name.replace(NUL, "\\u0000"))))
            found += nul_fields(item, (*location, name))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += nul_fields(item, (*location, str(index)))
    return found


def _path_fields(scope: Scope) -> list[str]:
    path: str = scope.get("path", "")
    if NUL not in path:
        return []
    app = scope.get("app")
    for route in api_routes(app.router.routes) if app is not None else ():
        match = route.path_regex.match(path)
        if match:
            return [name for name, value in match.groupdict().items() if NUL in value] or ["path"]
    return ["path"]


def _query_fields(scope: Scope) -> list[str]:
    query = scope.get("query_string", b"").decode("latin-1")
    if "%00" not in query and NUL not in query:
        return []
    pairs = parse_qsl(query, keep_blank_values=True)  # as Starlette reads it
    return [(key.replace(NUL, "\\u0000")) for key, value in pairs if NUL in key or NUL in value]


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type = value.split(b";")[0].strip().lower()
            return media_type == b"application/json" or media_type.endswith(b"+json")
    return False


class RefuseNul:
    """ASGI middleware: a request whose path, query or JSON body holds a NUL gets a 422 problem."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        fields = _path_fields(scope) + _query_fields(scope)
        if scope["method"] not in WITHOUT_BODY and _is_json(scope):
            body, receive = await buffered_body(receive)
            if JSON_NUL in body:
                try:
                    fields += nul_fields(json.loads(body))
                except ValueError:  # not JSON: the route's own parsing answers it
                    pass
        if not fields:
            await self.app(scope, receive, send)
            return
        errors = [{"field": name, "message": MESSAGE} for name in fields]
        detail = "; ".join(f"{name}: {MESSAGE}" for name in fields[:5])
        problem = Problem(422, "Validation failed", detail, type=TYPE_BASE + "validation", errors=errors)
        await problem_response(problem, Request(scope))(scope, receive, send)
