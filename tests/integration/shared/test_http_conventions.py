"""contract.md §2 on a toy service: problem responses, auth, the unit of work, pagination and
Idempotency-Key, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from shared.auth import issue_token
from shared.db import utcnow
from shared.events.context import Cause, current_cause
from shared.events.envelope import trace_id_of
from shared.testing.cursors import forged_cursors
from tests.integration.shared import toy, toy_app


@pytest.fixture
async def api(empty_database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = toy.toy_settings(empty_database_url, "127.0.0.1:1", consumers_enabled=False, relay_enabled=False)
    app = toy_app.create_app(settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                     base_url="http://toy") as client:
            client.runtime = app.state.runtime  # type: ignore[attr-defined]
            client.headers["Authorization"] = "Bearer " + issue_token(settings, role="regulator", sub="officer-1",
                                                                      jurisdiction="371100")
            yield client


async def rows_and_events(client) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    runtime = client.runtime
    async with runtime.session_factory() as session:
        rows = (await session.execute(select(func.count()).select_from(toy.applied))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(toy.tables.outbox))).scalar_one()
    return rows, events


def thing(n: int = 1) -> dict[str, object]:
    return {"uscc": f"{n:018d}", "revision": n}


async def test_a_write_commits_its_row_and_its_event_together(api):
    response = await api.post("/api/v1/things", json=thing())
    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"]
    assert await rows_and_events(api) == (1, 1)


async def test_an_error_after_a_write_rolls_it_back_and_answers_a_problem(api):
    response = await api.post("/api/v1/things/fail-after-write", json=thing())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "boom" not in response.text and "Traceback" not in response.text
    assert await rows_and_events(api) == (0, 0)


@pytest.mark.parametrize(("body", "field"), [
    ({"uscc": "short", "revision": 1}, "uscc"),
    ({"uscc": "0" * 18, "revision": 0}, "revision"),
    ({"uscc": "0" * 18}, "revision"),
])
async def test_bad_input_gets_a_validation_problem_naming_the_field_and_changes_nothing(api, body, field):
    response = await api.post("/api/v1/things", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert [e["field"] for e in problem["errors"]] == [field]
    assert await rows_and_events(api) == (0, 0)


@pytest.mark.parametrize(("body", "fields"), [
    ({"uscc": "0" * 17 + "\u0000", "revision": 1}, ["uscc"]),
    ({"uscc": "0" * 18, "revision": 1, "note": {"lines": ["ok", "x\u0000y"], "k\u0000": 1}},
     ["note.lines.1", "note.k\\u0000"]),
])
async def test_a_nul_in_any_json_string_is_a_422_naming_the_field_on_every_database(api, body, fields):
    """PostgreSQL text cannot hold a NUL (it was a 500 there, a 201 on SQLite)."""
    response = await api.post("/api/v1/things", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json" and response.headers["x-request-id"]
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert await rows_and_events(api) == (0, 0)


async def test_a_nul_in_a_path_or_query_parameter_is_a_422_naming_it(api):
    path = await api.get("/api/v1/things/by-uscc/0%00")
    assert path.status_code == 422 and [e["field"] for e in path.json()["errors"]] == ["uscc"], path.text
    query = await api.get("/api/v1/things/by-uscc/1", params={"note": "a\x00b"})
    assert query.status_code == 422 and [e["field"] for e in query.json()["errors"]] == ["note"], query.text
    escaped = await api.post("/api/v1/things", json={"uscc": "0" * 18, "revision": 1, "note": "\\u0000"})
    assert escaped.status_code == 201, escaped.text  # the text "\u0000" is no NUL


async def test_a_nul_the_database_refuses_is_a_422_not_a_500(api, empty_database_url):
    """The safety net behind the check: what reaches PostgreSQL unchecked (here a text body) and
    is refused there (22021) is the request's fault. SQLite stores it."""
    response = await api.post("/api/v1/things/raw", content=b"12\x00", headers={"content-type": "text/plain"})
    if empty_database_url.startswith("postgresql"):
        assert response.status_code == 422, response.text
        assert response.json()["errors"] == [{"field": "request", "message": response.json()["errors"][0]["message"]}]
        assert "NUL" in response.json()["detail"]
    else:
        assert response.status_code == 201, response.text


