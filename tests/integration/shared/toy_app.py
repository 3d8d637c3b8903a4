"""A toy HTTP service built with the shared app factory, for testing the HTTP conventions."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from sqlalchemy import insert, select

from shared.app import DbSession, ServiceRuntime, create_service_app, get_runtime
from shared.auth import Principal, current_principal, require_roles
from shared.contracts.registry import ENTERPRISE_REGISTERED
from shared.events.context import current_cause
from shared.http.pagination import Page, PageParams, make_page, page_params
from shared.http.problems import conflict
from tests.integration.shared import toy

router = APIRouter(prefix="/api/v1")
SLOW_SECONDS = {"value": 0.0}


class ThingIn(BaseModel):
    uscc: str = Field(min_length=18, max_length=18)
    revision: int = Field(ge=1, le=1000)


@router.post("/things", status_code=201)
async def create_thing(body: ThingIn, session: DbSession,
                       principal: Principal = Depends(require_roles("regulator")),
                       runtime: ServiceRuntime = Depends(get_runtime)) -> dict[str, object]:
    if SLOW_SECONDS["value"]:
        await asyncio.sleep(SLOW_SECONDS["value"])
    exists = (await session.execute(select(toy.applied.c.id).where(toy.applied.c.uscc == body.uscc))).first()
    if exists:
        raise conflict(f"thing {body.uscc} exists")
    result = await session.execute(insert(toy.applied).values(event_id="http", uscc=body.uscc, revision=body.revision))
    await runtime.outbox.publish(
        session, ENTERPRISE_REGISTERED, subject=body.uscc,
        data={"uscc": body.uscc, "revision": body.revision, "name": "x", "jurisdiction_code": "371102",
              "venue_type": "other"})
    return {"id": result.inserted_primary_key[0], "uscc": body.uscc, "by": principal.sub}


@router.post("/things/fail-after-write", status_code=201)
async def fail_after_write(body: ThingIn, session: DbSession,
                           _: Principal = Depends(current_principal)) -> dict[str, object]:
    await session.execute(insert(toy.applied).values(event_id="http", uscc=body.uscc, revision=body.revision))
    raise RuntimeError("boom after the write")


@router.get("/things")
async def list_things(session: DbSession, params: PageParams = Depends(page_params),
                      x_note: str | None = Header(None)) -> Page[dict[str, object]]:
    query = select(toy.applied.c.id, toy.applied.c.uscc).order_by(toy.applied.c.id).limit(params.limit + 1)
    if params.after:
        query = query.where(toy.applied.c.id > params.after[0])
    rows = (await session.execute(query)).all()
    return Page(**make_page(rows, params, key_of=lambda r: [r.id], to_item=lambda r: {"id": r.id, "uscc": r.uscc}))


@router.get("/things/by-uscc/{uscc}")
async def things_of(uscc: str, session: DbSession, note: str | None = None) -> dict[str, object]:
    """Looks the path parameter up (a NUL in it would reach PostgreSQL)."""
    rows = (await session.execute(select(toy.applied.c.id).where(toy.applied.c.uscc == uscc))).all()
    return {"uscc": uscc, "ids": [r.id for r in rows], "note": note}


@router.post("/things/raw", status_code=201)
async def raw_thing(request: Request, session: DbSession) -> dict[str, object]:
    """Stores a text body as it came (no JSON, so nothing but the database looks at it)."""
    text = (await request.body()).decode("utf-8")
    await session.execute(insert(toy.applied).values(event_id="raw", uscc=text[:18], revision=1))
    return {"uscc": text[:18]}


@router.get("/context")
async def context_seen() -> dict[str, object]:
    """What a route sees of its request's context: the cause its events carry, the log binding."""
    cause = current_cause.get()
    return {"request_id": cause.request_id, "traceparent": cause.traceparent,
            "logged_request_id": structlog.contextvars.get_contextvars().get("request_id")}


def create_app(settings: toy.ToySettings):  # type: ignore[no-untyped-def]
    async def schema(runtime):  # type: ignore[no-untyped-def]
        await toy.create_schema(runtime)

    app = create_service_app(
        settings,
        tables=toy.tables,
        migrations=Path(toy.__file__).parent,
        title="toy",
        description="toy",
        routers=[router],
        on_startup=[schema],
    )
    return app


@router.post("/things/commit-fails", status_code=201)
async def commit_fails(body: ThingIn, session: DbSession,
                       _: Principal = Depends(current_principal)) -> dict[str, object]:
    """The write succeeds but the commit does not: the client must not see a 201."""
    from sqlalchemy import event

    def refuse(_session) -> None:  # type: ignore[no-untyped-def]
        raise RuntimeError("the database refused the commit")

    event.listen(session.sync_session, "before_commit", refuse)
    await session.execute(insert(toy.applied).values(event_id="http", uscc=body.uscc, revision=body.revision))
    return {"uscc": body.uscc}


# What each request to /appends does, in arrival order: {"delay": seconds, "fail": bool}. Unlike
# /things it has no uniqueness rule, so a write applied twice shows as two rows.
APPEND_SCRIPT: list[dict[str, object]] = []


@router.post("/appends", status_code=201)
async def append(body: ThingIn, session: DbSession, _: Principal = Depends(current_principal)) -> dict[str, object]:
    step = APPEND_SCRIPT.pop(0) if APPEND_SCRIPT else {}
    if step.get("delay"):
        await asyncio.sleep(float(step["delay"]))  # type: ignore[arg-type]
    if step.get("fail"):
        raise RuntimeError("the handler failed")
    result = await session.execute(insert(toy.applied).values(event_id="http", uscc=body.uscc, revision=body.revision))
    return {"id": result.inserted_primary_key[0]}


@router.post("/appends/ambiguous-commit", status_code=201)
async def append_ambiguous_commit(body: ThingIn, session: DbSession,
                                  _: Principal = Depends(current_principal)) -> dict[str, object]:
    """The COMMIT reaches the database but the request sees an error (a connection lost right
    after COMMIT was sent, say): the write is applied and the client gets a 503."""
    from sqlalchemy import event

    def lose_the_answer(_session) -> None:  # type: ignore[no-untyped-def]
        raise ConnectionResetError("connection lost after COMMIT")

    event.listen(session.sync_session, "after_commit", lose_the_answer, once=True)
    await session.execute(insert(toy.applied).values(event_id="http", uscc=body.uscc, revision=body.revision))
    return {"uscc": body.uscc}
