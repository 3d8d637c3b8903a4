"""Use cases of photo blobs: take an upload (size and type checked, the bytes recognised as the
type declared), store it content-addressed, and hand it back to those who may see it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import RowMapping

from services.inspection import access
from services.inspection.blobs import repository as repo
from services.inspection.context import InspectionContext
from services.inspection.domain.blobs import digest, sniff
from services.inspection.errors import field_error, forbidden, not_found, too_large, unsupported_type
from shared.http.problems import Problem


def blob_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in ("sha256", "enterprise_uscc", "size", "content_type", "uploaded_by",
                                   "uploaded_at")}, "url": f"/api/v1/blobs/{row['sha256']}"}


def check_upload(ctx: InspectionContext, data: bytes, declared: str) -> str:
    """The upload's content type, once its size and type pass (413, 415, 422 otherwise)."""
    settings = ctx.settings
    if len(data) > settings.blob_max_bytes:
        raise too_large(f"photos are limited to {settings.blob_max_bytes} bytes; this one has {len(data)}")
    if declared not in settings.blob_content_types:
        raise unsupported_type(f"{declared or '(none)'} is not accepted; send one of "
                               f"{', '.join(settings.blob_content_types)}")
    if not data:
        raise field_error("file", "the photo is empty")
    found = sniff(data)
    if found != declared:
        raise unsupported_type(f"the bytes are not {declared}" + (f" but {found}" if found else ""))
    return declared


async def upload(ctx: InspectionContext, enterprise: RowMapping, data: bytes, declared: str) -> tuple[dict[str, Any],
                                                                                                      bool]:
    """Store the photo (bytes first: an orphan blob is harmless, a row without bytes is not) and
    record that the enterprise holds it; (the blob, whether the enterprise did not hold it yet)."""
    content_type = check_upload(ctx, data, declared)
    sha256 = digest(data)
    await ctx.blob_store.put(sha256, data, content_type)
    values = {"sha256": sha256, "enterprise_uscc": enterprise["uscc"], "size": len(data),
              "content_type": content_type, "uploaded_by": ctx.actor, "uploaded_at": ctx.now()}
    if await repo.hold(ctx.session, values):
        return blob_out(values), True
    held = await repo.get(ctx.session, sha256, enterprise["uscc"])
    return blob_out(held), False  # type: ignore[arg-type]


async def download(ctx: InspectionContext, sha256: str) -> tuple[bytes, str]:
    """The bytes, for a caller who may read one of the enterprises holding the blob."""
    holders = await repo.holders(ctx.session, sha256)
    if not holders:
        raise not_found("blob", sha256)
    principal = ctx.principal
    readable = [h for h in holders if _may_read(principal, h["enterprise_uscc"], h["jurisdiction_code"])]
    if not readable:
        raise forbidden(f"{principal.describe()} may not see blob {sha256}: no enterprise it covers holds it")
    data = await ctx.blob_store.get(sha256)
    if data is None:
        raise not_found("blob content", sha256)
    return data, readable[0]["content_type"]


def _may_read(principal: Any, uscc: str, jurisdiction_code: str | None) -> bool:
    try:
        access.ensure_may_read(principal, uscc, jurisdiction_code)
    except Problem:
        return False
    return True


async def ensure_held(ctx: InspectionContext, uscc: str, hashes: Sequence[str], field: str = "photos") -> None:
    """422 naming the first photo the enterprise never uploaded."""
    held = await repo.held_of(ctx.session, uscc, sorted(set(hashes)))
    for n, sha256 in enumerate(hashes):
        if sha256 not in held:
            raise field_error(f"{field}.{n}", f"no photo {sha256} was uploaded for enterprise {uscc} "
                                             "(POST /api/v1/enterprises/{uscc}/blobs first)")
