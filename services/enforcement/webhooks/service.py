"""Outbound webhooks (Standard Webhooks): subscriptions with a per-subscriber secret shown once,
a delivery row per subscriber written with the alert change that owes it, the worker's sending
(signed with the ``standardwebhooks`` library, retried with exponential backoff), the delivery
log, and the replay of missed deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from services.enforcement.access import ensure_owns, ensure_webhook_manager
from services.enforcement.context import EnforcementContext
from services.enforcement.domain import webhooks as rules
from services.enforcement.errors import forbidden, not_found
from services.enforcement.models import Alert, WebhookAttempt, WebhookDelivery, WebhookSubscription
from services.enforcement.webhooks import repository as repo
from shared.events.envelope import OutgoingEvent
from shared.http.pagination import PageParams, make_page
from shared.locality import in_jurisdiction

# --- subscriptions ------------------------------------------------------------------------------

async def create_subscription(ctx: EnforcementContext, *, url: str, event_types: list[str],
                              jurisdiction_code: str | None, description: str | None
                              ) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret (returned here only: it is never shown again)."""
    principal = ctx.principal
    ensure_webhook_manager(principal, write=True)
    if not principal.is_admin and principal.jurisdiction:
        if jurisdiction_code is None:
            jurisdiction_code = principal.jurisdiction
        elif not in_jurisdiction(principal.jurisdiction, jurisdiction_code):
            raise forbidden(f"jurisdiction {jurisdiction_code} lies outside yours ({principal.jurisdiction})")
    secret = rules.new_secret()
    row = WebhookSubscription(id=str(uuid.uuid4()), owner=principal.sub, url=url,
                              event_types=list(dict.fromkeys(event_types)), jurisdiction_code=jurisdiction_code,
                              description=description, secret=secret, active=True, created_at=ctx.now())
    ctx.session.add(row)
    await ctx.session.flush()
    return row, secret


async def read_subscription(ctx: EnforcementContext, subscription_id: str, *, write: bool = False
                            ) -> WebhookSubscription:
    ensure_webhook_manager(ctx.principal, write=write)
    row = await repo.get_subscription(ctx.session, subscription_id)
    if row is None:
        raise not_found("webhook subscription", subscription_id)
    ensure_owns(ctx.principal, row)
    return row


async def list_subscriptions(ctx: EnforcementContext, params: PageParams, after: Any) -> dict[str, Any]:
    ensure_webhook_manager(ctx.principal, write=False)
    owner = None if ctx.principal.is_admin else ctx.principal.sub
    rows = await repo.list_subscriptions(ctx.session, owner, limit=params.limit, after=after)
    return make_page(rows, params, lambda r: [r.created_at.isoformat(), r.id])


async def deactivate(ctx: EnforcementContext, subscription_id: str) -> WebhookSubscription:
    row = await read_subscription(ctx, subscription_id, write=True)
    row.active = False
    await ctx.session.flush()
    return row


# --- deliveries owed ----------------------------------------------------------------------------

async def enqueue(ctx: EnforcementContext, event: OutgoingEvent, alert: Alert) -> int:
    """A delivery for every active subscription that wants this event type about this alert's
    place, written in the caller's transaction (the alert change and its deliveries commit together)."""
    count = 0
    if ctx.subscriptions is None:
        ctx.subscriptions = await repo.active_subscriptions(ctx.session)
    for subscription in ctx.subscriptions:
        if event.type not in subscription.event_types:
            continue
        if subscription.jurisdiction_code and not (
                alert.location_code and in_jurisdiction(subscription.jurisdiction_code, alert.location_code)):
            continue
        ctx.session.add(WebhookDelivery(
            id=str(uuid.uuid4()), subscription_id=subscription.id, event_id=event.id, event_type=event.type,
            alert_id=alert.id, body=rules.payload(event.type, event.data, event.time), status="pending",
            attempts=0, next_attempt_at=ctx.now(), created_at=ctx.now()))
        count += 1
    if count:
        await ctx.session.flush()
    return count


async def delivery_log(ctx: EnforcementContext, subscription_id: str, status: str | None, params: PageParams,
                       after: Any) -> dict[str, Any]:
    await read_subscription(ctx, subscription_id)
    rows = await repo.list_deliveries(ctx.session, subscription_id, status, limit=params.limit, after=after)
    page = make_page(rows, params, lambda r: [r.created_at.isoformat(), r.id])
    attempts = await repo.attempts_of(ctx.session, [d.id for d in page["items"]])
    page["items"] = [(d, attempts[d.id]) for d in page["items"]]
    return page


async def replay(ctx: EnforcementContext, subscription_id: str, since: datetime, until: datetime | None,
                 include_delivered: bool) -> int:
    """Send again what the subscriber missed between ``since`` and ``until`` (default now): the
    deliveries that failed for good (and, asked for, those delivered too), with the same
    ``webhook-id`` so that a receiver drops what it already had."""
    await read_subscription(ctx, subscription_id, write=True)
    until = until or ctx.now() + timedelta(microseconds=1)
    if until <= since:
        return 0  # an empty range: nothing to send again
    statuses = ("failed", "delivered") if include_delivered else ("failed",)
    return await repo.requeue(ctx.session, subscription_id, since, until, statuses, ctx.now())


# --- sending (the worker) -----------------------------------------------------------------------



async def record_attempt(ctx: EnforcementContext, delivery_id: str, code: int | None, error: str | None,
                         duration_ms: int) -> WebhookDelivery | None:
    """Log the attempt; delivered, or the next try after the backoff, or failed for good."""
    delivery = await repo.get_delivery(ctx.session, delivery_id)
    if delivery is None:
        return None
    now, settings = ctx.now(), ctx.settings
    delivery.attempts += 1
    delivery.last_attempt_at, delivery.last_status_code, delivery.last_error = now, code, error
    ctx.session.add(WebhookAttempt(delivery_id=delivery.id, attempt=delivery.attempts, at=now, status_code=code,
                                   error=error, duration_ms=duration_ms))
    if error is None:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.next_attempt_at = now + rules.retry_delay(delivery.attempts, settings.webhook_backoff_base_s,
                                                          settings.webhook_backoff_cap_s)
    await ctx.session.flush()
    return delivery
