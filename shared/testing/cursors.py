"""Cursors no API issued, for tests that every list endpoint answers them with a 422 naming
``cursor``, never a 500: unsigned keys of every odd type, tampered, truncated, too long."""

from __future__ import annotations

import base64
import json

from shared.http.pagination import cursor_key, encode_cursor


def _unsigned(key: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def forged_cursors(issued: str | None = None) -> dict[str, str]:
    """Forged cursors by name. ``issued``: a cursor the API under test did issue (tampered with
    and truncated here); without one, a well-formed cursor signed with a key no service has."""
    issued = issued or encode_cursor(["000000000000000000", 1], cursor_key("not-the-secret", "any", "/any"))
    body, _, tag = issued.partition(".")
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    odd_keys = {
        "huge-int": [10 ** 40], "negative-huge-int": [-(10 ** 40)], "float": [1e308], "naive-datetime":
            ["2026-01-01T00:00:00", "x"], "bad-datetime": ["2026-13-45T99:00:00+08:00", 1], "null": [None],
        "nested": [[1], {"a": 1}], "object": {"id": 1}, "string": ["zzz"], "empty-list": [], "bool": [True],
        "long-string": ["x" * 300],
    }
    forged = {f"unsigned-{name}": _unsigned(key) for name, key in odd_keys.items()}
    forged.update({
        "huge-int-under-a-real-tag": f"{_unsigned([10 ** 40])}.{tag}",
        "tampered": f"{flipped}.{tag}",
        "truncated": issued[:-3],
        "tag-only": f".{tag}",
        "no-tag": body,
        "two-dots": f"{body}.{tag}.{tag}",
        "too-long": "A" * 5000,
        "garbage": "!!!",
        "non-ascii": "光标",
    })
    return forged
