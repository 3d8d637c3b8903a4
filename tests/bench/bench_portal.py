"""Portal speed, against a bare FastAPI hello-world measured in this same run, served the same
way (uvicorn, one worker, 127.0.0.1) and loaded by the same compiled tool (Debian's ``wrk``):

- the public QR JSON endpoint (``GET /api/v1/public/qr/{token}``: a token already resolved, the
  read model's unit, its grade, equipment by category and ratings on SQLite) and the QR page
  (``GET /q/{token}``, server-rendered), each in requests/s as a ratio of the hello-world's
  (target: the JSON at least 0.75) and with its p99 latency;
- the portal's ``/healthz`` the same way: the platform's middleware stack alone (request id and
  trace context, metrics, the Idempotency-Key and NUL guards), the floor under any of its routes;
- the p99 with a light load (4 connections), standing in for "60% of the peak rate": wrk cannot
  pace requests (wrk2 can; Debian does not package it), so the paced figure is not measured.

Run: .venv/bin/python tests/bench/bench_portal.py [SECONDS]."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from fastapi import FastAPI  # noqa: E402

from services.portal.models import EnterpriseRow, EquipmentRow, QrTokenRow  # noqa: E402
from shared.db import build_engine, build_session_factory  # noqa: E402
from shared.migrations import upgrade  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
UNIT, TOKEN = "91371102MA3C5K0X1Q", "b" * 32


def hello() -> FastAPI:
    """The baseline: the smallest FastAPI app, one JSON route."""
    app = FastAPI()

    @app.get("/hello")
    async def hello_world() -> dict[str, str]:
        return {"hello": "world"}

    return app


async def seed(url: str) -> None:
    await upgrade(ROOT / "services" / "portal" / "migrations", url)
    engine = build_engine(url)
    now = datetime.now(UTC)
    async with build_session_factory(engine)() as session, session.begin():
        session.add(EnterpriseRow(uscc=UNIT, revision=1, name="东港区某街道液化气站", jurisdiction_code="371102",
                                  kinds=["gas_filling"], key_supervision=False, operating=True, grade="B", score=30.0,
                                  scored_at=now, grade_since=now - timedelta(days=40)))
        session.add_all(EquipmentRow(equipment_id=f"E{n}", uscc=UNIT, revision=1, category="2300" if n % 3 else "3110",
                                     registration_no=f"R{n}", status="in_use",
                                     next_inspection_due=(now + timedelta(days=n - 5)).date()) for n in range(30))
        session.add(QrTokenRow(token=TOKEN, kind="enterprise", uscc=UNIT, name="东港区某街道液化气站", revoked=False,
                               checked_at=now))
    await engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1",
                                "--port", str(port), "--workers", "1", "--log-level", "warning", "--no-access-log"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


def wrk(url: str, seconds: int, connections: int) -> tuple[float, float]:
    """(requests/s, p99 ms) from one wrk run after a short warm-up."""
    subprocess.run(["wrk", "-t1", "-c4", "-d1s", url], capture_output=True, check=True)
    out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", url],
                         capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    return rate, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def main(seconds: int) -> None:
    if shutil.which("wrk") is None:  # say so, and let make bench go on with the other benches
        print("skipped: wrk is not installed (apt-get install wrk); the bench needs a compiled load tool")
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/portal.db"
        asyncio.run(seed(url))
        env = {**os.environ, "SAFEGRID_PORTAL_DATABASE_URL": url, "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",
               "SAFEGRID_CONSUMERS_ENABLED": "false", "SAFEGRID_RELAY_ENABLED": "false",
               "SAFEGRID_PORTAL_REGISTRY_URL": "http://127.0.0.1:1", "SAFEGRID_PORTAL_QR_RECHECK_S": "1e9",
               "SAFEGRID_PORTAL_LOOKUPS_PER_MINUTE": "1000000000", "SAFEGRID_LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(ROOT)}
        figures = {}
        for name, target, path in (("hello-world", "tests.bench.bench_portal:hello", "/hello"),
                                   ("/healthz", "services.portal.main:create_app", "/healthz"),
                                   ("QR JSON", "services.portal.main:create_app", f"/api/v1/public/qr/{TOKEN}"),
                                   ("QR page", "services.portal.main:create_app", f"/q/{TOKEN}")):
            process, port = serve(target, env)
            try:
                peak, p99 = wrk(f"http://127.0.0.1:{port}{path}", seconds, 32)
                _, light_p99 = wrk(f"http://127.0.0.1:{port}{path}", seconds, 4)
            finally:
                process.terminate()
                process.wait(timeout=10)
            figures[name] = (peak, p99, light_p99)
    base = figures["hello-world"][0]
    print(f"{'':12} {'req/s':>9} {'ratio':>6} {'p99 ms (32 conn)':>17} {'p99 ms (4 conn)':>16}")
    for name, (peak, p99, light) in figures.items():
        print(f"{name:12} {peak:9.0f} {peak / base:6.2f} {p99:17.2f} {light:16.2f}")
    print("target: QR JSON ratio >= 0.75; p99 < 10 ms at 60% of peak (paced load not measured: see the docstring)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
