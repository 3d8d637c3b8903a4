"""HTTP endpoints of photo blobs: upload one for an enterprise (the photo itself as the body, or a
multipart/form-data ``file`` part), read one back by its SHA-256."""

from __future__ import annotations

import email.policy
from email import message_from_bytes
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from services.inspection.access import Ctx, Uploader
from services.inspection.blobs import service
from services.inspection.blobs.schemas import BlobOut
from services.inspection.errors import field_error, too_large
from shared.http.openapi import problem_responses

router = APIRouter(prefix="/api/v1", tags=["photos"])
IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
BINARY = {"schema": {"type": "string", "format": "binary"}}
UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    **{t: BINARY for t in IMAGE_TYPES},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary",
                 "description": "the photo; its part's Content-Type says which image type it is"}}},
        "encoding": {"file": {"contentType": ", ".join(IMAGE_TYPES)}}},
}}}
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="SHA-256 (hex) of the photo")]


async def _read(request: Request, limit: int) -> tuple[bytes, str]:
    """The photo's bytes and declared type, from the raw body or the multipart ``file`` part."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:  # multipart framing may add a little
        raise too_large(f"photos are limited to {limit} bytes")
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        return body, media_type
    message = message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                                 policy=email.policy.HTTP)
    if not message.is_multipart():
        raise field_error("file", "not a multipart body (a boundary and a file part are required)")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_payload(decode=True) or b"", part.get_content_type().lower()
    raise field_error("file", "the multipart body has no file part")


@router.post("/enterprises/{uscc}/blobs", status_code=201, openapi_extra=UPLOAD_BODY,
             summary="Upload a photo (content-addressed by its SHA-256) for the enterprise's submissions and evidence",
             responses={200: {"description": "the enterprise already held this photo", "model": BlobOut},
                        **problem_responses(413, 415, s413="the photo exceeds blob_max_bytes",
                                            s415="not an accepted image type, or the bytes are not of the type "
                                                 "declared")})
async def upload(ctx: Ctx, enterprise: Uploader, request: Request, response: Response) -> BlobOut:
    data, declared = await _read(request, ctx.settings.blob_max_bytes)
    blob, new = await service.upload(ctx, enterprise, data, declared)
    if not new:
        response.status_code = 200
    response.headers["Location"] = blob["url"]
    return BlobOut.model_validate(blob)


@router.get("/blobs/{sha256}", summary="A photo by its SHA-256 (for callers who may see an enterprise holding it)",
            response_class=Response,
            responses={200: {"description": "the photo's bytes", "content": {t: BINARY for t in IMAGE_TYPES}}})
async def download(ctx: Ctx, sha256: Sha256Path) -> Response:
    data, content_type = await service.download(ctx, sha256)
    return Response(data, media_type=content_type, headers={
        "ETag": f'"{sha256}"', "Cache-Control": "private, max-age=31536000, immutable"})
