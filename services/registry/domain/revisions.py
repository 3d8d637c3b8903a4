"""Optimistic concurrency: a row's revision is its ETag, and PATCH/PUT must name it (If-Match)."""

from __future__ import annotations


def etag(revision: int) -> str:
    return f'"{revision}"'


def if_match_allows(header: str, revision: int) -> bool:
    """Does an If-Match header name the current revision? ``*`` matches any existing resource."""
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == str(revision):
            return True
    return False
