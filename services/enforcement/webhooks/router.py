"""HTTP endpoints of outbound webhooks: subscriptions (admin, integrators), the delivery log and replays."""

from __future__ import annotations

from fastapi import APIRouter, status

from services.enforcement.access import Ctx, PageByTime, SubscriptionId
from services.enforcement.webhooks import service
from services.enforcement.webhooks.schemas import (
    DeliveryOut,
    DeliveryStatus,
    ReplayOut,
    ReplayRequest,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
)
from shared.http.pagination import Page

router = APIRouter(prefix="/api/v1", tags=["webhooks"])


@router.post("/webhooks", status_code=status.HTTP_201_CREATED,
             summary="Subscribe an endpoint to alert events (the secret is shown once)")
async def create_subscription(body: SubscriptionCreate, ctx: Ctx) -> SubscriptionCreated:
    row, secret = await service.create_subscription(ctx, url=str(body.url), event_types=list(body.event_types),
                                                    jurisdiction_code=body.jurisdiction_code,
                                                    description=body.description)
    return SubscriptionCreated(**SubscriptionOut.of(row).model_dump(), secret=secret)


@router.get("/webhooks", summary="Webhook subscriptions (an integrator's own; all for admin)")
async def list_subscriptions(ctx: Ctx, page: PageByTime) -> Page[SubscriptionOut]:
    found = await service.list_subscriptions(ctx, page.params, page.after)
    return Page[SubscriptionOut](items=[SubscriptionOut.of(r) for r in found["items"]],
                                 next_cursor=found["next_cursor"])


@router.get("/webhooks/{subscription_id}", summary="One webhook subscription")
async def get_subscription(subscription_id: SubscriptionId, ctx: Ctx) -> SubscriptionOut:
    return SubscriptionOut.of(await service.read_subscription(ctx, subscription_id))


@router.delete("/webhooks/{subscription_id}", summary="Stop a subscription (its log stays)")
async def delete_subscription(subscription_id: SubscriptionId, ctx: Ctx) -> SubscriptionOut:
    return SubscriptionOut.of(await service.deactivate(ctx, subscription_id))


@router.get("/webhooks/{subscription_id}/deliveries", summary="The delivery log, newest first, with every attempt")
async def list_deliveries(subscription_id: SubscriptionId, ctx: Ctx, page: PageByTime,
                          status: DeliveryStatus | None = None) -> Page[DeliveryOut]:
    found = await service.delivery_log(ctx, subscription_id, status, page.params, page.after)
    return Page[DeliveryOut](items=[DeliveryOut.of(d, a) for d, a in found["items"]], next_cursor=found["next_cursor"])


@router.post("/webhooks/{subscription_id}/replay", summary="Send again the deliveries missed in a time range")
async def replay(subscription_id: SubscriptionId, body: ReplayRequest, ctx: Ctx) -> ReplayOut:
    queued = await service.replay(ctx, subscription_id, body.since, body.until, body.include_delivered)
    return ReplayOut(queued=queued)
