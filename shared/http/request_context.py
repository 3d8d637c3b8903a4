"""Every request's context: its id, its trace, its log binding and its latency metric.

A plain ASGI middleware (``create_service_app`` installs it outermost): the route runs in the
request's own task, with no task group or memory streams in between as Starlette's
``BaseHTTPMiddleware`` puts there, and the response passes through untouched but for its start
message, which gains ``X-Request-ID``. For the request it:

- takes the caller's ``X-Request-ID`` or makes one, and answers it in ``X-Request-ID``;
- continues the caller's W3C ``traceparent`` when it is valid, else starts a trace;
- sets ``current_cause`` (request id and trace), so that every event the request publishes
  carries them, and binds ``request_id`` for structlog;
- observes ``safegrid_http_request_duration_seconds`` with the service, the method, the route's
  template (``/api/v1/public/qr/{token}``, never the raw path; ``unmatched`` when no route took
  the request) and the status sent (500 when the app raised before answering).

An exception the app raises goes on to ``ServerErrorMiddleware``, which answers the 500 problem.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.events.context import Cause, current_cause
from shared.events.envelope import new_traceparent, trace_id_of
from shared.observability import metrics

REQUEST_ID = b"x-request-id"
TRACEPARENT = b"traceparent"


class RequestContext:
    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._latency: dict[tuple[str, str, int], Any] = {}  # the histogram's children, found once

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = incoming = None
        for name, value in scope["headers"]:  # the first of each, as Starlette's Headers.get reads it
            if name == REQUEST_ID and request_id is None:
                request_id = value.decode("latin-1")
            elif name == TRACEPARENT and incoming is None:
                incoming = value.decode("latin-1")
        request_id = request_id or uuid.uuid4().hex
        traceparent = incoming if trace_id_of(incoming) else new_traceparent()
        cause = current_cause.set(Cause(traceparent=traceparent, request_id=request_id))
        bound = structlog.contextvars.bind_contextvars(request_id=request_id)
        id_header = (REQUEST_ID, request_id.encode("latin-1"))
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [header for header in message.get("headers", ()) if header[0].lower() != REQUEST_ID]
                message = {**message, "headers": [*headers, id_header]}
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            current_cause.reset(cause)
            structlog.contextvars.reset_contextvars(**bound)
            route = getattr(scope.get("route"), "path", "unmatched")
            key = (scope["method"], route, status)
            latency = self._latency.get(key)
            if latency is None:
                latency = self._latency[key] = metrics.http_requests.labels(self.service, key[0], route, str(status))
            latency.observe(elapsed)
