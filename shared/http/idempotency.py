"""``Idempotency-Key`` for writes a mobile app may retry (IETF httpapi idempotency-key draft).

- first request with a key: processed, its response stored;
- replay with the same body: the stored response, with ``Idempotent-Replayed: true``;
- same key, different request: 422;
- same key while the first is still processing: 409 with ``Retry-After`` (a retry takes over once
  the first attempt's lease has run out, e.g. its process died).

Keys are scoped to the authenticated caller, so one caller can never read another's response.
A response that is a server error is not stored: the client may retry it for real, unless its
write committed (an ambiguous COMMIT failure): a committed key is kept. Every key is forgotten
``idempotency_key_ttl_h`` after its claim (``prune_expired_keys``, each service's own job).

One key, one effect. Each claim (the first request, or a retry taking over from an attempt whose
lease ran out) is identified by its claim token, the row's ``created_at``: every later write to
the row is a compare-and-set on that token and the state, so an attempt that lost its claim can
neither mark the key committed (its transaction fails and rolls its write back) nor store or
delete the key. While a request runs, a heartbeat renews its lease, so a retry cannot take over
from an attempt that is still alive.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import delete, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import database_unavailable, utcnow
from shared.http.asgi import buffered_body
from shared.http.problems import PROBLEM_JSON, RETRY_AFTER_S, TYPE_BASE, Problem
from shared.http.routes import methods_at, route_path
from shared.schedule import wait_or_stop

log = structlog.get_logger(__name__)

HEADER = b"idempotency-key"
CLAIM_STATE = "idempotency_claim"
PROCESSING_LEASE = timedelta(seconds=60)  # renewed every third of it while the request runs
MAX_KEY_LENGTH = 200
# Visible ASCII, spaces only inside: what a client can send unchanged through any HTTP hop.
KEY_PATTERN = r"^[!-~](?:[ -~]*[!-~])?$"
_KEY = re.compile(KEY_PATTERN)
NOT_STORED_STATUSES = {401, 403, 409, 429}


def _problem(send: Send, status: int, title: str, detail: str,  # type: ignore[no-untyped-def]
             retry_after: int | None = None):
    body = json.dumps({"type": TYPE_BASE + title.lower().replace(" ", "-"), "title": title,
                       "status": status, "detail": detail}).encode()
    headers = [(b"content-type", PROBLEM_JSON.encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    return _send_response(send, status, headers, body)


async def _send_response(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [*headers, (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        key = dict(scope["headers"]).get(HEADER)
        if key is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] not in methods_at(scope["app"], route_path(scope)):
            # The router answers 404/405: a key must not turn that into a replay or a 422.
            await self.app(scope, receive, send)
            return
        key_text = key.decode("latin-1")
        if len(key_text) > MAX_KEY_LENGTH or not _KEY.match(key_text):
            await _problem(send, 400, "Bad request", f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} visible ASCII "
                           "characters (spaces allowed inside)")
            return

        runtime = scope["app"].state.runtime
        principal = await self._principal(scope, runtime)
        if principal is None:  # no valid credentials: let the route answer 401/403, store nothing
            await self.app(scope, receive, send)
            return

        body, receive = await buffered_body(receive)
        fingerprint = hashlib.sha256(
            b"\n".join([scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body])
        ).hexdigest()
        table = runtime.tables.idempotency_keys

        try:
            state = await self._claim(runtime, table, principal, key_text, fingerprint)
        except Exception as exc:  # outside the app's exception handlers: answer as they would
            if not database_unavailable(exc):
                raise
            await _problem(send, 503, "Service unavailable", "the database cannot be reached right now; nothing was "
                           "changed: try again after Retry-After seconds", retry_after=RETRY_AFTER_S)
            return
        if isinstance(state, datetime):
            token, state = state, "claimed"
        if state == "mismatch":
            await _problem(send, 422, "Idempotency key reused",
                           "this Idempotency-Key was used with a different request")
            return
        if state == "processing":
            # Retry later: when the first attempt's process died, its claim lapses with its lease.
            await _problem(send, 409, "Conflict", "a request with this Idempotency-Key is still being processed; "
                           "retry after Retry-After seconds", retry_after=RETRY_AFTER_S)
            return
        if state == "committed":
            await _problem(send, 409, "Conflict", "the request with this Idempotency-Key was applied but its response "
                           "was not recorded; read the resource instead of retrying")
            return
        if isinstance(state, tuple):
            status, headers, stored = state
            await _send_response(send, status, [*headers, (b"idempotent-replayed", b"true")], stored)
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"]
            elif message["type"] == "http.response.body":
                captured["body"].extend(message.get("body", b""))
            await send(message)

        # The request's unit of work marks the key "committed" in its own transaction (see
        # mark_committed), so a takeover after a crash can never apply the write a second time.
        scope.setdefault("state", {})[CLAIM_STATE] = (principal, key_text, token)
        stop_heartbeat = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(runtime, table, principal, key_text, token, stop_heartbeat))
        try:
            await self.app(scope, receive, capture)
        finally:
            stop_heartbeat.set()
            await asyncio.gather(heartbeat, return_exceptions=True)
            await self._finish(runtime, table, principal, key_text, token, captured)

    @staticmethod
    async def _heartbeat(runtime: Any, table: Any, principal: str, key: str, token: datetime,
                         stop: asyncio.Event) -> None:
        """Renew the processing lease while the request runs, so a retry cannot take over from an
        attempt that is alive. Ends when the claim is no longer this request's."""
        while not await wait_or_stop(stop, PROCESSING_LEASE.total_seconds() / 3):
            try:
                async with runtime.session_factory() as session, session.begin():
                    renewed = await session.execute(
                        update(table).where(*_this_claim(table, principal, key, token),
                                            table.c.state == "processing")
                        .values(locked_until=utcnow() + PROCESSING_LEASE))
                if renewed.rowcount != 1:
                    return
            except Exception as exc:  # the next beat tries again; mark_committed still checks the claim
                log.warning("idempotency.heartbeat_failed", error=str(exc) or type(exc).__name__)

    @staticmethod
    async def _principal(scope: Scope, runtime: Any) -> str | None:
        auth = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            p = await runtime.authenticator.verify_async(token.strip())
        except Exception:
            return None
        # The whole identity, not just sub: development tokens of one role share a sub.
        return "|".join((p.sub, p.role, p.jurisdiction or "", p.enterprise or ""))

    @staticmethod
    async def _claim(runtime: Any, table: Any, principal: str, key: str, fingerprint: str) -> Any:
        now = utcnow()
        async with runtime.session_factory() as session, session.begin():
            row = (await session.execute(
                select(table).where(table.c.principal == principal, table.c.key == key))).first()
            if row is None:
                try:
                    async with session.begin_nested():
                        await session.execute(insert(table).values(
                            principal=principal, key=key, request_fingerprint=fingerprint, state="processing",
                            created_at=now, locked_until=now + PROCESSING_LEASE))
                except IntegrityError:
                    return "processing"
                return now
            if row.request_fingerprint != fingerprint:
                return "mismatch"
            if row.state == "committed":
                return "committed"
            if row.state == "completed":
                headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (row.response_headers or [])]
                return (row.status_code, headers, row.response_body or b"")
            if row.locked_until and row.locked_until > now:
                return "processing"
            # The first attempt died mid-way (its lease ran out, its heartbeat stopped): this retry
            # takes over with a claim token of its own, unless a concurrent retry took it first.
            taken = await session.execute(
                update(table)
                .where(*_this_claim(table, principal, key, row.created_at), table.c.state == "processing",
                       table.c.locked_until <= now)
                .values(created_at=now, locked_until=now + PROCESSING_LEASE))
            return now if taken.rowcount == 1 else "processing"

    @staticmethod
    async def _finish(runtime: Any, table: Any, principal: str, key: str, token: datetime,
                      captured: dict[str, Any]) -> None:
        where = _this_claim(table, principal, key, token)
        try:
            async with runtime.session_factory() as session, session.begin():
                status = captured["status"]
                if status >= 500 or status in NOT_STORED_STATUSES:
                    # Free the key for a real retry, but only this attempt's claim, and never once its
                    # write committed (the COMMIT may have landed though the request saw an error).
                    await session.execute(delete(table).where(*where, table.c.state == "processing"))
                    return
                headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in captured["headers"]]
                await session.execute(update(table).where(*where, table.c.state.in_(("processing", "committed")))
                                      .values(state="completed", status_code=status,
                                              response_body=bytes(captured["body"]), response_headers=headers,
                                              locked_until=None))
        except Exception as exc:  # the response already left; a retry after the lease re-runs it
            log.warning("idempotency.store_failed", error=str(exc))


