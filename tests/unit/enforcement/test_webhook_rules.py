"""What a Standard Webhooks signature covers, checked against the reference library; payloads,
secrets and the retry schedule."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

from standardwebhooks.webhooks import Webhook

from services.enforcement.domain.webhooks import (
    message_id,
    new_secret,
    payload,
    retry_delay,
    signed_content,
    succeeded,
)


def test_the_library_signs_exactly_id_dot_timestamp_dot_body_with_the_decoded_secret():
    secret = new_secret()
    at = datetime(2026, 6, 15, 13, 0, 5, tzinfo=UTC)
    body = payload("safegrid.enforcement.alert.raised.v1", {"alert_id": "a", "grade": "D"}, at)
    msg = message_id("0b1c2d3e-0000-4000-8000-000000000001")

    ours = hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed_content(msg, at, body).encode(),
                    hashlib.sha256).digest()

    assert Webhook(secret).sign(msg, at, body) == "v1," + base64.b64encode(ours).decode()
    assert signed_content(msg, at, body).startswith(f"{msg}.1781528405.")


def test_secrets_ids_and_payloads_have_the_spec_form():
    secret = new_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32 and secret != new_secret()
    assert message_id("0b1c2d3e-0000-4000-8000-000000000001") == "msg_0b1c2d3e000040008000000000000001"
    body = json.loads(payload("t", {"x": "东港"}, datetime(2026, 6, 15, 21, 0, tzinfo=UTC)))
    assert body == {"type": "t", "timestamp": "2026-06-15T21:00:00+00:00", "data": {"x": "东港"}}


def test_retries_back_off_exponentially_up_to_the_cap():
    assert [retry_delay(n, 10, 3600) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert retry_delay(30, 10, 3600) == timedelta(hours=1)
    assert succeeded(200) and succeeded(204) and not succeeded(302) and not succeeded(500)
