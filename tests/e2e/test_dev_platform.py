"""`safegrid dev` (what `make run` runs) end to end: the real broker and the five services as
separate processes on free ports. An enterprise registered over HTTP reaches scoring through
Kafka, and Ctrl-C stops every process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from services.catalog import SERVICES
from shared.auth import issue_token
from shared.broker import free_port, port_open
from shared.config import ServiceSettings

pytestmark = pytest.mark.broker
USCC = "91371102MA3C5K0X1Q"  # the headline enterprise of contract.md §5


def wait_for(probe, timeout_s: float, what: str):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            result = probe()
            if result:
                return result
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def platform(tmp_path):  # type: ignore[no-untyped-def]
    ports = {info.name: free_port() for info in SERVICES}
    broker_port = free_port()
    env = {**os.environ, "SAFEGRID_VAR_DIR": str(tmp_path / "var"), "PYTHONUNBUFFERED": "1",
           **{f"SAFEGRID_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    log = (tmp_path / "dev.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "dev", "--no-demo",
                                "--broker-port", str(broker_port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, ports, broker_port, tmp_path / "dev.log"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_the_platform_starts_carries_an_event_from_registry_to_scoring_and_stops_cleanly(platform):
    process, ports, broker_port, log = platform
    for name, port in ports.items():
        wait_for(lambda port=port: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 120,
                 f"{name} to be ready; log:\n{log.read_text()[-3000:]}")

    token = issue_token(ServiceSettings(), role="regulator", jurisdiction="371100")
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"http://127.0.0.1:{ports['registry']}/api/v1/enterprises", headers=headers, json={
        "uscc": USCC, "name": "东港区某街道液化气站", "jurisdiction_code": "371102", "address": "东港区某街道",
        "location": {"lat": 35.42, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
        "general_credit_grade": "B",
        "management": {k: True for k in ("safety_organization", "responsible_persons", "management_system",
                                         "emergency_plan", "emergency_drills", "training",
                                         "risk_control_mechanism", "hazard_investigation_mechanism")}})
    assert created.status_code == 201, created.text

    def scored():  # type: ignore[no-untyped-def]
        response = httpx.get(f"http://127.0.0.1:{ports['scoring']}/api/v1/enterprises/{USCC}/score",
                             headers=headers)
        return response.json() if response.status_code == 200 else None

    score = wait_for(scored, 30, "the enterprise to be scored from the registered event")
    assert score["grade"] in "ABCD" and score["model_version"]

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
    listening = [p for p in [*ports.values(), broker_port] if port_open("127.0.0.1", p)]
    assert not listening, f"processes still listen on {listening} after Ctrl-C"