async def test_malformed_json_is_a_4xx_problem(api):
    response = await api.post("/api/v1/things", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["status"] == 422


@pytest.mark.parametrize(("header", "status"), [
    (None, 401), ("Bearer not-a-jwt", 401), ("Basic abc", 401),
])
async def test_missing_or_invalid_tokens_are_401(api, header, status):
    headers = {"Authorization": header} if header else {}
    api.headers.pop("Authorization")
    response = await api.post("/api/v1/things", json=thing(), headers=headers)
    assert response.status_code == status
    assert response.json()["title"] == "Unauthorized"


async def test_a_valid_token_without_the_role_is_403(api):
    token = issue_token(api.runtime.settings, role="enterprise", enterprise="9" * 18)
    response = await api.post("/api/v1/things", json=thing(), headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert await rows_and_events(api) == (0, 0)


async def test_unknown_routes_and_methods_are_problems(api):
    assert (await api.get("/api/v1/nowhere")).json()["status"] == 404
    assert (await api.delete("/api/v1/things")).json()["status"] == 405


async def test_a_405_lists_every_method_the_path_serves(api):
    """One FastAPI route per method: Allow must name them all, not the first route's alone."""
    response = await api.put("/api/v1/things")
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["allow"] == "GET, POST"


async def test_a_key_on_a_method_the_path_does_not_serve_is_still_405(api):
    headers = {"Idempotency-Key": "retry-405"}
    assert (await api.post("/api/v1/things", json=thing(), headers=headers)).status_code == 201
    response = await api.put("/api/v1/things", json=thing(2), headers=headers)
    assert response.status_code == 405, response.text


@pytest.mark.parametrize("key", ["", " padded", "padded ", "é-not-ascii", "x" * 201])
async def test_a_malformed_idempotency_key_is_400(api, key):
    response = await api.post("/api/v1/things", json=thing(), headers={"Idempotency-Key": key.encode("latin-1")})
    assert response.status_code == 400, response.text
    assert await rows_and_events(api) == (0, 0)


async def test_an_idempotency_key_may_hold_spaces_inside(api):
    response = await api.post("/api/v1/things", json=thing(), headers={"Idempotency-Key": "order 17 / try 1"})
    assert response.status_code == 201, response.text


async def test_cursor_pagination_walks_every_row_once(api):
    for n in range(1, 8):
        assert (await api.post("/api/v1/things", json=thing(n))).status_code == 201
    seen, cursor = [], None
    while True:
        page = (await api.get("/api/v1/things", params={"limit": 3, **({"cursor": cursor} if cursor else {})})).json()
        seen += [item["uscc"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"{n:018d}" for n in range(1, 8)]
    for cursor in ("!!!", "W10=", "abc"):  # not base64url; padded (not as issued); not a JSON list
        bad = await api.get("/api/v1/things", params={"cursor": cursor})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "cursor", cursor
    assert (await api.get("/api/v1/things", params={"limit": 0})).status_code == 422


async def test_an_idempotent_replay_returns_the_first_response_and_writes_once(api):
    headers = {"Idempotency-Key": "retry-1"}
    first = await api.post("/api/v1/things", json=thing(), headers=headers)
    replay = await api.post("/api/v1/things", json=thing(), headers=headers)
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay.headers.get("idempotent-replayed") == "true"
    assert await rows_and_events(api) == (1, 1)


async def test_a_replay_behind_a_path_prefix_is_recognised_too(api):
    """Served under a root path (a proxy's /toy prefix, uvicorn --root-path), the key still finds
    its route: it is not waved through as a path no route serves."""
    transport = httpx.ASGITransport(app=api._transport.app, root_path="/toy")
    async with httpx.AsyncClient(transport=transport, base_url="http://toy", headers=api.headers) as prefixed:
        headers = {"Idempotency-Key": "behind-a-prefix"}
        first = await prefixed.post("/toy/api/v1/things", json=thing(), headers=headers)
        replay = await prefixed.post("/toy/api/v1/things", json=thing(), headers=headers)
    assert first.status_code == replay.status_code == 201, replay.text
    assert replay.headers.get("idempotent-replayed") == "true"
    assert await rows_and_events(api) == (1, 1)


async def test_the_same_key_with_another_body_is_422(api):
    headers = {"Idempotency-Key": "retry-2"}
    assert (await api.post("/api/v1/things", json=thing(1), headers=headers)).status_code == 201
    reused = await api.post("/api/v1/things", json=thing(2), headers=headers)
    assert reused.status_code == 422
    assert await rows_and_events(api) == (1, 1)


async def test_a_retry_while_the_first_is_processing_is_409(api):
    toy_app.SLOW_SECONDS["value"] = 0.5
    try:
        headers = {"Idempotency-Key": "retry-3"}
        first, second = await asyncio.gather(
            api.post("/api/v1/things", json=thing(), headers=headers),
            _after(0.15, api.post("/api/v1/things", json=thing(), headers=headers)))
    finally:
        toy_app.SLOW_SECONDS["value"] = 0.0
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    assert await rows_and_events(api) == (1, 1)


async def test_idempotency_keys_belong_to_their_caller(api):
    headers = {"Idempotency-Key": "shared-key"}
    assert (await api.post("/api/v1/things", json=thing(1), headers=headers)).status_code == 201
    other = issue_token(api.runtime.settings, role="regulator", sub="officer-2", jurisdiction="371100")
    response = await api.post("/api/v1/things", json=thing(1), headers={**headers, "Authorization": f"Bearer {other}"})
    assert response.status_code == 409  # a fresh request for officer-2, refused by the business rule
    assert "idempotent-replayed" not in response.headers


async def test_operations_endpoints(api):
    assert (await api.get("/healthz")).json()["status"] == "ok"
    ready = await api.get("/readyz")
    assert ready.status_code == 503 and ready.json()["checks"] == {"database": "ok", "broker": "unreachable"}
    metrics = await api.get("/metrics")
    assert "safegrid_outbox_backlog" in metrics.text
    assert (await api.get("/openapi.json")).json()["info"]["title"] == "toy"


TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_a_request_carries_its_id_and_trace_to_the_route_its_events_and_its_answer(api):
    seen = await api.get("/api/v1/context", headers={"X-Request-ID": "req-1", "traceparent": TRACE})
    assert seen.headers.get_list("x-request-id") == ["req-1"]
    assert seen.json() == {"request_id": "req-1", "traceparent": TRACE, "logged_request_id": "req-1"}
    made = await api.get("/api/v1/context", headers={"traceparent": "not-a-trace"})
    assert made.json()["request_id"] == made.headers["x-request-id"] and len(made.headers["x-request-id"]) == 32
    assert trace_id_of(made.json()["traceparent"]) and made.json()["traceparent"] != "not-a-trace"
    assert (await api.post("/api/v1/things", json=thing(1), headers={"traceparent": TRACE})).status_code == 201
    async with api.runtime.session_factory() as session:
        attributes = (await session.execute(select(toy.tables.outbox.c.attributes))).scalar_one()
    assert trace_id_of(attributes["traceparent"]) == trace_id_of(TRACE)
    # The request's context ends with it (the ASGI transport runs the app in this very task).
    assert current_cause.get() == Cause() and "request_id" not in structlog.contextvars.get_contextvars()


def _requests_seen(method: str, route: str, status: int) -> float:
    return REGISTRY.get_sample_value("safegrid_http_request_duration_seconds_count", {
        "service": "toy", "method": method, "route": route, "status": str(status)}) or 0.0


@pytest.mark.parametrize(("method", "path", "route", "status"), [
    ("GET", "/api/v1/things/by-uscc/x", "/api/v1/things/by-uscc/{uscc}", 200),
    ("GET", "/api/v1/nowhere", "unmatched", 404),
    ("DELETE", "/api/v1/things", "/api/v1/things", 405),
    ("POST", "/api/v1/things/fail-after-write", "/api/v1/things/fail-after-write", 500),
])
async def test_request_latency_is_observed_by_route_template_and_status(api, method, path, route, status):
    before = _requests_seen(method, route, status)
    response = await api.request(method, path, json=thing(1) if method == "POST" else None)
    assert response.status_code == status
    assert _requests_seen(method, route, status) == before + 1


async def _after(seconds: float, coroutine):  # type: ignore[no-untyped-def]
    await asyncio.sleep(seconds)
    return await coroutine


async def test_a_commit_that_fails_is_not_reported_as_success(api):
    response = await api.post("/api/v1/things/commit-fails", json=thing())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert await rows_and_events(api) == (0, 0)


async def test_callers_sharing_a_sub_do_not_share_idempotency_keys(api):
    """Development tokens of one role share a sub; the key belongs to the whole identity."""
    headers = {"Idempotency-Key": "same-sub"}
    assert (await api.post("/api/v1/things", json=thing(1), headers=headers)).status_code == 201
    elsewhere = issue_token(api.runtime.settings, role="regulator", sub="officer-1", jurisdiction="371102")
    response = await api.post("/api/v1/things", json=thing(1), headers={**headers,
                                                                        "Authorization": f"Bearer {elsewhere}"})
    assert "idempotent-replayed" not in response.headers


async def test_a_retry_after_a_crash_that_lost_the_response_does_not_apply_the_write_twice(api, monkeypatch):
    """The write committed but the stored response did not (the process died in between)."""
    from shared.http.idempotency import IdempotencyMiddleware

    async def crash_before_storing(*_args) -> None:  # type: ignore[no-untyped-def]
        return None

    monkeypatch.setattr(IdempotencyMiddleware, "_finish", staticmethod(crash_before_storing))
    headers = {"Idempotency-Key": "lost-response"}
    assert (await api.post("/api/v1/things", json=thing(), headers=headers)).status_code == 201
    table = api.runtime.tables.idempotency_keys
    async with api.runtime.session_factory() as session, session.begin():  # the lease of the dead attempt runs out
        await session.execute(table.update().values(locked_until=utcnow() - timedelta(seconds=1)))
    retry = await api.post("/api/v1/things", json=thing(), headers=headers)
    assert retry.status_code == 409 and "applied" in retry.json()["detail"]
    assert await rows_and_events(api) == (1, 1)


async def test_a_request_that_failed_leaves_its_key_free_to_retry(api):
    headers = {"Idempotency-Key": "failed-first"}
    assert (await api.post("/api/v1/things/fail-after-write", json=thing(), headers=headers)).status_code == 500
    assert (await api.post("/api/v1/things/fail-after-write", json=thing(), headers=headers)).status_code == 500
    assert await rows_and_events(api) == (0, 0)


# -- Idempotency-Key under real concurrency: one key, one effect -----------------------------------

@pytest.fixture
def script():  # type: ignore[no-untyped-def]
    toy_app.APPEND_SCRIPT.clear()
    yield toy_app.APPEND_SCRIPT
    toy_app.APPEND_SCRIPT.clear()


async def _expire_lease(client) -> None:  # type: ignore[no-untyped-def]
    """What a stalled process looks like from outside: its processing lease ran out."""
    table = client.runtime.tables.idempotency_keys
    async with client.runtime.session_factory() as session, session.begin():
        await session.execute(table.update().values(locked_until=utcnow() - timedelta(seconds=1)))


async def test_a_slow_request_keeps_its_key_past_the_lease_so_a_retry_cannot_apply_it_again(api, script, monkeypatch):
    from shared.http import idempotency

    monkeypatch.setattr(idempotency, "PROCESSING_LEASE", timedelta(seconds=0.6))
    script += [{"delay": 2.0}, {}]
    headers = {"Idempotency-Key": "slow-1"}
    first, retry = await asyncio.gather(
        api.post("/api/v1/appends", json=thing(), headers=headers),
        _after(1.3, api.post("/api/v1/appends", json=thing(), headers=headers)))
    assert (first.status_code, retry.status_code) == (201, 409), (first.text, retry.text)
    assert "still being processed" in retry.json()["detail"]
    assert retry.headers["retry-after"].isdigit()  # a client knows when to try again
    assert (await rows_and_events(api))[0] == 1


async def test_a_request_whose_claim_was_taken_over_rolls_its_write_back(api, script):
    script += [{"delay": 1.0}, {}]
    headers = {"Idempotency-Key": "stalled-1"}

    async def takeover():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        await _expire_lease(api)
        return await api.post("/api/v1/appends", json=thing(), headers=headers)

    first, retry = await asyncio.gather(api.post("/api/v1/appends", json=thing(), headers=headers), takeover())
    assert retry.status_code == 201, retry.text
    assert first.status_code == 409 and "took over" in first.json()["detail"], first.text
    assert (await rows_and_events(api))[0] == 1
    again = await api.post("/api/v1/appends", json=thing(), headers=headers)
    assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == retry.json()
    assert (await rows_and_events(api))[0] == 1


async def test_a_takeover_that_fails_does_not_free_the_key_for_a_third_application(api, script):
    script += [{"delay": 1.0}, {"fail": True}, {}]
    headers = {"Idempotency-Key": "stalled-2"}

    async def failed_takeover():  # type: ignore[no-untyped-def]
        await asyncio.sleep(0.3)
        await _expire_lease(api)
        return await api.post("/api/v1/appends", json=thing(), headers=headers)

    first, failed = await asyncio.gather(api.post("/api/v1/appends", json=thing(), headers=headers),
                                         failed_takeover())
    assert failed.status_code == 500
    third = await api.post("/api/v1/appends", json=thing(), headers=headers)
    statuses = sorted([first.status_code, third.status_code])
    assert statuses in ([201, 409], [201, 201]) and (await rows_and_events(api))[0] == 1, (first.text, third.text)


async def test_a_key_whose_write_committed_is_kept_when_the_commit_looked_failed(api):
    headers = {"Idempotency-Key": "ambiguous-1"}
    first = await api.post("/api/v1/appends/ambiguous-commit", json=thing(), headers=headers)
    assert first.status_code == 503  # the connection was lost: the client cannot tell whether it applied
    assert (await rows_and_events(api))[0] == 1  # the COMMIT did land
    retry = await api.post("/api/v1/appends/ambiguous-commit", json=thing(), headers=headers)
    assert retry.status_code == 409 and "applied" in retry.json()["detail"], retry.text
    assert (await rows_and_events(api))[0] == 1


@pytest.mark.parametrize("claims", [{"scope": 7}, {"scope": [["x"]]}, {"sub": "s" * 190}], ids=repr)
async def test_a_signed_token_with_odd_claims_is_a_401_problem_with_or_without_an_idempotency_key(api, claims):
    import jwt

    settings = api.runtime.settings
    token = jwt.encode({"sub": "officer-1", "role": "regulator", "jurisdiction": "371100", "iss": settings.jwt_issuer,
                        "aud": settings.jwt_audience, "exp": int(utcnow().timestamp()) + 60, **claims},
                       settings.jwt_secret, algorithm="HS256")
    for headers in ({}, {"Idempotency-Key": "odd-claims"}):
        headers["Authorization"] = f"Bearer {token}"
        response = await api.post("/api/v1/things", json=thing(), headers=headers)
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert next(iter(claims)) in response.json()["detail"]
    assert await rows_and_events(api) == (0, 0)


async def test_only_cursors_this_api_issued_are_accepted(api):
    for n in range(1, 4):
        assert (await api.post("/api/v1/things", json=thing(n))).status_code == 201
    issued = (await api.get("/api/v1/things", params={"limit": 1})).json()["next_cursor"]
    assert (await api.get("/api/v1/things", params={"limit": 1, "cursor": issued})).status_code == 200
    for name, cursor in forged_cursors(issued).items():
        response = await api.get("/api/v1/things", params={"cursor": cursor})
        assert response.status_code == 422, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"], name


async def test_a_cursor_signed_for_another_service_or_secret_is_refused(empty_database_url):
    from shared.http.pagination import PageParams, cursor_key, encode_cursor

    settings = toy.toy_settings(empty_database_url, "127.0.0.1:1", consumers_enabled=False, relay_enabled=False)
    app = toy_app.create_app(settings)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://toy") as client:
        own = cursor_key(settings.cursor_signing_secret, "toy", "/api/v1/things")
        elsewhere = [cursor_key(settings.cursor_signing_secret, "registry", "/api/v1/things"),
                     cursor_key("another-secret", "toy", "/api/v1/things"),
                     cursor_key(settings.cursor_signing_secret, "toy", "/api/v1/other")]
        assert (await client.get("/api/v1/things", params={"cursor": encode_cursor([0], own)})).status_code == 200
        for key in elsewhere:
            response = await client.get("/api/v1/things", params={"cursor": encode_cursor([0], key)})
            assert response.status_code == 422, response.text
    assert PageParams(limit=1, after=None)._key == b""  # noqa: SLF001 - only page_params hands out a key


# -- expiry: a key is honoured for idempotency_key_ttl_h, then forgotten ------------------------------

TTL = timedelta(hours=168)


async def age_keys(client, keys: list[str], by: timedelta, **values) -> None:  # type: ignore[no-untyped-def]
    """Move these keys' claims ``by`` into the past (and set ``values``), as time would."""
    from sqlalchemy import update

    table = client.runtime.tables.idempotency_keys
    async with client.runtime.session_factory() as session, session.begin():
        for key in keys:
            held = (await session.execute(select(table.c.created_at).where(table.c.key == key))).scalar_one()
            await session.execute(update(table).where(table.c.key == key).values(created_at=held - by, **values))


async def prune(client) -> int:  # type: ignore[no-untyped-def]
    from shared.http.idempotency import prune_expired_keys

    return await prune_expired_keys(client.runtime.session_factory, client.runtime.tables.idempotency_keys,
                                    utcnow(), TTL)


async def test_a_key_past_its_time_to_live_is_forgotten_and_a_retry_with_it_is_new(api):
    old, recent = {"Idempotency-Key": "a-week-ago"}, {"Idempotency-Key": "an-hour-ago"}
    for headers in (old, recent):  # /appends has no uniqueness rule: a write applied again is a row more
        assert (await api.post("/api/v1/appends", json=thing(), headers=headers)).status_code == 201
    await age_keys(api, ["a-week-ago"], TTL + timedelta(minutes=1))
    await age_keys(api, ["an-hour-ago"], TTL - timedelta(minutes=1))
    assert await prune(api) == 1
    replay = await api.post("/api/v1/appends", json=thing(), headers=recent)
    assert replay.headers.get("idempotent-replayed") == "true"  # still honoured
    again = await api.post("/api/v1/appends", json=thing(), headers=old)
    assert again.status_code == 201 and "idempotent-replayed" not in again.headers  # a new request now
    assert (await rows_and_events(api))[0] == 3
    assert await prune(api) == 0


async def test_an_old_claim_still_running_is_kept_and_an_abandoned_one_is_forgotten(api):
    table = api.runtime.tables.idempotency_keys
    now = utcnow()
    async with api.runtime.session_factory() as session, session.begin():
        for key, locked_until in (("still-running", now + timedelta(seconds=30)), ("abandoned", now - TTL)):
            await session.execute(table.insert().values(
                principal="p", key=key, request_fingerprint="f", state="processing", created_at=now - 2 * TTL,
                locked_until=locked_until))
    assert await prune(api) == 1
    async with api.runtime.session_factory() as session:
        assert list((await session.execute(select(table.c.key))).scalars()) == ["still-running"]


async def test_expired_keys_are_pruned_in_chunks_until_none_is_left(api, monkeypatch):
    from shared.http import idempotency

    monkeypatch.setattr(idempotency, "PRUNE_CHUNK", 3)
    keys = [f"bulk-{n}" for n in range(7)]
    for n, key in enumerate(keys, start=1):
        assert (await api.post("/api/v1/things", json=thing(n), headers={"Idempotency-Key": key})).status_code == 201
    await age_keys(api, keys, TTL + timedelta(seconds=1))
    assert await prune(api) == 7
    async with api.runtime.session_factory() as session:
        assert (await session.execute(select(func.count()).select_from(api.runtime.tables.idempotency_keys))
                ).scalar_one() == 0


async def test_every_service_prunes_expired_keys_by_itself(empty_database_url):
    settings = toy.toy_settings(empty_database_url, "127.0.0.1:1", consumers_enabled=False, relay_enabled=False,
                                idempotency_prune_interval_s=0.05)
    app = toy_app.create_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://toy")
        client.runtime = app.state.runtime  # type: ignore[attr-defined]
        client.headers["Authorization"] = "Bearer " + issue_token(settings, role="regulator", sub="officer-1",
                                                                  jurisdiction="371100")
        async with client:
            assert (await client.post("/api/v1/things", json=thing(), headers={"Idempotency-Key": "k"})
                    ).status_code == 201
            await age_keys(client, ["k"], TTL + timedelta(seconds=1))
            table = app.state.runtime.tables.idempotency_keys

            async def pruned() -> bool:
                async with app.state.runtime.session_factory() as session:
                    return (await session.execute(select(func.count()).select_from(table))).scalar_one() == 0

            from shared.testing.services import eventually

            await eventually(pruned, timeout_s=5, what="the expired key pruned by the service's own job")
