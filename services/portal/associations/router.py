"""HTTP endpoints of the association pages and of the notices members read."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status

from services.portal.access import Ctx, Paging
from services.portal.associations import service
from services.portal.associations.schemas import MemberOut, NoticeIn, NoticeOut
from services.portal.errors import field_error
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1")


def _by_uscc(page: Paging) -> str | None:
    if not page.after:
        return None
    if len(page.after) != 1 or not isinstance(page.after[0], str):
        raise field_error("cursor", "not a cursor this API issued")
    return page.after[0]


def _by_time(page: Paging) -> tuple[datetime, str] | None:
    if not page.after:
        return None
    try:
        return datetime.fromisoformat(page.after[0]), str(page.after[1])
    except (ValueError, TypeError, IndexError) as exc:
        raise field_error("cursor", "not a cursor this API issued") from exc


@router.get("/association/members", tags=["associations"],
            summary="The association's member units with their grade and open alerts (association tokens)")
async def members(ctx: Ctx, page: Paging) -> Page[MemberOut]:
    return Page[MemberOut](**await service.members(ctx, page, _by_uscc(page)))


@router.post("/association/notices", tags=["associations"], status_code=status.HTTP_201_CREATED,
             summary="Send the members (all, or those named) a notice")
async def send_notice(body: NoticeIn, ctx: Ctx) -> NoticeOut:
    return await service.send_notice(ctx, body)


@router.get("/notices", tags=["associations"], summary="Notices associations sent the caller's enterprise")
async def my_notices(ctx: Ctx, page: Paging) -> Page[NoticeOut]:
    return Page[NoticeOut](**await service.my_notices(ctx, page, _by_time(page)))
