"""SQLite (the development default): writers queue instead of failing, and read-only probes such
as /readyz never wait behind a writer."""

import asyncio
import time

from sqlalchemy import text

from shared.db import READ_ONLY_OPTION, build_engine


async def test_a_read_only_probe_does_not_wait_for_a_long_write_and_writers_queue(sqlite_database_url):
    engine = build_engine(sqlite_database_url)
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holding = asyncio.Event()

    async def slow_writer(value: int) -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
            holding.set()
            await asyncio.sleep(1.0)

    writer = asyncio.create_task(slow_writer(1))
    await holding.wait()
    started = time.monotonic()
    async with engine.connect() as connection:
        await connection.execution_options(**{READ_ONLY_OPTION: True})
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0  # the snapshot before
    probe_seconds = time.monotonic() - started
    second = asyncio.create_task(slow_writer(2))  # waits on the busy timeout, then succeeds
    await asyncio.gather(writer, second)
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 2
    await engine.dispose()
    assert probe_seconds < 0.5, f"the read-only probe waited {probe_seconds:.2f}s behind a writer"
