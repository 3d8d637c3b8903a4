from pathlib import Path

import pytest
from fastapi import APIRouter, Depends

from shared.app import DbSession, create_service_app, db_session
from tests.integration.shared import toy


def make(router: APIRouter):  # type: ignore[no-untyped-def]
    settings = toy.toy_settings("sqlite+aiosqlite:///:memory:", "127.0.0.1:1")
    return create_service_app(
        settings, tables=toy.tables, migrations=Path(toy.__file__).parent, title="t", description="d", routers=[router]
    )


def test_a_route_whose_commit_would_run_after_the_response_is_refused_at_start_up():
    inner, outer = APIRouter(), APIRouter()

    @inner.post("/late")
    async def late(session=Depends(db_session)):  # type: ignore[no-untyped-def]
        return {}

    outer.include_router(inner, prefix="/api")
    with pytest.raises(RuntimeError, match="POST /late: use `session: DbSession`"):
        make(outer)


def test_a_route_using_the_function_scoped_session_is_accepted():
    router = APIRouter()

    @router.post("/ok")
    async def ok(session: DbSession):  # type: ignore[no-untyped-def]
        return {}

    assert make(router).title == "t"
