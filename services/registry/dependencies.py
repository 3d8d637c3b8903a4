"""Request dependencies shared by the registry's routers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response

from services.registry.domain import etag
from services.registry.service import Context
from shared.app import DbSession
from shared.auth import Principal, current_principal
from shared.http.pagination import PageParams, make_page, page_params
from shared.http.problems import field_error

Session = DbSession  # commits before the response leaves (scope "function")
Caller = Annotated[Principal, Depends(current_principal)]
Paging = Annotated[PageParams, Depends(page_params)]
IfMatch = Annotated[str | None, Header(description="the ETag of your last read (required on PATCH/PUT)")]


async def _context(request: Request, principal: Caller, session: Session) -> Context:
    return Context.of(request.app.state.runtime, session, principal)


Ctx = Annotated[Context, Depends(_context)]


def set_etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = etag(revision)


def cursor_key(paging: PageParams) -> str | None:
    """The single string key our keyset cursors carry."""
    if paging.after is None:
        return None
    if len(paging.after) != 1 or not isinstance(paging.after[0], str):
        raise field_error("cursor", "not a cursor this API issued")
    return paging.after[0]


def page(rows: list[Any], paging: PageParams, key: Any, out: Any) -> dict[str, Any]:
    """A page of ``rows`` (fetched with limit + 1) whose cursor is ``[key(last row)]``."""
    return make_page(rows, paging, lambda row: [key(row)], out)
