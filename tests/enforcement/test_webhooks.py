"""Outbound webhooks against a real HTTP receiver on a free port that verifies every signature
with the standardwebhooks library: subscriptions and their secret shown once, deliveries
written with the alert change, failing first attempts retried with backoff under the same
webhook-id, the delivery log, and the replay of missed deliveries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import uvicorn
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.enforcement.main import create_app as create_enforcement_app
from shared.broker import free_port
from shared.contracts import registry
from shared.contracts.enforcement import ALERT_RAISED, ALERT_STATUS_CHANGED
from shared.testing.services import eventually, running_service
from tests.enforcement.support import DONGGANG, Clock, Enforcement, accident, enterprise, inspectors


@dataclass
class Receiver:
    """A city platform's endpoint: verifies each request, fails the first ``fail_first`` tries of
    each message with a 503, and keeps what it accepted."""

    secret: str = ""
    fail_first: int = 0
    tries: dict[str, int] = field(default_factory=dict)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    url: str = ""

    async def handle(self, request: Request) -> Response:
        body = (await request.body()).decode()
        try:
            payload = Webhook(self.secret).verify(body, dict(request.headers))
        except WebhookVerificationError as exc:
            self.rejected.append(str(exc))
            return Response(status_code=401)
        msg_id = request.headers["webhook-id"]
        self.tries[msg_id] = self.tries.get(msg_id, 0) + 1
        if self.tries[msg_id] <= self.fail_first:
            return Response(status_code=503)
        self.accepted.append({"id": msg_id, **payload})
        return Response(status_code=204)


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    port = free_port()
    app = Starlette(routes=[Route("/hooks", target.handle, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: asyncio.sleep(0, server.started), what="the receiver to listen")
    target.url = f"http://127.0.0.1:{port}/hooks"
    try:
        yield target
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def live(database_url: str) -> AsyncIterator[Enforcement]:
    """The service with its webhook worker on (fast backoff) and the real clock."""
    async with running_service(
        create_enforcement_app, database_url, consumers_enabled=False, relay_enabled=False, sla_sweep_enabled=False,
        webhook_poll_interval_s=0.05, webhook_backoff_base_s=0.1, webhook_max_attempts=3, webhook_timeout_s=2,
        log_level="WARNING",
    ) as svc:
        yield Enforcement(svc, Clock())


def integrator(live: Enforcement, *scopes: str, jurisdiction: str | None = None, sub: str = "city-platform"
               ) -> dict[str, str]:
    claims: dict[str, Any] = {"sub": sub, "scopes": list(scopes) or ["enforcement:read", "enforcement:write"]}
    if jurisdiction:
        claims["jurisdiction"] = jurisdiction
    return live.auth("integrator", **claims)


async def subscribe(live: Enforcement, url: str, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"url": url, "event_types": [ALERT_RAISED.type, ALERT_STATUS_CHANGED.type], **fields}
    response = await live.client.post("/api/v1/webhooks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def an_accident(live: Enforcement, uscc: str) -> None:
    await live.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    await live.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await live.deliver(registry.ACCIDENT_REPORTED, accident(uscc))


async def deliveries(live: Enforcement, subscription_id: str, headers: dict[str, str], **params: Any
                     ) -> list[dict[str, Any]]:
    response = await live.client.get(f"/api/v1/webhooks/{subscription_id}/deliveries", params=params,
                                     headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def test_signed_deliveries_are_retried_with_backoff_until_the_receiver_takes_them(live, usccs):
    headers = integrator(live)
    async with receiver() as target:
        target.fail_first = 2
        created = await subscribe(live, target.url, headers)
        target.secret = created["secret"]
        assert created["secret"].startswith("whsec_")
        shown = await live.client.get(f"/api/v1/webhooks/{created['id']}", headers=headers)
        assert "secret" not in shown.json()

        await an_accident(live, usccs(1))  # raised, then dispatched to the grid's inspectors: two messages

        await eventually(lambda: asyncio.sleep(0, len(target.accepted) == 2), timeout_s=15,
                         what="both messages accepted")
    assert target.rejected == []
    assert sorted(m["type"] for m in target.accepted) == [ALERT_RAISED.type, ALERT_STATUS_CHANGED.type]
    raised = next(m for m in target.accepted if m["type"] == ALERT_RAISED.type)
    assert (raised["data"]["enterprise_uscc"], raised["data"]["action"]) == (usccs(1), "onsite_enforcement")
    assert all(target.tries[m["id"]] == 3 for m in target.accepted)  # the same webhook-id on every attempt

    log = await deliveries(live, created["id"], headers)
    assert {d["status"] for d in log} == {"delivered"} and {d["attempts"] for d in log} == {3}
    for delivery in log:
        assert [a["status_code"] for a in delivery["history"]] == [503, 503, 204]
        first, second, third = (datetime.fromisoformat(a["at"]) for a in delivery["history"])
        assert second - first >= timedelta(seconds=0.1) and third - second >= timedelta(seconds=0.2)  # backoff
        assert delivery["webhook_id"] in target.tries


async def test_a_wrong_secret_fails_verification_and_replay_sends_the_missed_ones_again(live, usccs):
    headers = integrator(live)
    async with receiver() as target:
        created = await subscribe(live, target.url, headers)
        target.secret = "whsec_" + "QUJD" * 11  # not the subscriber's secret: every signature is refused
        started = datetime.now(UTC) - timedelta(seconds=1)
        await an_accident(live, usccs(1))

        async def failed() -> bool:
            log = await deliveries(live, created["id"], headers, status="failed")
            return len(log) == 2
        await eventually(failed, timeout_s=15, what="the deliveries to fail for good")
        assert target.accepted == [] and len(target.rejected) == 6  # 2 messages x 3 attempts
        assert all("No matching signature" in r for r in target.rejected)

        target.secret = created["secret"]  # the receiver fixed its configuration
        replayed = await live.client.post(f"/api/v1/webhooks/{created['id']}/replay", headers=headers,
                                          json={"since": started.isoformat()})
        assert replayed.status_code == 200 and replayed.json() == {"queued": 2}
        await eventually(lambda: asyncio.sleep(0, len(target.accepted) == 2), timeout_s=15, what="the replay")

        again = await live.client.post(f"/api/v1/webhooks/{created['id']}/replay", headers=headers,
                                       json={"since": started.isoformat()})
        assert again.json() == {"queued": 0}  # nothing missed any more
        future = await live.client.post(f"/api/v1/webhooks/{created['id']}/replay", headers=headers,
                                        json={"since": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
                                              "include_delivered": True})
        assert future.json() == {"queued": 0}
    assert {d["status"] for d in await deliveries(live, created["id"], headers)} == {"delivered"}


async def test_subscriptions_are_for_integrators_and_admins_within_their_jurisdiction(live, usccs):
    client = live.client
    body = {"url": "https://platform.example/hooks", "event_types": [ALERT_RAISED.type]}
    for who in (live.auth("regulator", jurisdiction=DONGGANG), live.auth("enterprise", enterprise=usccs(1)),
                integrator(live, "enforcement:read")):
        assert (await client.post("/api/v1/webhooks", json=body, headers=who)).status_code == 403
    for bad in ({**body, "url": "ftp://x"}, {**body, "event_types": []}, {**body, "event_types": ["x"]},
                {**body, "secret": "mine"}, {**body, "jurisdiction_code": "12"}):
        assert (await client.post("/api/v1/webhooks", json=bad, headers=integrator(live))).status_code == 422
    outside = await client.post("/api/v1/webhooks", json={**body, "jurisdiction_code": "371103"},
                                headers=integrator(live, jurisdiction=DONGGANG))
    assert outside.status_code == 403
    mine = await subscribe(live, body["url"], integrator(live, jurisdiction=DONGGANG), event_types=body["event_types"])
    assert mine["jurisdiction_code"] == DONGGANG  # defaults to the integrator's own
    other = integrator(live, sub="another-platform")
    assert (await client.get(f"/api/v1/webhooks/{mine['id']}", headers=other)).status_code == 403
    assert (await client.get("/api/v1/webhooks", headers=other)).json()["items"] == []
    assert len((await client.get("/api/v1/webhooks", headers=live.admin)).json()["items"]) == 1
    # deliveries only for alerts in the subscription's subtree; nothing for a deactivated one
    await live.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(2), jurisdiction="371103", grid=None))
    await live.deliver(registry.ACCIDENT_REPORTED, accident(usccs(2)))
    assert await deliveries(live, mine["id"], live.admin) == []
    assert (await client.delete(f"/api/v1/webhooks/{mine['id']}", headers=other)).status_code == 403
    stopped = await client.delete(f"/api/v1/webhooks/{mine['id']}", headers=integrator(live, jurisdiction=DONGGANG))
    assert stopped.json()["active"] is False
    await live.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(3)))
    await live.deliver(registry.ACCIDENT_REPORTED, accident(usccs(3)))
    assert await deliveries(live, mine["id"], live.admin) == []
    assert json.loads(json.dumps(mine))["owner"] == "city-platform"
