"""Every query about webhooks: subscriptions, the deliveries an event owes, claiming due
deliveries for the worker, the delivery log, and the replay of missed ones."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.models import WebhookAttempt, WebhookDelivery, WebhookSubscription


async def active_subscriptions(session: AsyncSession) -> list[WebhookSubscription]:
    return list((await session.execute(select(WebhookSubscription).where(WebhookSubscription.active))).scalars())


async def get_subscription(session: AsyncSession, subscription_id: str) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, subscription_id)


def _after(created: Any, ident: Any, after: tuple[datetime, str] | None) -> Any:
    if after is None:
        return True
    moment, last = after
    return or_(created < moment, and_(created == moment, ident < last))


async def list_subscriptions(session: AsyncSession, owner: str | None, *, limit: int,
                             after: tuple[datetime, str] | None) -> list[WebhookSubscription]:
    statement = select(WebhookSubscription).where(_after(WebhookSubscription.created_at, WebhookSubscription.id, after))
    if owner is not None:
        statement = statement.where(WebhookSubscription.owner == owner)
    statement = statement.order_by(WebhookSubscription.created_at.desc(), WebhookSubscription.id.desc())
    return list((await session.execute(statement.limit(limit + 1))).scalars())


async def list_deliveries(session: AsyncSession, subscription_id: str, status: str | None, *, limit: int,
                          after: tuple[datetime, str] | None) -> list[WebhookDelivery]:
    statement = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id,
                                              _after(WebhookDelivery.created_at, WebhookDelivery.id, after))
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    statement = statement.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc())
    return list((await session.execute(statement.limit(limit + 1))).scalars())


async def attempts_of(session: AsyncSession, delivery_ids: list[str]) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        rows = await session.execute(select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(delivery_ids))
                                     .order_by(WebhookAttempt.id))
        for attempt in rows.scalars():
            found[attempt.delivery_id].append(attempt)
    return found


async def claim_due(session: AsyncSession, now: datetime, lease_until: datetime, limit: int
                    ) -> list[tuple[WebhookDelivery, WebhookSubscription]]:
    """Pending deliveries whose time came, oldest first; their next attempt moves to
    ``lease_until`` so that another worker leaves them alone while this one sends them."""
    rows = (await session.execute(
        select(WebhookDelivery, WebhookSubscription)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery))).all()
    for delivery, _ in rows:
        delivery.next_attempt_at = lease_until
    await session.flush()
    return [(d, s) for d, s in rows]


async def get_delivery(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return (await session.execute(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id)
                                  .with_for_update())).scalar_one_or_none()


async def requeue(session: AsyncSession, subscription_id: str, since: datetime, until: datetime,
                  statuses: tuple[str, ...], now: datetime) -> int:
    result = await session.execute(update(WebhookDelivery).where(
        WebhookDelivery.subscription_id == subscription_id, WebhookDelivery.created_at >= since,
        WebhookDelivery.created_at < until, WebhookDelivery.status.in_(statuses),
    ).values(status="pending", attempts=0, next_attempt_at=now, last_error=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
