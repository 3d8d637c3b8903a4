"""Outbound webhooks as the Standard Webhooks specification says: what a signature covers, the
payload, the secret's form, and the retry schedule. The signing itself is the reference
library's (``standardwebhooks``); these are its inputs."""

from __future__ import annotations

import base64
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A per-subscriber secret: ``whsec_`` and 32 random bytes in base64 (the spec's form)."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


def message_id(delivery_id: str) -> str:
    """The ``webhook-id``: stable across retries and replays, so a receiver drops duplicates."""
    return f"msg_{delivery_id.replace('-', '')}"


def signed_content(msg_id: str, timestamp: datetime, body: str) -> str:
    """What the v1 signature covers: ``{webhook-id}.{webhook-timestamp}.{body}``."""
    return f"{msg_id}.{int(timestamp.astimezone(UTC).timestamp())}.{body}"


def payload(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The body, once, as sent on every attempt: ``{"type", "timestamp", "data"}`` (the spec's
    recommended shape), compact JSON."""
    return json.dumps({"type": event_type, "timestamp": at.astimezone(UTC).isoformat(), "data": data},
                      ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def retry_delay(attempt: int, base_s: float, cap_s: float) -> timedelta:
    """Exponential backoff after the ``attempt``-th failure (1-based): base, 2·base, 4·base, … capped."""
    return timedelta(seconds=min(base_s * 2 ** max(attempt - 1, 0), cap_s))


def succeeded(status_code: int) -> bool:
    """A 2xx answer delivers the message; anything else (or no answer) is retried."""
    return 200 <= status_code < 300
