"""Make every service's OpenAPI document say what the shared machinery really answers.

FastAPI documents what a route declares; the platform adds behaviour around every route that
it cannot see: RFC 9457 problems for every error (validation included), bearer authentication
(401/403), the ``Idempotency-Key`` middleware on writes (400/409/422, ``Idempotent-Replayed``),
503 with ``Retry-After`` while the database cannot be reached (routes with a unit of work),
``x-request-id`` on every response, 404 for a path naming something that does not exist, and no
NUL character in any string a request carries (``shared.http.nul``).
``install_openapi`` (called by ``create_service_app``) post-processes the generated document so
that each operation lists those answers; a route declares only what is its own, with
``problem_responses``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant

from shared.auth import current_principal
from shared.http.idempotency import KEY_PATTERN, MAX_KEY_LENGTH, NOT_STORED_STATUSES
from shared.http.problems import PROBLEM_JSON
from shared.http.routes import api_routes

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SECURITY_SCHEME = "bearerAuth"
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. Validation failures name each field in `errors`; "
                   "some problems add members of their own (e.g. `reasons`).",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "URI reference identifying the problem type"},
        "title": {"type": "string", "description": "short, human-readable summary of the problem type"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599, "description": "the HTTP status code"},
        "detail": {"type": "string", "description": "explanation specific to this occurrence"},
        "instance": {"type": "string", "description": "the request path this problem is about"},
        "errors": {
            "type": "array",
            "description": "one entry per invalid field",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

# What each status means when the shared machinery answers it; a route's own description wins.
DESCRIPTIONS = {
    400: "Bad request (e.g. a malformed `Idempotency-Key`)",
    401: "Missing or invalid bearer token",
    403: "The token is valid but may not do this",
    404: "What the path names does not exist (or is not visible to the caller)",
    409: "Conflict (for writes: a request with this `Idempotency-Key` is still being processed: retry "
         "after `Retry-After` seconds; or it was applied without its response being recorded)",
    412: "Precondition failed: `If-Match` does not match the current ETag",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed: `errors` names each field (for writes, also: this `Idempotency-Key` "
         "was used with a different request)",
    428: "Precondition required: send `If-Match` with the ETag of your last read",
    429: "Too many requests",
    503: "The database cannot be reached right now: retry after `Retry-After` seconds (with the same "
         "`Idempotency-Key` for a write: it is never applied twice)",
}

REQUEST_ID_HEADER: dict[str, Any] = {
    "description": "The request's id (the `x-request-id` sent, or a new one): quote it when reporting a problem",
    "required": True,
    "schema": {"type": "string"},
}
REPLAYED_HEADER: dict[str, Any] = {
    "description": "`true` when this is the stored response of an earlier request with the same `Idempotency-Key`",
    "schema": {"type": "string", "enum": ["true"]},
}
WWW_AUTHENTICATE_HEADER: dict[str, Any] = {
    "description": "The authentication scheme (`Bearer`, with `error=\"invalid_token\"` for a bad token)",
    "schema": {"type": "string"},
}
RETRY_AFTER_HEADER: dict[str, Any] = {
    "description": "Seconds to wait before retrying",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
HEADERS = {"RequestId": REQUEST_ID_HEADER, "IdempotentReplayed": REPLAYED_HEADER,
           "WWWAuthenticate": WWW_AUTHENTICATE_HEADER, "RetryAfter": RETRY_AFTER_HEADER}
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes a retried write safe (IETF httpapi idempotency-key draft): a replay with the same "
                   "request returns the first response with `Idempotent-Replayed: true`; the same key with a "
                   "different request gets 422; a retry while the first is still processing gets 409. Keys are "
                   "scoped to the caller and apply only to authenticated requests. A key is honoured for a week "
                   "(the deployment's `SAFEGRID_IDEMPOTENCY_KEY_TTL_H`) from the request that claimed it; after "
                   "that a request with it is a new request.",
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "pattern": KEY_PATTERN},
}


def problem_response(status: int, description: str | None = None) -> dict[str, Any]:
    """One ``responses=`` entry: a problem document with ``status``."""
    return {"description": description or DESCRIPTIONS.get(status) or HTTPStatus(status).phrase,
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}}}


def problem_responses(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that answers problems of its own, beyond those the platform
    documents for every route (401/403 with a token, 404 with path parameters, 422, and the
    Idempotency-Key answers on writes).

    Use it on the decorator, merged with anything else the route declares::

        @router.put("/enterprises/{uscc}/location", responses=problem_responses(412, 428))
        @router.post("/models", responses={**problem_responses(409), 201: {"description": "loaded"}})
        @router.get("/qr/{token}", responses=problem_responses(410, s410="the QR token was revoked"))

    A status's description defaults to the platform's wording (``DESCRIPTIONS``); pass
    ``s<status>="..."`` to say what the route means by it. A route that declares 428 answers it
    for a missing ``If-Match``, so the header it takes (``Annotated[str | None, Header()]``: the
    use case, not validation, refuses its absence, with the current ETag in the detail) is
    documented as required.
    """
    return {status: problem_response(status, descriptions.get(f"s{status}")) for status in statuses}


def link(method: str, path: str, description: str = "", **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to the operation ``method path``: what a response lets a client (and the
    stateful conformance run) call next, each parameter a runtime expression, e.g.::

        responses={201: {"links": {"GetEnterprise": link("GET", "/api/v1/enterprises/{uscc}",
                                                          uscc="$response.body#/uscc")}}}
    """
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "parameters": parameters,
            **({"description": description} if description else {})}


def install_openapi(app: FastAPI, database: Callable[..., Any]) -> None:
    """Make ``app.openapi`` return FastAPI's document post-processed by ``augment`` (once: the
    result is cached as FastAPI caches its own). ``database`` is the dependency that opens a
    request's unit of work: the routes using it may answer 503."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = augment(generate(), app.routes, database)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    """True when the route (through any depth of dependencies) depends on ``call``."""
    return any(dep.call is call or depends_on(dep, call) for dep in dependant.dependencies)


