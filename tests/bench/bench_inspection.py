"""Inspection throughput, each figure against a baseline measured in this same run.

- filling-record ingest through the API (HTTP, validation, ledger lookups, anomaly rules, the
  lookup of what is stored, the bulk insert, the chain link, the outbox) in 1,000-record batches,
  against a bulk insert of the same rows with the raw driver (aiosqlite / asyncpg executemany, one
  transaction per batch): the ratio of throughputs (target >= 0.5), on SQLite and on PostgreSQL
  when it runs (there also against COPY of the same rows, the way the service itself writes them);
- the hash chain's share of ingest time (hashing the records' canonical encoding, appending the
  link; target < 10%);
- verifying a chain of 1,000,000 links (seconds, not minutes).

Run: .venv/bin/python tests/bench/bench_inspection.py [BATCHES] [LINKS]."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.inspection.chain import service as chain  # noqa: E402
from services.inspection.domain.canonical import canonical_fast  # noqa: E402
from services.inspection.domain.chain import GENESIS_HASH, link_hash, payload_hash, timestamp_text  # noqa: E402
from services.inspection.main import create_app  # noqa: E402
from services.inspection.records import service as records_service  # noqa: E402
from shared.context import unit_of_work  # noqa: E402
from shared.testing import databases  # noqa: E402
from shared.testing.services import running_service  # noqa: E402

USCC = "91371102MA3C5K0X1Q"
BATCH = 1000
DAY = date(2026, 6, 15)
QUIET = {"consumers_enabled": False, "relay_enabled": False, "cutoff_enabled": False,
         "maintenance_check_enabled": False, "task_jobs_enabled": False}  # no job's start-up run in the measure
COLUMNS = ("enterprise_uscc", "cylinder_no", "medium", "filled_at", "business_date", "pre_check_passed",
           "post_check_passed", "operator_cert_no", "checker_cert_no", "filled_mass_kg", "scale_id", "batch_id",
           "received_at", "anomalies", "chain_sequence")


def batch_records(b: int) -> list[dict[str, Any]]:
    start = datetime(2026, 6, 15, 6, 0, tzinfo=UTC)
    return [{"enterprise_uscc": USCC, "cylinder_no": f"C{n:05d}", "medium": "LPG",
             "filled_at": (start + timedelta(seconds=b * BATCH + n)).isoformat(), "pre_check_passed": True,
             "post_check_passed": True, "operator_cert_no": "P-0001", "filled_mass_kg": 14.5} for n in range(BATCH)]


async def seed_ledger(svc: Any) -> None:
    """A filling station with 1,000 cylinders and one certified operator (straight into the projection)."""
    runtime = svc.runtime
    async with unit_of_work(runtime) as ctx:
        from services.inspection.ledger import repository as ledger

        await ledger.save_enterprise(ctx.session, {
            "uscc": USCC, "revision": 1, "name": "bench", "jurisdiction_code": "371102", "grid_code": None,
            "kinds": ["gas_filling"], "filling_unit": True, "operating": True, "operating_status": "operating",
            "location": None, "first_seen_at": ctx.now(), "event_id": "bench"})
        await ctx.session.execute(ledger.cylinders.insert(), [
            {"uscc": USCC, "cylinder_id": f"cyl-{n}", "cylinder_no": f"C{n:05d}", "revision": 1, "medium": "LPG",
             "next_inspection_date": date(2028, 1, 1), "scrap_date": date(2034, 1, 1), "status": "in_use",
             "event_id": "bench"} for n in range(BATCH)])
        await ledger.save_operator(ctx.session, {"uscc": USCC, "operator_id": "op", "revision": 1,
                                                 "certificate_no": "P-0001",
                                                 "certificate_valid_until": date(2029, 1, 1), "active": True,
                                                 "event_id": "bench"})


class Stopwatch:
    """Time spent inside the wrapped functions (the chain's part of ingest)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def sync(self, fn):  # type: ignore[no-untyped-def]
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed

    def coro(self, fn):  # type: ignore[no-untyped-def]
        async def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started = time.perf_counter()
            try:
                return await fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started
        return timed


async def api_ingest(database_url: str, batches: int) -> tuple[float, float]:
    """Records per second through POST /filling-records, and the chain's share of that time."""
    watch = Stopwatch()
    original_hash, original_append = records_service.records_hash, chain.append
    records_service.records_hash = watch.sync(original_hash)
    chain.append = watch.coro(original_append)
    try:
        async with running_service(create_app, database_url, **QUIET) as svc:
            svc.runtime.clock = lambda: datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
            await seed_ledger(svc)
            headers = svc.auth("integrator", jurisdiction="371100", scopes=["inspection:write"])
            # Bodies encoded beforehand: the load generator's JSON encoding is not the service's time.
            headers["content-type"] = "application/json"
            bodies = [json.dumps({"records": batch_records(b)}).encode() for b in range(batches + 1)]
            await svc.client.post("/api/v1/filling-records", content=bodies[0], headers=headers)  # warm-up
            if svc.runtime.engine.dialect.name == "postgresql":
                # Steady state: a production database's tables have statistics (autovacuum); a
                # ledger just loaded has none, and its 1,000-cylinder lookup then took 15 ms, not 2.
                async with unit_of_work(svc.runtime) as ctx:
                    await ctx.session.execute(text("ANALYZE"))
            watch.seconds = 0.0
            started = time.perf_counter()
            for body in bodies[1:]:
                response = await svc.client.post("/api/v1/filling-records", content=body, headers=headers)
                assert response.status_code == 201 and response.json()["stored"] == BATCH, response.text
            elapsed = time.perf_counter() - started
    finally:
        records_service.records_hash, chain.append = original_hash, original_append
    return batches * BATCH / elapsed, watch.seconds / elapsed


def raw_rows(batches: int, sqlite: bool) -> list[list[tuple[Any, ...]]]:
    received = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    out = []
    for b in range(1, batches + 1):
        rows = []
        for r in batch_records(b):
            filled = datetime.fromisoformat(r["filled_at"])
            values = (USCC, r["cylinder_no"], "LPG", filled, DAY, True, True, "P-0001", None, 14.5, None, f"b{b}",
                      received, "", b)
            if sqlite:
                values = (*values[:3], filled.replace(tzinfo=None).isoformat(sep=" "), DAY.isoformat(), 1, 1,
                          *values[7:12], received.replace(tzinfo=None).isoformat(sep=" "), "", b)
            rows.append(values)
        out.append(rows)
    return out


INSERT = (f"INSERT INTO filling_records ({', '.join(COLUMNS)}) VALUES ({{}}) "
          "ON CONFLICT (enterprise_uscc, cylinder_no, filled_at) WHERE corrects_id IS NULL DO NOTHING")


async def raw_sqlite(path: str, batches: int) -> float:
    data = raw_rows(batches, sqlite=True)
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        started = time.perf_counter()
        for rows in data:
            await db.executemany(INSERT.format(", ".join("?" * len(COLUMNS))), rows)
            await db.commit()
        elapsed = time.perf_counter() - started
    return batches * BATCH / elapsed


async def raw_postgres(url: str, batches: int) -> float:
    data = raw_rows(batches, sqlite=False)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        statement = INSERT.format(", ".join(f"${n}" for n in range(1, len(COLUMNS) + 1)))
        started = time.perf_counter()
        for rows in data:
            async with connection.transaction():
                await connection.executemany(statement, rows)
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return batches * BATCH / elapsed


async def raw_postgres_copy(url: str, batches: int) -> float:
    """The same rows by COPY, as the service now stores them (after its own lookup of what is
    stored: COPY cannot skip a duplicate); shown beside the target's baseline, not instead of it."""
    data = raw_rows(batches, sqlite=False)
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        started = time.perf_counter()
        for rows in data:
            async with connection.transaction():
                await connection.copy_records_to_table("filling_records", records=rows, columns=COLUMNS)
        elapsed = time.perf_counter() - started
    finally:
        await connection.close()
    return batches * BATCH / elapsed


async def fresh_schema(kind: str, directory: Path, name: str) -> str:
    from shared.migrations import upgrade

    if kind == "sqlite":
        url = databases.sqlite_url(directory, name)
    else:
        url = await databases.create_postgres_database()
    await upgrade(Path(__file__).resolve().parents[2] / "services/inspection/migrations", url)
    return url


def chain_rows(n: int) -> list[tuple[Any, ...]]:
    """``n`` links of one chain, hashed as the service hashes them."""
    rows, previous = [], GENESIS_HASH
    created = datetime(2026, 6, 15, 4, 0, tzinfo=UTC)
    stamp = timestamp_text(created)
    for k in range(1, n + 1):
        text = canonical_fast({"batch_id": f"b{k}", "records": 1000, "first_record_id": k * 1000}).decode()
        digest = payload_hash(text)
        current = link_hash(enterprise_uscc=USCC, sequence=k, previous_hash=previous, kind="bench_record",
                            payload_hash=digest, created_at=stamp, corrects=None)
        rows.append((USCC, k, previous, digest, current, "bench_record", text, None, created))
        previous = current
    return rows


async def verify_million(kind: str, url: str, n: int) -> tuple[float, float]:
    """(seconds to build and load the chain, seconds to verify it)."""
    started = time.perf_counter()
    rows = chain_rows(n)
    columns = ("enterprise_uscc", "sequence", "previous_hash", "payload_hash", "link_hash", "kind", "payload",
               "corrects", "created_at")
    if kind == "sqlite":
        async with aiosqlite.connect(url.removeprefix("sqlite+aiosqlite:///")) as db:
            await db.executemany(f"INSERT INTO chain_links ({', '.join(columns)}) VALUES ({', '.join('?' * 9)})",
                                 [(*r[:8], r[8].replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds"))
                                  for r in rows])
            await db.execute("INSERT INTO chain_heads (enterprise_uscc, sequence, head_hash, published_sequence, "
                             "updated_at) VALUES (?, ?, ?, 0, '2026-06-15 04:00:00.000000')", (USCC, n, rows[-1][4]))
            await db.commit()
    else:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await connection.copy_records_to_table("chain_links", records=rows, columns=columns)
            await connection.execute("INSERT INTO chain_heads (enterprise_uscc, sequence, head_hash, "
                                     "published_sequence, updated_at) VALUES ($1, $2, $3, 0, now())",
                                     USCC, n, rows[-1][4])
        finally:
            await connection.close()
    loaded = time.perf_counter() - started
    del rows
    async with running_service(create_app, url, **QUIET) as svc:
        async with unit_of_work(svc.runtime) as ctx:
            started = time.perf_counter()
            result = await chain.verify(ctx, USCC, records_service.content_checks())
            verified = time.perf_counter() - started
    assert result["intact"] and result["links"] == n, result
    return loaded, verified


def mandated_work_ms(batches: int) -> tuple[float, float]:
    """Per batch, the work the issue itself asks of ingest beyond storing the rows, each measured
    alone (the best of the batches): decoding and validating the body with the service's own model
    (a malformed batch must be refused whole), and the records hash that seals it in the chain."""
    from services.inspection.domain.records import records_hash
    from services.inspection.records.schemas import FillingBatchIn

    bodies = [json.dumps({"records": batch_records(b)}).encode() for b in range(1, batches + 1)]
    validate, seal = [], []
    for n, body in enumerate(bodies):
        started = time.perf_counter()
        batch = FillingBatchIn.model_validate_json(body)
        validate.append(time.perf_counter() - started)
        rows = [{**r.model_dump(), "id": n * BATCH + k, "filled_at": r.filled_at.astimezone(UTC)}
                for k, r in enumerate(batch.records)]
        started = time.perf_counter()
        records_hash(rows)
        seal.append(time.perf_counter() - started)
    return min(validate) * 1000, min(seal) * 1000


ROUNDS = 3  # each side measured this often, alternately, on fresh databases; the best of each counts


async def backend(kind: str, directory: Path, batches: int, links: int) -> None:
    made: list[str] = []

    async def fresh(name: str) -> str:
        made.append(await fresh_schema(kind, directory, f"{name}{len(made)}"))
        return made[-1]

    try:
        apis, shares, raws, copies = [], [], [], []
        for _ in range(ROUNDS):
            measured, share = await api_ingest(await fresh("api"), batches)
            apis.append(measured)
            shares.append(share)
            raw_url = await fresh("raw")
            raws.append(await (raw_sqlite(raw_url.removeprefix("sqlite+aiosqlite:///"), batches)
                               if kind == "sqlite" else raw_postgres(raw_url, batches)))
            if kind == "postgres":
                copies.append(await raw_postgres_copy(await fresh("copy"), batches))
        api, raw = max(apis), max(raws)
        chain_share = shares[apis.index(api)]
        chain_url = await fresh("chain")
        print(f"{kind}: {batches} batches of {BATCH} filling records (best of {ROUNDS} alternate rounds each)")
        print(f"  raw driver bulk insert  {raw:10.0f} records/s")
        print(f"  API ingest              {api:10.0f} records/s   ratio {api / raw:.2f} of raw (target >= 0.5)")
        print(f"  median round's ratio: {statistics.median(a / r for a, r in zip(apis, raws, strict=True)):.2f}")
        if copies:
            copy = max(copies)
            print(f"  raw driver COPY         {copy:10.0f} records/s   (the API: ratio {api / copy:.2f} of it)")
        print(f"  hash chain's share of ingest time: {chain_share:.1%} (target < 10%)")
        validate_ms, seal_ms = mandated_work_ms(batches)
        raw_ms = BATCH / raw * 1000
        print(f"  per batch: raw insert {raw_ms:.1f} ms; alone, decoding and validating the body {validate_ms:.1f} ms "
              f"and sealing it {seal_ms:.1f} ms: with nothing else, ingest's ratio could reach "
              f"{raw_ms / (raw_ms + validate_ms + seal_ms):.2f}")
        loaded, verified = await verify_million(kind, chain_url, links)
        print(f"  verify a chain of {links:,} links: {verified:.1f} s ({links / verified:,.0f} links/s; "
              f"built and loaded in {loaded:.0f} s)")
    finally:
        if kind == "postgres":
            for url in made:
                await databases.drop_postgres_database(url)


async def main(batches: int, links: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        await backend("sqlite", Path(tmp), batches, links)
        reason = await databases.postgres_available()
        if reason:
            print(f"postgres: skipped ({reason})")
        else:
            await backend("postgres", Path(tmp), batches, links)


if __name__ == "__main__":
    import logging

    logging.disable(logging.INFO)
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20, int(sys.argv[2]) if len(sys.argv) > 2
                     else 1_000_000))