def _this_claim(table: Any, principal: str, key: str, token: datetime) -> tuple[Any, ...]:
    return table.c.principal == principal, table.c.key == key, table.c.created_at == token


async def mark_committed(session: Any, table: Any, claim: tuple[str, str, datetime]) -> None:
    """Called by the request's unit of work just before it commits: the key's business effect and
    this mark land together or not at all. Raises (so the transaction rolls back) when the key is
    no longer this request's claim: a retry took it over, and only one of them may apply."""
    principal, key, token = claim
    marked = await session.execute(update(table).where(*_this_claim(table, principal, key, token),
                                                       table.c.state == "processing")
                                   .values(state="committed"))
    if marked.rowcount != 1:
        raise Problem(409, "Conflict", "a retry with this Idempotency-Key took over while this request was "
                      "running; this attempt was rolled back", type=TYPE_BASE + "conflict")


PRUNE_CHUNK = 1000  # keys deleted per statement: short transactions beside the writes they guard


async def prune_expired_keys(session_factory: Any, table: Any, now: datetime, ttl: timedelta) -> int:
    """Forget the keys claimed more than ``ttl`` before ``now`` (a claim's token is its time), in
    chunks, each its own transaction; how many. A claim still running (its lease not run out) is
    kept, however old: its request still answers, and its retries must still wait for it."""
    conditions = (table.c.created_at < now - ttl,
                  (table.c.state != "processing") | table.c.locked_until.is_(None) | (table.c.locked_until < now))
    expired = select(table.c.principal, table.c.key).where(*conditions).limit(PRUNE_CHUNK)
    pruned = 0
    while True:
        async with session_factory() as session, session.begin():
            # The conditions again on the row deleted: PostgreSQL re-checks only these against a
            # row a takeover claimed again (a new token, a live lease) since the subquery read it.
            result = await session.execute(delete(table).where(
                tuple_(table.c.principal, table.c.key).in_(expired), *conditions))
        pruned += result.rowcount or 0
        if (result.rowcount or 0) < PRUNE_CHUNK:
            return pruned
