"""One delivery attempt over HTTP, signed as the Standard Webhooks specification says: the
adapter the delivery worker (``jobs.webhook_worker``) calls; the use cases stay in ``service.py``."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from services.enforcement.domain import webhooks as rules
from services.enforcement.models import WebhookDelivery, WebhookSubscription

USER_AGENT = "safegrid-enforcement-webhooks/1"


def signed_headers(secret: str, delivery_id: str, body: str, at: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed by the reference library."""
    msg_id = rules.message_id(delivery_id)
    at = at.astimezone(UTC)
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body),
            "content-type": "application/json", "user-agent": USER_AGENT}


async def send(client: httpx.AsyncClient, subscription: WebhookSubscription, delivery: WebhookDelivery
               ) -> tuple[int | None, str | None, int]:
    """One attempt: (status code or None, error or None, duration in ms). The signature's
    timestamp is the wall clock's: the receiver checks it against its own."""
    started = time.perf_counter()
    headers = signed_headers(subscription.secret, delivery.id, delivery.body, datetime.now(UTC))
    try:
        response = await client.post(subscription.url, content=delivery.body.encode(), headers=headers)
        code, error = response.status_code, None if rules.succeeded(response.status_code) else \
            f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        code, error = None, f"{type(exc).__name__}: {exc}"[:1000]
    return code, error, int((time.perf_counter() - started) * 1000)
