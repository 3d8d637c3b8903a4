"""Cursor pagination: ``?limit=&cursor=`` → ``{"items": [...], "next_cursor": ...}``.

A cursor is an opaque, URL-safe encoding of the sort key of the last item returned (keyset
pagination), so pages stay stable while rows are added and cost the same at any depth."""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shared.http.problems import field_error

ItemT = TypeVar("ItemT")

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"  # unpadded base64url, as encode_cursor writes it
MAX_CURSOR_LENGTH = 2048


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    after: list[Any] | None


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":"), default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    if not re.fullmatch(CURSOR_PATTERN, cursor) or len(cursor) > MAX_CURSOR_LENGTH:
        raise field_error("cursor", "not a cursor this API issued")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, json.JSONDecodeError) as exc:
        raise field_error("cursor", "not a cursor this API issued") from exc
    if not isinstance(key, list):
        raise field_error("cursor", "not a cursor this API issued")
    return key


def page_params(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="page size"),
    cursor: str | None = Query(None, pattern=CURSOR_PATTERN, max_length=MAX_CURSOR_LENGTH,
                               description="next_cursor of the previous page (opaque: only cursors this API "
                               "issued are accepted; any other is 422)"),
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


def make_page(rows: list[Any], params: PageParams, key_of: Any, to_item: Any = None) -> dict[str, Any]:
    """Rows were fetched with limit+1: the extra row only tells whether there is a next page."""
    more = len(rows) > params.limit
    rows = rows[: params.limit]
    items = [to_item(r) for r in rows] if to_item else rows
    return {"items": items, "next_cursor": encode_cursor(key_of(rows[-1])) if more and rows else None}
