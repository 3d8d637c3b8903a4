"""`safegrid demo load` end to end: the platform as processes (`safegrid dev --no-demo` on free
ports), then the demo command against it, then every service asked over HTTP what it holds:
the ledger, grades A-D, a station's filling records, missing-records alerts, a station's public
QR page; and a second `demo load --if-empty` changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from services.catalog import SERVICES
from shared.auth import issue_token
from shared.broker import free_port
from shared.config import ServiceSettings

pytestmark = pytest.mark.broker
SIZE = 60


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
           "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{broker_port}",
           "SAFEGRID_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['portal']}",
           **{f"SAFEGRID_{name.upper()}_PORT": str(port) for name, port in ports.items()}}
    log = (tmp_path / "dev.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "services.cli", "dev", "--no-demo",
                                "--broker-port", str(broker_port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        for name, port in ports.items():
            wait_for(lambda port=port: httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200, 120,
                     f"{name} to be ready; log:\n{(tmp_path / 'dev.log').read_text()[-3000:]}")
        yield env, ports
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def demo_load(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", "demo", "load", *args], env=env,
                          capture_output=True, text=True, timeout=180)


def test_the_demo_city_reaches_every_service_once(platform) -> None:  # type: ignore[no-untyped-def]
    env, ports = platform
    loaded = demo_load(env, "--size", str(SIZE))
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr[-3000:]

    regulator = {"Authorization": f"Bearer {issue_token(ServiceSettings(), role='regulator', jurisdiction='371100')}"}

    def get(service: str, path: str, **params: Any) -> Any:
        response = httpx.get(f"http://127.0.0.1:{ports[service]}{path}", headers=regulator, params=params,
                             timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def every(service: str, path: str, **params: Any) -> list[dict[str, Any]]:
        items, cursor = [], None
        while True:
            page = get(service, path, limit=500, **params, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def held() -> dict[str, Any]:
        stations = every("registry", "/api/v1/enterprises", kind="gas_filling")
        return {"units": len(every("registry", "/api/v1/enterprises")),
                "grades": get("scoring", "/api/v1/statistics/grades", jurisdiction="371100")["total"],
                "records": {s["uscc"]: len(every("inspection", f"/api/v1/enterprises/{s['uscc']}/filling-records"))
                            for s in stations},
                "alerts": len(every("enforcement", "/api/v1/alerts")),
                "missing": every("enforcement", "/api/v1/alerts", kind="filling_records_missing"),
                "patrols": len(every("enforcement", "/api/v1/patrols")),
                "cases": len(every("enforcement", "/api/v1/cases")),
                "tasks": len(every("inspection", "/api/v1/tasks")),
                "stations": stations}

    first = held()
    assert first["units"] == SIZE
    assert first["grades"]["total"] == SIZE and all(first["grades"][g] > 0 for g in "ABCD"), first["grades"]
    assert len(first["stations"]) == 12 and all(first["records"].values()), first["records"]
    assert first["missing"] and first["missing"][0]["correlation_id"]
    assert first["patrols"] >= 3 and first["cases"] >= 1 and first["tasks"] >= 12

    station = first["stations"][0]
    qr = get("registry", f"/api/v1/enterprises/{station['uscc']}/qr")
    page = httpx.get(qr["url"], timeout=30)
    assert page.status_code == 200 and station["name"] in page.text
    assert "where to look first" in loaded.stdout and f"127.0.0.1:{ports['portal']}/q/" in loaded.stdout

    again = demo_load(env, "--if-empty")
    assert again.returncode == 0 and "nothing loaded" in again.stderr, again.stdout + again.stderr[-3000:]
    time.sleep(1.0)  # anything a second load had sent would have propagated by now
    second = held()
    assert {k: v for k, v in second.items() if k != "missing"} == {k: v for k, v in first.items() if k != "missing"}
    assert len(second["missing"]) == len(first["missing"])
    assert demo_load(env).returncode == 1  # without --if-empty, a loaded platform is an error
