"""API shapes of webhook subscriptions, their delivery log and replays."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, Field, field_validator

from services.enforcement.alerts.schemas import RequestBody
from services.enforcement.models import WebhookAttempt, WebhookDelivery, WebhookSubscription
from shared.contracts.enforcement import ALERT_RAISED, ALERT_STATUS_CHANGED
from shared.locality import DIVISION_CODE_PATTERN

WebhookEventType = Literal["safegrid.enforcement.alert.raised.v1", "safegrid.enforcement.alert.status_changed.v1"]
assert set(WebhookEventType.__args__) == {ALERT_RAISED.type, ALERT_STATUS_CHANGED.type}  # type: ignore[attr-defined]
DeliveryStatus = Literal["pending", "delivered", "failed"]


class SubscriptionCreate(RequestBody):
    url: AnyHttpUrl = Field(description="where to POST (http or https)")
    event_types: list[WebhookEventType] = Field(min_length=1, max_length=10)
    jurisdiction_code: str | None = Field(None, pattern=DIVISION_CODE_PATTERN, description=(
        "only alerts of enterprises in this subtree (default: the integrator's jurisdiction, or all)"))
    description: str | None = Field(None, max_length=500)

    @field_validator("url")
    @classmethod
    def _length(cls, url: AnyHttpUrl) -> AnyHttpUrl:
        if len(str(url)) > 2000:
            raise ValueError("at most 2000 characters")
        return url


class SubscriptionOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    jurisdiction_code: str | None
    description: str | None
    active: bool
    owner: str
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookSubscription) -> SubscriptionOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="the signing secret (whsec_…): shown this once, keep it")


class AttemptOut(BaseModel):
    attempt: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int

    @classmethod
    def of(cls, row: WebhookAttempt) -> AttemptOut:
        return cls.model_validate({n: getattr(row, n) for n in cls.model_fields})


class DeliveryOut(BaseModel):
    id: str
    webhook_id: str = Field(description="the webhook-id header the receiver saw (the same on every attempt)")
    event_id: str
    event_type: str
    alert_id: str | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    history: list[AttemptOut]

    @classmethod
    def of(cls, row: WebhookDelivery, attempts: list[WebhookAttempt]) -> DeliveryOut:
        from services.enforcement.domain.webhooks import message_id

        fields = {n: getattr(row, n) for n in cls.model_fields if n not in ("webhook_id", "history")}
        return cls(**fields, webhook_id=message_id(row.id), history=[AttemptOut.of(a) for a in attempts])


class ReplayRequest(RequestBody):
    since: datetime = Field(description="replay deliveries created at or after this moment (with its offset)")
    until: datetime | None = Field(None, description="…and before this one (default: now)")
    include_delivered: bool = Field(False, strict=True, description=(
        "also send again what was delivered (same webhook-id)"))

    @field_validator("since", "until", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("an RFC 3339 timestamp string with its offset")
        return value

    @field_validator("since", "until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.utcoffset() is None:
            raise ValueError("give the timezone offset")
        return value


class ReplayOut(BaseModel):
    queued: int
