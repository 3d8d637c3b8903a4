"""Optimistic concurrency over HTTP (RFC 9110 §13): a versioned row's revision is its ETag, and a
write that reads, modifies and writes it must name the revision it read in ``If-Match``: none is
428, a stale one 412 (with the current ETag), so that two editors never overwrite each other.

A route takes ``if_match: IfMatch = None``, declares ``responses=PRECONDITION_RESPONSES`` (the
OpenAPI document then marks the header required, ``shared.http.openapi``), and its use case calls
``require_if_match`` on the row it read under lock (or compares the revision in its UPDATE)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

from shared.http.openapi import problem_responses
from shared.http.problems import Problem

IfMatch = Annotated[str | None, Header(description="the ETag of your last read (required): without it 428, a stale "
                                                   "one 412")]
PRECONDITION_RESPONSES = problem_responses(
    412, 428, s412="`If-Match` is not the current ETag: someone changed it since you read it (the current "
                   "ETag is in the `ETag` header)",
    s428="`If-Match` is missing: send the ETag of your last read (the detail names the current one)")


def etag(revision: int) -> str:
    return f'"{revision}"'


def if_match_allows(header: str, revision: int) -> bool:
    """Does an If-Match header name the current revision? ``*`` matches any existing resource."""
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == str(revision):
            return True
    return False


def require_if_match(if_match: str | None, revision: int) -> None:
    """428 without If-Match (a blank one counts as missing), 412 when it names another revision."""
    current = etag(revision)
    if if_match is None or not if_match.strip():
        raise Problem(428, "Precondition required",
                      f"send If-Match with the ETag of your last read (currently {current}) so that concurrent "
                      "edits cannot overwrite each other")
    if not if_match_allows(if_match, revision):
        raise Problem(412, "Precondition failed",
                      f"the resource changed since you read it; its ETag is now {current}: read it again and "
                      "reapply your change", headers={"ETag": current})


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)
