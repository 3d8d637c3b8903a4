"""Bulk import throughput of the registry against a bare insert of the same rows.

Run: .venv/bin/python tests/bench/bench_registry_import.py [N] (default 100,000 enterprise rows).
Each figure is the best of three rounds, the two sides measured alternately in this run on fresh
SQLite databases, and again on fresh PostgreSQL databases (created and dropped here) when
PostgreSQL answers at ``SAFEGRID_TEST_POSTGRES_URL`` (default 127.0.0.1:5432):
- import: the CSV through `import_file` (parse, validate every row against the jurisdiction
  tree, upsert in chunks, one registered event per row in the outbox, the report);
- re-run: the same file again (every row unchanged: no write, no event);
- baseline: the same rows, already typed, written with a bare SQLAlchemy Core executemany in
  chunks of the same size, with no validation and no events.
The ratio is import over the baseline on the same database (1.0 = validation and events cost
nothing; target >= 0.5)."""

from __future__ import annotations

import asyncio
import csv
import io
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from services.catalog import BY_NAME  # noqa: E402
from services.registry.config import Settings  # noqa: E402
from services.registry.domain.kinds import kinds_tags  # noqa: E402
from services.registry.domain.uscc import make_uscc  # noqa: E402
from services.registry.enterprises.service import seed_jurisdictions  # noqa: E402
from services.registry.imports.service import import_file  # noqa: E402
from services.registry.main import create_app  # noqa: E402
from services.registry.models import Enterprise, Jurisdiction  # noqa: E402
from shared.app import build_runtime, stop_runtime  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.context import unit_of_work  # noqa: E402
from shared.contracts.common import MANAGEMENT_KEYS  # noqa: E402
from shared.db import utcnow  # noqa: E402
from shared.migrations import upgrade  # noqa: E402
from shared.testing import databases  # noqa: E402

HEADERS = ["uscc", "name", "jurisdiction_code", "grid_code", "address", "lat", "lon", "venue_type", "kinds",
           "general_credit_grade", *MANAGEMENT_KEYS]
VENUES = ["other"] * 8 + ["school", "mall", "hospital"]
KINDS = ["", "elevator", "lifting;in_plant_vehicle", "boiler", "gas_filling", "pressure_vessel"]
ADMIN = Principal(sub="bench", role="admin")


async def fresh_runtime(url: str) -> Any:
    settings = Settings(database_url=url, relay_enabled=False, daily_job_enabled=False, log_level="WARNING")
    await upgrade(BY_NAME["registry"].migrations, settings.effective_database_url)
    runtime = build_runtime(create_app(settings).state.definition)
    async with unit_of_work(runtime) as ctx:
        await seed_jurisdictions(ctx)
    return runtime


async def grids(runtime: Any) -> list[Jurisdiction]:
    async with runtime.session_factory() as session:
        return list((await session.execute(select(Jurisdiction).where(Jurisdiction.level == "grid"))).scalars())


def generate(n: int, grid_rows: list[Jurisdiction]) -> tuple[bytes, list[dict[str, Any]]]:
    """N enterprise rows as a CSV in our headers, and the same rows typed for the baseline."""
    rng = random.Random(100_000)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    typed = []
    now = utcnow()
    for i in range(n):
        grid = grid_rows[i % len(grid_rows)]
        uscc = make_uscc(f"91{grid.code[:6]}MA{i:07d}")
        lat = round(rng.uniform(grid.min_lat, grid.max_lat), 5)  # type: ignore[arg-type]
        lon = round(rng.uniform(grid.min_lon, grid.max_lon), 5)  # type: ignore[arg-type]
        venue, kinds = rng.choice(VENUES), rng.choice(KINDS)
        grade = rng.choice("AAAAAABBBC")
        facts = [rng.random() > 0.1 for _ in MANAGEMENT_KEYS]
        name = f"日照市第{i}号使用单位"
        writer.writerow([uscc, name, grid.code[:6], grid.code, f"{grid.name}{i}号", lat, lon, venue, kinds, grade,
                         *("是" if f else "否" for f in facts)])
        typed.append({"uscc": uscc, "revision": 1, "name": name, "jurisdiction_code": grid.code[:6],
                      "grid_code": grid.code, "division_code": grid.code, "address": f"{grid.name}{i}号", "lat": lat,
                      "lon": lon, "venue_type": venue, "kinds_tags": kinds_tags(kinds.split(";") if kinds else []),
                      "general_credit_grade": grade, "management": {}, "declared_management": {},
                      "contacts": [], "associations": [], "sandbox": False, "operating_status": "operating",
                      "key_supervision": venue != "other", "key_supervision_causes": [],
                      "registered_by": "bench", "created_at": now, "updated_at": now})
    return buffer.getvalue().encode(), typed


async def timed_import(runtime: Any, content: bytes) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    async with unit_of_work(runtime, ADMIN) as ctx:  # import_file opens its own unit per chunk
        _, result = await import_file(ctx, content, filename="bench.csv")
    return time.perf_counter() - started, result.totals()


async def timed_baseline(runtime: Any, rows: list[dict[str, Any]], chunk: int) -> float:
    table = Enterprise.__table__
    started = time.perf_counter()
    for offset in range(0, len(rows), chunk):
        async with unit_of_work(runtime) as ctx:
            await ctx.session.execute(insert(table), rows[offset: offset + chunk])
    return time.perf_counter() - started


ROUNDS = 3  # each side measured this often, alternately, on fresh databases; the best of each counts


async def backend(kind: str, directory: Path, n: int) -> None:
    made: list[str] = []

    async def fresh(name: str) -> Any:
        url = (databases.sqlite_url(directory, f"{name}{len(made)}") if kind == "sqlite"
               else await databases.create_postgres_database())
        made.append(url)
        return await fresh_runtime(url)

    try:
        elapsed = rerun = baseline = float("inf")
        for round_ in range(ROUNDS):
            runtime = await fresh("import")
            content, typed = generate(n, await grids(runtime))
            if round_ == 0:
                print(f"{kind}: {n:,} enterprise rows, {len(content) / 1e6:.1f} MB of CSV, chunks of "
                      f"{runtime.settings.import_chunk_size} (best of {ROUNDS} alternate rounds each)")
            seconds, totals = await timed_import(runtime, content)
            assert totals["inserted"] == n and totals["rejected"] == 0 and totals["events"] == n, totals
            elapsed = min(elapsed, seconds)
            seconds, totals = await timed_import(runtime, content)
            assert totals["unchanged"] == n and totals["events"] == 0, totals
            rerun = min(rerun, seconds)
            await stop_runtime(runtime)

            bare = await fresh("baseline")
            baseline = min(baseline, await timed_baseline(bare, typed, bare.settings.import_chunk_size))
            await stop_runtime(bare)
        print(f"  import    {n / elapsed:10,.0f} rows/s  ({elapsed:5.1f} s, {n:,} events)")
        print(f"  re-run    {n / rerun:10,.0f} rows/s  ({rerun:5.1f} s, every row unchanged, no events)")
        print(f"  baseline  {n / baseline:10,.0f} rows/s  ({baseline:5.1f} s, Core executemany, no validation)")
        print(f"  ratio     {baseline / elapsed:10.2f}       (import rows/s over baseline rows/s; target >= 0.5)")
    finally:
        if kind == "postgres":
            for url in made:
                await databases.drop_postgres_database(url)


async def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        await backend("sqlite", Path(directory), n)
        reason = await databases.postgres_available()
        if reason:
            print(f"postgres: skipped ({reason})")
        else:
            await backend("postgres", Path(directory), n)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
