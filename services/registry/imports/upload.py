"""Reading an import upload: ``multipart/form-data`` (a ``file`` part, optional ``mapping`` and
``kind`` parts) or the raw file as the body. Multipart is parsed with the standard library's
MIME parser, so the service needs no extra dependency for it."""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from email import message_from_bytes

from fastapi import Request

from shared.http.problems import Problem, field_error

RAW_TYPES = {
    "text/csv": "csv",
    "application/csv": "csv",
    "text/plain": "csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/octet-stream": None,
}


@dataclass
class Upload:
    content: bytes
    filename: str | None
    fmt: str | None
    mapping_text: str | None
    kind: str | None


async def read_upload(request: Request, max_bytes: int) -> Upload:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise Problem(413, "Payload too large", f"imports are limited to {max_bytes} bytes")
    body = await request.body()
    if len(body) > max_bytes:
        raise Problem(413, "Payload too large", f"imports are limited to {max_bytes} bytes")
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    query = request.query_params
    if media_type == "multipart/form-data":
        return _multipart(content_type, body, query.get("kind"), query.get("format"))
    if media_type not in RAW_TYPES:
        raise Problem(415, "Unsupported media type",
                      "send multipart/form-data with a file part, or the CSV/XLSX file itself as the body")
    if not body:
        raise field_error("file", "the body is empty")
    return Upload(content=body, filename=query.get("filename"), fmt=query.get("format") or RAW_TYPES[media_type],
                  mapping_text=None, kind=query.get("kind"))


def _multipart(content_type: str, body: bytes, kind: str | None, fmt: str | None) -> Upload:
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                                 policy=email.policy.HTTP)
    if not message.is_multipart():
        raise field_error("file", "not a multipart body")
    parts: dict[str, tuple[bytes, str | None]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            parts[name] = (part.get_payload(decode=True) or b"", part.get_filename())
    if "file" not in parts or not parts["file"][0]:
        raise field_error("file", "a non-empty file part is required")
    content, filename = parts["file"]
    mapping = parts.get("mapping")
    kind_part = parts.get("kind")
    return Upload(content=content, filename=filename, fmt=fmt,
                  mapping_text=_text(mapping[0], "mapping", "must be UTF-8 YAML") if mapping else None,
                  kind=_text(kind_part[0], "kind", "must be UTF-8 text").strip() if kind_part else kind)


def _text(part: bytes, name: str, message: str) -> str:
    try:
        return part.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise field_error(name, message) from exc
