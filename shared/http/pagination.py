"""Cursor pagination: ``?limit=&cursor=`` → ``{"items": [...], "next_cursor": ...}``.

A cursor is an opaque, URL-safe encoding of the sort key of the last item returned (keyset
pagination), so pages stay stable while rows are added and cost the same at any depth.

Cursors are signed (HMAC-SHA256 with a key derived from the service's cursor secret, its name
and the route), so a cursor the API did not issue for that route - forged, tampered with,
truncated, or from another endpoint - is a 422 naming ``cursor`` before anything reads it: the
values a query receives are only ever ones this API put there."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any, Generic, TypeVar

from fastapi import Query, Request
from pydantic import BaseModel, PrivateAttr

from shared.http.problems import field_error

ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"  # payload.mac, unpadded base64url, as encode_cursor writes
MAX_CURSOR_LENGTH = 512
PURPOSE = b"safegrid pagination cursor v1"
_MAC_BYTES = 16
NOT_ISSUED = "not a cursor this API issued"


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    after: list[Any] | None
    _key: bytes = PrivateAttr(default=b"")  # signs the next cursor; set by page_params


def cursor_key(secret: str, service: str, route: str) -> bytes:
    """The key of one route's cursors: a cursor of one endpoint is refused by every other."""
    return hmac.new(secret.encode(), b"\n".join([PURPOSE, service.encode(), route.encode()]), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def encode_cursor(key: list[Any], signing_key: bytes) -> str:
    if not signing_key:
        raise RuntimeError("a cursor needs a signing key: take PageParams from the page_params dependency")
    payload = json.dumps(key, separators=(",", ":"), default=str).encode()
    mac = hmac.new(signing_key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_b64(payload)}.{_b64(mac)}"


def decode_cursor(cursor: str, signing_key: bytes) -> list[Any]:
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise field_error("cursor", f"{NOT_ISSUED} (longer than {MAX_CURSOR_LENGTH} characters)")
    if not re.fullmatch(CURSOR_PATTERN, cursor):
        raise field_error("cursor", NOT_ISSUED)
    body, dot, tag = cursor.partition(".")
    try:
        payload, mac = _unb64(body), _unb64(tag)
    except (ValueError, binascii.Error) as exc:
        raise field_error("cursor", NOT_ISSUED) from exc
    expected = hmac.new(signing_key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not dot or not signing_key or not hmac.compare_digest(mac, expected):
        raise field_error("cursor", NOT_ISSUED)
    key = json.loads(payload)  # signed by us: it is the JSON list encode_cursor wrote
    if not isinstance(key, list):
        raise field_error("cursor", NOT_ISSUED)
    return key


def page_params(
    request: Request,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size"),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN, max_length=MAX_CURSOR_LENGTH,
                               description="next_cursor of the previous page (opaque and signed: only cursors this "
                               "API issued are accepted; any other is 422)"),
) -> PageParams:
    settings = request.app.state.runtime.settings
    route = getattr(request.scope.get("route"), "path", request.url.path)
    key = cursor_key(settings.cursor_signing_secret, settings.service_name, route)
    params = PageParams(limit=limit, after=decode_cursor(cursor, key) if cursor else None)
    params._key = key
    return params


def make_page(rows: list[Any], params: PageParams, key_of: Any, to_item: Any = None) -> dict[str, Any]:
    """Rows were fetched with limit+1: the extra row only tells whether there is a next page."""
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    items = [to_item(r) for r in rows] if to_item else rows
    return {"items": items, "next_cursor": encode_cursor(key_of(rows[-1]), params._key) if more and rows else None}
