"""RFC 8785 canonical JSON (JSON Canonicalization Scheme), the encoding the record chain hashes.

``canonical`` is the reference: the ``rfc8785`` library. ``canonical_fast`` gives the same bytes
for the values ingest hashes by the thousand (filling records: dicts of ASCII keys holding
strings, booleans, null, integers and ordinary decimal floats) through the C JSON encoder, and
hands anything else to the reference; tests hold the two to the same output."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import rfc8785

_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)
_MAX_SAFE_INTEGER = 2**53


def canonical(value: Any) -> bytes:
    """The RFC 8785 encoding of ``value`` (UTF-8 bytes)."""
    return rfc8785.dumps(value)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _plain(value: Any) -> Any:
    """``value`` rewritten so that Python's JSON encoder writes exactly what RFC 8785 writes, or
    raises ``_NotPlain`` when that cannot be promised."""
    if value is None or value is True or value is False or type(value) is str:
        return value
    if type(value) is int:
        if -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER:
            return value
        raise _NotPlain
    if type(value) is float:
        if value.is_integer():  # ECMAScript writes 14.0 as 14; a huge one (2**53) as its shortest digits
            if abs(value) < _MAX_SAFE_INTEGER:
                return int(value)
            raise _NotPlain
        if 1e-4 <= abs(value) < 1e16:  # where repr and ECMAScript both write positional shortest digits
            return value
        raise _NotPlain
    if type(value) is dict:
        for key in value:
            if type(key) is not str or not key.isascii():  # UTF-16 and code-point order agree on ASCII
                raise _NotPlain
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    raise _NotPlain


class _NotPlain(Exception):
    pass


def canonical_fast(value: Any) -> bytes:
    """The same bytes as ``canonical(value)``, faster for plain records."""
    try:
        plain = _plain(value)
    except _NotPlain:
        return canonical(value)
    text = _ENCODER.encode(plain)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: let the reference refuse it
        return canonical(value)


_SCALARS = (str, bool, int, type(None))


def canonical_flat_rows(rows: list[dict[str, Any]]) -> bytes:
    """``canonical(rows)`` for a list of flat dicts with ASCII keys and scalar values, the shape
    ingest seals a thousand at a time: only floats need rewriting, so the values are checked in
    one pass instead of walked recursively. Anything else goes through ``canonical_fast``."""
    out = []
    for row in rows:
        fixed = None
        for key, value in row.items():
            kind = type(value)
            if kind is float:
                if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER:
                    fixed = fixed or dict(row)
                    fixed[key] = int(value)
                elif value.is_integer() or not 1e-4 <= abs(value) < 1e16:
                    return canonical_fast(rows)
            elif kind not in _SCALARS or (kind is int and not -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER) \
                    or not key.isascii():
                return canonical_fast(rows)
        out.append(fixed or row)
    try:
        return _ENCODER.encode(out).encode("utf-8")
    except UnicodeEncodeError:
        return canonical(rows)
