"""Photo blobs: content-addressed (the SHA-256 of the bytes names them), and recognised by their
leading bytes rather than by what the client declared."""

from __future__ import annotations

import hashlib
import re

SHA256 = re.compile(r"^[0-9a-f]{64}$")
SIGNATURES: tuple[tuple[str, bytes, int], ...] = (
    ("image/jpeg", b"\xff\xd8\xff", 0),
    ("image/png", b"\x89PNG\r\n\x1a\n", 0),
    ("image/webp", b"WEBP", 8),
)


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sniff(data: bytes) -> str | None:
    """The image type the bytes are (JPEG, PNG, WebP), or None."""
    for media_type, magic, offset in SIGNATURES:
        if data[offset:offset + len(magic)] == magic and (media_type != "image/webp" or data[:4] == b"RIFF"):
            return media_type
    return None
