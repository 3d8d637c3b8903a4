"""The headline chain's latency under a steady load, against the platform as `make run` starts it
(tests/e2e/support.py: ``safegrid dev --no-demo``, each service its own process).

STATIONS filling stations of mixed grades are registered over HTTP; then EVENTS
``filling_records.missing`` CloudEvents (the contract's envelope, one per distinct station and
business date, as the cut-off would publish them) are produced onto ``inspection.records`` at
RATE per second. For each, the time from its publication to its alert being readable over
enforcement's HTTP API (the newest alerts polled without pause, matched by correlation id) is
measured; the baseline is a raw produce→consume of the same message through the same broker at
the same rate. Also each process's resident memory at rest and under load.

Run: .venv/bin/python tests/bench/bench_headline.py [STATIONS] [EVENTS] [RATE]
(defaults 200, 2000, 100). Figures go to stdout and var/bench/headline.md."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from services.devrun import EMBEDDED_FETCH_MAX_WAIT_MS  # noqa: E402
from services.registry.domain.uscc import make_uscc  # noqa: E402
from shared.contracts.inspection import FILLING_RECORDS_MISSING, FillingRecordsMissing  # noqa: E402
from shared.db import new_uuid  # noqa: E402
from shared.events.envelope import OutgoingEvent, to_kafka  # noqa: E402
from shared.events.kafka import ensure_topics  # noqa: E402
from shared.locality import business_date  # noqa: E402
from tests.e2e.support import Platform, bearer, rss_mb, running_platform  # noqa: E402

RAW_TOPIC = "bench.headline.raw"
RAW_EVENTS = 500
GOAL_P99_MS = 250.0
GOAL_RSS_MB = 150.0
ADMIN = bearer("admin")
REGULATOR = bearer("regulator", jurisdiction="371102")
MANAGEMENT = ("safety_organization", "responsible_persons", "management_system", "emergency_plan",
              "emergency_drills", "training", "risk_control_mechanism", "hazard_investigation_mechanism")
# Per grade: (general credit grade, management facts missing, equipment, operators without a
# certificate), and the score rizhao-2026.1 gives it (gas filling adds 3 to each) before the load.
PROFILES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], int]] = {
    "A": ("A", (), ("valid",), 0),  # 3
    "B": ("C", ("management_system",), ("overdue",), 0),  # 7 + 5 + 8 + 3 = 23
    "C": ("D", ("management_system", "responsible_persons", "risk_control_mechanism"),
          ("overdue", "unregistered"), 0),  # 10 + 10 + 4 + 17 = 41
    "D": ("D", MANAGEMENT[:3] + MANAGEMENT[4:], ("overdue", "unregistered"), 1),  # 10 + 15 + 4 + 8 + 17 + 10 = 64
}
MIX = "AAAAABBBCD"  # of every ten stations


# --- the platform at rest -------------------------------------------------------------------------

def metric_sum(text: str, name: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name))


async def settled(client: httpx.AsyncClient, platform: Platform, timeout_s: float = 120.0) -> None:
    """Every outbox drained and every consumer caught up, twice in a row half a second apart."""
    deadline, calm = time.monotonic() + timeout_s, 0
    while calm < 2:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the platform did not settle within {timeout_s:g}s")
        busy = 0.0
        for name in platform.ports:
            text = (await client.get(platform.url(name, "/metrics"))).text
            busy += metric_sum(text, "safegrid_outbox_backlog") + metric_sum(text, "safegrid_consumer_lag")
        calm = calm + 1 if busy == 0 else 0
        await asyncio.sleep(0.5)


def memory(platform: Platform) -> dict[str, float]:
    return {name: rss for name, pid in sorted(platform.children().items()) if (rss := rss_mb(pid)) is not None}


# --- registering the stations ---------------------------------------------------------------------

def station(n: int) -> str:
    return make_uscc(f"91371102MA{n:07d}")


async def register(client: httpx.AsyncClient, platform: Platform, n: int, today: date) -> None:
    grade = MIX[n % len(MIX)]
    credit, missing, equipment, uncertified = PROFILES[grade]
    uscc = station(n)
    body = {"uscc": uscc, "name": f"东港区第{n}液化气站", "jurisdiction_code": "371102", "address": f"东港区{n}号",
            "location": {"lat": 35.42, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
            "general_credit_grade": credit, "management": {k: k not in missing for k in MANAGEMENT}}
    responses = [await client.post(platform.url("registry", "/api/v1/enterprises"), json=body, headers=REGULATOR)]
    for i, state in enumerate(equipment):
        responses.append(await client.post(platform.url("registry", f"/api/v1/enterprises/{uscc}/equipment"), json={
            "category": "2300", "status": "in_use", "equipment_code": f"R{i}",
            "registration_no": None if state == "unregistered" else f"容3LC鲁L{n:05d}{i}(24)",
            "next_inspection_due": str(today + timedelta(days=-30 if state == "overdue" else 300))},
            headers=REGULATOR))
    for k in range(uncertified):
        responses.append(await client.post(platform.url("registry", f"/api/v1/enterprises/{uscc}/operators"),
                                           json={"name": f"充装工{k}"}, headers=REGULATOR))
    for response in responses:
        if response.status_code != 201:
            raise RuntimeError(f"registering station {n}: {response.status_code} {response.text}")


async def register_all(client: httpx.AsyncClient, platform: Platform, stations: int, today: date) -> None:
    queue = list(range(stations))

    async def worker() -> None:
        while queue:
            await register(client, platform, queue.pop(), today)

    await asyncio.gather(*(worker() for _ in range(4)))
    deadline = time.monotonic() + 120
    while True:
        stats = (await client.get(platform.url("scoring", "/api/v1/statistics/grades"), headers=ADMIN)).json()
        if stats["total"]["total"] == stations:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"scoring holds {stats['total']} after 120 s, not {stations} stations")
        await asyncio.sleep(0.5)


# --- the load -------------------------------------------------------------------------------------

def missing_event(uscc: str, day: date) -> tuple[str, Any]:
    """A filling_records.missing as the cut-off publishes it (its id is its chain's correlation id)."""
    data = FillingRecordsMissing(enterprise_uscc=uscc, business_date=day, cutoff_at=datetime.now(UTC),
                                 cutoff_id=f"bench-{day}").model_dump(mode="json")
    event = OutgoingEvent(type=FILLING_RECORDS_MISSING.type, source=FILLING_RECORDS_MISSING.source, subject=uscc,
                          data=data)
    return event.id, to_kafka(event.attributes(), data, uscc)


async def paced(producer: AIOKafkaProducer, topic: str, messages: list[tuple[str, Any]], rate: float,
                sent: dict[str, float]) -> None:
    """Produce ``messages`` at ``rate`` per second, each one's send time in ``sent`` (by id)."""
    started = time.perf_counter()
    acks = []
    for i, (event_id, message) in enumerate(messages):
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        sent[event_id] = time.time()  # wall clock: compared with the services' timestamps too
        acks.append(await producer.send(topic, message.value, key=message.key.encode(),
                                        headers=list(message.headers.items())))
    await asyncio.gather(*acks)


async def watch_alerts(client: httpx.AsyncClient, platform: Platform, sent: dict[str, float],
                       seen: dict[str, float], raised: dict[str, float], total: int, stop: asyncio.Event) -> int:
    """Poll the newest missing-records alerts without pause, paging back until a known one; the
    moment each correlation id is first readable goes into ``seen``, its alert's ``raised_at``
    into ``raised``. How many polls it took."""
    url, polls = platform.url("enforcement", "/api/v1/alerts"), 0
    while len(seen) < total and not stop.is_set():
        cursor: str | None = None
        while True:
            params = {"kind": "filling_records_missing", "limit": 25, **({"cursor": cursor} if cursor else {})}
            page = (await client.get(url, params=params, headers=ADMIN)).json()
            polls += 1
            now = time.time()
            new = [a for a in page["items"] if a["correlation_id"] not in seen]
            for alert in new:
                if alert["correlation_id"] in sent:
                    seen[alert["correlation_id"]] = now
                    raised[alert["correlation_id"]] = datetime.fromisoformat(alert["raised_at"]).timestamp()
            cursor = page["next_cursor"]
            if not cursor or len(new) < len(page["items"]):
                break
        await asyncio.sleep(0.01)
    return polls


async def sample_memory(platform: Platform, peak: dict[str, float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for name, rss in memory(platform).items():
            peak[name] = max(peak.get(name, 0.0), rss)
        await asyncio.sleep(0.5)


async def raw_round_trip(bootstrap: str, messages: list[tuple[str, Any]], rate: float,
                         fetch_max_wait_ms: int) -> list[float]:
    """Milliseconds from send to receipt of each message through the same broker: raw aiokafka,
    polled as the platform's consumer runner polls (shared/events/consumer.py), with the fetch
    wait given (``safegrid dev`` gives its services 50 ms; Kafka's and aiokafka's default is 500)."""
    topic = f"{RAW_TOPIC}.{fetch_max_wait_ms}"
    await ensure_topics(bootstrap, [topic])
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=f"raw-{new_uuid()}",
                                auto_offset_reset="latest", enable_auto_commit=False, max_poll_records=200,
                                fetch_max_wait_ms=fetch_max_wait_ms)
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.05)
        await consumer.seek_to_end()
        sent: dict[str, float] = {}
        received: dict[str, float] = {}

        async def consume() -> None:
            while len(received) < len(messages):
                for records in (await consumer.getmany(timeout_ms=200, max_records=200)).values():
                    now = time.time()
                    for record in records:
                        received.setdefault(dict(record.headers)["ce_id"].decode(), now)

        reader = asyncio.create_task(consume())
        await paced(producer, topic, messages, rate, sent)
        await asyncio.wait_for(reader, 30)
        return [(received[i] - sent[i]) * 1000 for i in sent]
    finally:
        await producer.stop()
        await consumer.stop()


async def scored_at(client: httpx.AsyncClient, platform: Platform, event_ids: list[str],
                    stations: int) -> dict[str, float]:
    """When scoring computed the rescoring each missing event caused, for the events of the first
    50 stations (their score histories, newest first, by the cause's event id)."""
    wanted, found = set(event_ids), {}
    for n in range(min(stations, 50)):
        url = platform.url("scoring", f"/api/v1/enterprises/{station(n)}/score-history")
        for entry in (await client.get(url, params={"limit": 500}, headers=ADMIN)).json()["items"]:
            if entry["cause"]["event_id"] in wanted:
                found[entry["cause"]["event_id"]] = datetime.fromisoformat(entry["computed_at"]).timestamp()
    return found


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def run(platform: Platform, stations: int, events: int, rate: float) -> dict[str, Any]:
    today = business_date(datetime.now(UTC))
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.perf_counter()
        await register_all(client, platform, stations, today)
        registered_s = time.perf_counter() - started
        await settled(client, platform)
        grades = (await client.get(platform.url("scoring", "/api/v1/statistics/grades"), headers=ADMIN)).json()
        at_rest = memory(platform)

        same = [missing_event(station(i % stations), today) for i in range(RAW_EVENTS)]
        raw = {wait: await raw_round_trip(platform.bootstrap_servers, same, rate, wait)
               for wait in (int(EMBEDDED_FETCH_MAX_WAIT_MS), 500)}

        # distinct (station, business date) pairs: station i % N, the (1 + i // N)-th day back
        messages = [missing_event(station(i % stations), today - timedelta(days=1 + i // stations))
                    for i in range(events)]
        sent: dict[str, float] = {}
        seen: dict[str, float] = {}
        raised: dict[str, float] = {}
        peak: dict[str, float] = {}
        stop = asyncio.Event()
        producer = AIOKafkaProducer(bootstrap_servers=platform.bootstrap_servers, acks="all")
        await producer.start()
        sampler = asyncio.create_task(sample_memory(platform, peak, stop))
        watcher = asyncio.create_task(watch_alerts(client, platform, sent, seen, raised, events, stop))
        load_started = time.perf_counter()
        try:
            await paced(producer, FILLING_RECORDS_MISSING.topic, messages, rate, sent)
            published_s = time.perf_counter() - load_started
            try:
                polls = await asyncio.wait_for(asyncio.shield(watcher), 120)
            except TimeoutError:
                stop.set()
                polls = await watcher
        finally:
            stop.set()
            await sampler
            await producer.stop()
        drained_s = time.perf_counter() - load_started
        scored = await scored_at(client, platform, [m[0] for m in messages], stations)
    latencies = [(seen[i] - sent[i]) * 1000 for i in seen]
    hops = {"published → scored (score.updated committed)": [(scored[i] - sent[i]) * 1000 for i in scored],
            "scored → alert raised (committed)": [(raised[i] - scored[i]) * 1000 for i in scored if i in raised],
            "raised → readable over HTTP": [(seen[i] - raised[i]) * 1000 for i in raised]}
    return {"stations": stations, "events": events, "rate": rate, "registered_s": registered_s,
            "grades": {g: grades["total"][g] for g in "ABCD"}, "at_rest": at_rest, "peak": peak,
            "raw": raw, "latencies": latencies, "hops": hops, "published_s": published_s, "drained_s": drained_s,
            "polls": polls}


def report(r: dict[str, Any]) -> str:
    lat = r["latencies"]
    p50, p99 = quantile(lat, 0.50), quantile(lat, 0.99)
    lines = [
        "## The headline chain under load (`make bench`: tests/bench/bench_headline.py)",
        "",
        f"{r['stations']} filling stations (grades {', '.join(f'{g} {n}' for g, n in r['grades'].items())}) "
        f"registered over HTTP in {r['registered_s']:.1f} s; {r['events']} `filling_records.missing` produced "
        f"onto `inspection.records` at {r['rate']:g}/s ({r['published_s']:.1f} s), every alert readable "
        f"{r['drained_s']:.1f} s after the first publication; {len(lat)} of {r['events']} alerts seen "
        f"({r['polls']} polls of `GET /api/v1/alerts`). One machine, 2 cores shared with other work.",
        "",
        "| figure | p50 | p99 | max | goal |",
        "| --- | --- | --- | --- | --- |",
        f"| publication → alert readable over HTTP | {p50:.0f} ms | {p99:.0f} ms | {max(lat):.0f} ms | "
        f"p99 < {GOAL_P99_MS:.0f} ms: **{'met' if p99 < GOAL_P99_MS else 'not met'}** |",
    ]
    for wait, raw in r["raw"].items():
        how = f"fetch wait {wait} ms" + (", as the platform's consumers" if str(wait) == EMBEDDED_FETCH_MAX_WAIT_MS
                                         else ", aiokafka's default")
        lines.append(f"| baseline: raw produce → consume, same message and broker ({len(raw)} at {r['rate']:g}/s; "
                     f"{how}) | {quantile(raw, 0.5):.1f} ms | {quantile(raw, 0.99):.1f} ms | {max(raw):.1f} ms | |")
    for hop, values in r["hops"].items():
        if values:
            lines.append(f"| … {hop} ({len(values)} events) | {quantile(values, 0.5):.0f} ms | "
                         f"{quantile(values, 0.99):.0f} ms | {max(values):.0f} ms | |")
    lines += [
        "",
        "| process | RSS at rest | RSS under load (peak) | goal at rest |",
        "| --- | --- | --- | --- |",
    ]
    for name, rss in r["at_rest"].items():
        goal = "" if name == "broker" else f"< {GOAL_RSS_MB:.0f} MB: {'met' if rss < GOAL_RSS_MB else '**not met**'}"
        lines.append(f"| {name} | {rss:.0f} MB | {r['peak'].get(name, 0):.0f} MB | {goal} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    stations = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    events = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 100.0
    # The scheduled cut-off and registry's daily job would add events of their own mid-run.
    env = {"SAFEGRID_INSPECTION_CUTOFF_ENABLED": "false", "SAFEGRID_REGISTRY_DAILY_JOB_ENABLED": "false"}
    with tempfile.TemporaryDirectory() as tmp, running_platform(Path(tmp), env) as platform:
        result = asyncio.run(run(platform, stations, events, rate))
    text = report(result)
    print(text)
    out = ROOT / "var" / "bench" / "headline.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
