"""`safegrid dev` (what `make run` runs) end to end: the real broker and the five services as
separate processes on free ports. An enterprise registered over HTTP reaches scoring through
Kafka, and Ctrl-C stops every process."""

from __future__ import annotations

import httpx
import pytest

from shared.broker import port_open
from tests.e2e.support import bearer, wait_for

pytestmark = pytest.mark.broker
USCC = "91371102MA3C5K0X1Q"  # the headline enterprise of contract.md §5


def test_the_platform_starts_carries_an_event_from_registry_to_scoring_and_stops_cleanly(platform):
    headers = bearer("regulator", jurisdiction="371100")
    created = httpx.post(platform.url("registry", "/api/v1/enterprises"), headers=headers, json={
        "uscc": USCC, "name": "东港区某街道液化气站", "jurisdiction_code": "371102", "address": "东港区某街道",
        "location": {"lat": 35.42, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
        "general_credit_grade": "B",
        "management": {k: True for k in ("safety_organization", "responsible_persons", "management_system",
                                         "emergency_plan", "emergency_drills", "training",
                                         "risk_control_mechanism", "hazard_investigation_mechanism")}})
    assert created.status_code == 201, created.text

    def scored():  # type: ignore[no-untyped-def]
        response = httpx.get(platform.url("scoring", f"/api/v1/enterprises/{USCC}/score"), headers=headers)
        return response.json() if response.status_code == 200 else None

    score = wait_for(scored, "the enterprise to be scored from the registered event", 30)
    assert score["grade"] in "ABCD" and score["model_version"]

    assert platform.stop() == 0
    listening = [p for p in [*platform.ports.values(), platform.broker_port] if port_open("127.0.0.1", p)]
    assert not listening, f"processes still listen on {listening} after Ctrl-C"