def requires_token(dependant: Dependant) -> bool:
    return depends_on(dependant, current_principal)


def augment(schema: dict[str, Any], routes: Iterable[Any], database: Callable[..., Any] | None = None
            ) -> dict[str, Any]:
    """Add the platform's answers to every operation of ``schema`` (in place; returned too)."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["Problem"] = PROBLEM_SCHEMA
    components.setdefault("headers", {}).update(HEADERS)
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT",
        "description": "A JWT from the city's identity provider (development: `safegrid token --role ...`)",
    }
    paths = schema.get("paths", {})
    for route in api_routes(routes):
        if not route.include_in_schema:
            continue
        for method in route.methods or ():
            operation = paths.get(route.path_format, {}).get(method.lower())
            if operation is not None:
                _augment_operation(operation, method.lower(), route, database)
    _refuse_nul_in_requests(schema)
    for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's 422 shapes, now unreferenced
        if unused in schemas and json.dumps(schema).count(f'"#/components/schemas/{unused}"') == 0:
            del schemas[unused]
    return schema


NO_NUL: dict[str, Any] = {"pattern": r"\u0000"}  # as ``not``: a string without U+0000


def _refuse_nul_in_requests(schema: dict[str, Any]) -> None:
    """Every string ``shared.http.nul`` refuses a NUL in (path and query parameters, JSON bodies
    and the components they reference, at any depth) says ``not: {pattern: \u0000}``. Other
    media types (multipart, CSV, YAML) are their readers' to refuse, and keep their schemas."""
    components = schema.get("components", {}).get("schemas", {})
    seen: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                visit(item)
            return
        if not isinstance(node, dict):
            return
        ref = node.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rpartition("/")[2]
            if name not in seen and name in components:
                seen.add(name)
                visit(components[name])
        if (node.get("type") == "string" and "not" not in node
                and not {"enum", "const", "format", "contentEncoding"} & set(node)):
            node["not"] = NO_NUL
        for key, value in node.items():
            if key != "not" and isinstance(value, dict | list):
                visit(value)

    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for parameter in operation.get("parameters", []):
                if parameter.get("in") in ("path", "query"):
                    visit(parameter.get("schema"))
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                if media_type == "application/json" or media_type.endswith("+json"):
                    visit(media.get("schema"))


def _augment_operation(operation: dict[str, Any], method: str, route: Any, database: Callable[..., Any] | None
                       ) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    parameters: list[dict[str, Any]] = operation.get("parameters", [])
    statuses: set[int] = set()
    if parameters or "requestBody" in operation or method in WRITE_METHODS:
        statuses.add(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.add(404)
    authenticated = requires_token(route.dependant)
    if authenticated:
        operation["security"] = [{SECURITY_SCHEME: []}]
        statuses |= {401, 403}
    if method in WRITE_METHODS:
        statuses |= {400, 409, 422}
        if not any(p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key" for p in parameters):
            operation["parameters"] = [*parameters, IDEMPOTENCY_KEY_PARAMETER]
    if database is not None and depends_on(route.dependant, database):
        statuses.add(503)
    for status in sorted(statuses | {int(s) for s in responses if s.isdigit() and 400 <= int(s) < 500}):
        _ensure_problem(responses, status)
    if "428" in responses:
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "header" and parameter.get("name", "").lower() == "if-match":
                _require(parameter)
    operation["responses"] = responses = dict(sorted(responses.items()))
    for status, response in responses.items():
        headers = response.setdefault("headers", {})
        headers.setdefault("x-request-id", {"$ref": "#/components/headers/RequestId"})
        code = int(status) if str(status).isdigit() else None
        replayable = code is None or (code < 500 and code not in NOT_STORED_STATUSES)
        if method in WRITE_METHODS and replayable:  # any caller with a valid token gets replays
            headers.setdefault("Idempotent-Replayed", {"$ref": "#/components/headers/IdempotentReplayed"})
        if code == 401:
            headers.setdefault("WWW-Authenticate", {"$ref": "#/components/headers/WWWAuthenticate"})
        if code == 503 or (code == 409 and method in WRITE_METHODS):
            headers.setdefault("Retry-After", {"$ref": "#/components/headers/RetryAfter"})


def _require(parameter: dict[str, Any]) -> None:
    """A header the route answers 428 without: required, a string (a header is never null), and
    not blank (a blank precondition is a missing one: 428 too)."""
    parameter["required"] = True
    schema = parameter.get("schema", {})
    options = [option for option in schema.get("anyOf", ()) if option.get("type") != "null"]
    if len(options) == 1:
        schema = {**{k: v for k, v in schema.items() if k != "anyOf"}, **options[0]}
    parameter["schema"] = {**schema, "minLength": 1, "pattern": r"\S"}


def _ensure_problem(responses: dict[str, Any], status: int) -> None:
    """The response for ``status`` carries the problem schema; a route's own wording stays. The
    default 422 of FastAPI (``HTTPValidationError``) is replaced: the handler answers a Problem."""
    entry = responses.setdefault(str(status), {})
    default = problem_response(status)
    if not entry.get("description") or entry.get("description") == "Validation Error":
        entry["description"] = default["description"]
    content = entry.setdefault("content", {})
    json_schema = content.get("application/json", {}).get("schema", {})
    if json_schema.get("$ref", "").endswith("/HTTPValidationError") or not json_schema:
        content.pop("application/json", None)
    content[PROBLEM_JSON] = {"schema": PROBLEM_REF}
