"""A small HTTP/1.1 load generator, for when no compiled one (wrk, wrk2) is installed.

Keep-alive connections on one asyncio loop in a process of its own, GETs of one URL, answers
read by their Content-Length. Closed loop by default (each connection sends its next request
when the last is answered: the peak rate); with a rate, paced as wrk2 is: request ``i`` is due at
``start + i / rate`` and its latency counts from then, not from when a busy connection got round
to sending it, so a stall shows in the percentiles instead of slowing the load (no coordinated
omission). It costs a share of the machine's cores the server does not get: figures are
comparable within one run, not with wrk's.

Run: .venv/bin/python tests/bench/load.py URL SECONDS CONNECTIONS [RATE]; prints one JSON line
``{"requests", "rate", "p50_ms", "p99_ms", "errors"}``."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from urllib.parse import urlsplit

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)


class Run:
    """One measurement: the connections share the schedule and the latencies."""

    def __init__(self, request: bytes, seconds: float, rate: float | None) -> None:
        self.request, self.rate = request, rate
        self.start = time.perf_counter()
        self.until = self.start + seconds
        self.latencies: list[float] = []
        self.errors = 0
        self.slot = 0
        self.done = asyncio.get_running_loop().create_future()
        self.open = 0

    def next_due(self) -> float | None:
        """When the next request is due (None: the run is over)."""
        now = time.perf_counter()
        if self.rate is None:
            return now if now < self.until else None
        due = self.start + self.slot / self.rate
        self.slot += 1
        return due if due < self.until else None

    def finished(self, _connection: Connection) -> None:
        self.open -= 1
        if self.open == 0 and not self.done.done():
            self.done.set_result(None)


class Connection(asyncio.Protocol):
    def __init__(self, run: Run) -> None:
        self.run = run
        self.buffer = b""
        self.need: int | None = None
        self.status = 0
        self.due = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.run.open += 1
        self.send_next()

    def send_next(self) -> None:
        due = self.run.next_due()
        if due is None:
            assert self.transport is not None
            self.transport.close()
            return
        self.due = due
        delay = due - time.perf_counter()
        if delay > 0:
            asyncio.get_running_loop().call_later(delay, self.send)
        else:
            self.send()

    def send(self) -> None:
        if self.run.rate is None:
            self.due = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            if self.need is None:
                end = self.buffer.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = self.buffer[:end]
                length = CONTENT_LENGTH.search(head)
                if length is None:
                    raise RuntimeError(f"an answer without Content-Length: {head[:200]!r}")
                self.status = int(head[9:12])
                self.need = end + 4 + int(length.group(1))
            if len(self.buffer) < self.need:
                return
            self.buffer, self.need = self.buffer[self.need:], None
            self.run.latencies.append(time.perf_counter() - self.due)
            if not 200 <= self.status < 300:
                self.run.errors += 1
            self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        self.run.finished(self)


async def measure(url: str, seconds: float, connections: int, rate: float | None = None) -> dict[str, float]:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    request = f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nUser-Agent: safegrid-bench\r\n\r\n".encode()
    loop = asyncio.get_running_loop()
    run = Run(request, seconds, rate)
    for _ in range(connections):
        await loop.create_connection(lambda: Connection(run), parts.hostname, parts.port)
    await run.done
    elapsed = time.perf_counter() - run.start
    ordered = sorted(run.latencies)

    def percentile(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000 if ordered else float("nan")

    return {"requests": len(ordered), "rate": len(ordered) / elapsed, "p50_ms": percentile(0.50),
            "p99_ms": percentile(0.99), "errors": run.errors}


def main(argv: list[str]) -> None:
    url, seconds, connections = argv[0], float(argv[1]), int(argv[2])
    rate = float(argv[3]) if len(argv) > 3 else None
    print(json.dumps(asyncio.run(measure(url, seconds, connections, rate))))


if __name__ == "__main__":
    main(sys.argv[1:])
