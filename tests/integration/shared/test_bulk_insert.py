"""``shared.queries.insert_rows`` writes what Core's executemany writes, on both databases: the same
values read back, the same stored text on SQLite (whose timestamps compare as text), the
columns a row leaves out filled by their defaults, inside the caller's transaction, and a
duplicate key raised as Core raises it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import JSON, Boolean, Column, Date, Float, Integer, MetaData, String, Table, func, insert, select, text
from sqlalchemy.exc import IntegrityError

from shared.db import AwareDateTime, BigId, build_engine, build_session_factory
from shared.queries import WriteBehind, insert_rows

metadata = MetaData()
things = Table(
    "things", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False),
    Column("score", Float),
    Column("active", Boolean, nullable=False),
    Column("on_day", Date),
    Column("at", AwareDateTime()),
    Column("doc", JSON, nullable=False),
    Column("maybe", JSON(none_as_null=True)),
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", AwareDateTime(), nullable=False, default=lambda: datetime(2026, 6, 15, tzinfo=UTC)),
)


def rows(prefix: str) -> list[dict[str, Any]]:
    moment = datetime(2026, 6, 15, 12, 30, 1, 5, tzinfo=timezone(timedelta(hours=8)))
    return [{"name": f"{prefix}{n}", "score": n / 3 if n % 2 else None, "active": n % 3 == 0,
             "on_day": date(2026, 1, 1 + n) if n % 2 else None, "at": moment if n < 3 else None,
             "doc": {"名": "日照", "n": n, "list": [1.5, None, True], "nested": {"a": []}},
             "maybe": None if n % 2 else {"n": n}} for n in range(6)]


async def test_bulk_rows_read_back_as_core_writes_them(empty_database_url: str) -> None:
    engine = build_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = build_session_factory(engine)
        async with sessions() as session, session.begin():
            await session.execute(insert(things), rows("core"))
            await insert_rows(session, things, rows("bulk"))
            await insert_rows(session, things, [])
        async with sessions() as session:
            stored = [dict(r) for r in (await session.execute(select(things).order_by(things.c.id))).mappings()]
            raw = (await session.execute(text("SELECT * FROM things ORDER BY id"))).all()
    finally:
        await engine.dispose()
    core, bulk = stored[:6], stored[6:]
    assert len(bulk) == 6
    for a, b in zip(core, bulk, strict=True):
        assert {k: v for k, v in a.items() if k not in ("id", "name")} == \
            {k: v for k, v in b.items() if k not in ("id", "name")}
    assert bulk[0]["at"] == datetime(2026, 6, 15, 4, 30, 1, 5, tzinfo=UTC) and bulk[0]["attempts"] == 0
    assert bulk[1]["maybe"] is None and bulk[0]["doc"]["名"] == "日照"
    if empty_database_url.startswith("sqlite"):  # timestamps, dates and booleans stored as Core stores them
        columns = [c.name for c in things.columns]
        for a, b in zip(raw[:6], raw[6:], strict=True):
            assert [a[n] for n, c in enumerate(columns) if c not in ("id", "name", "doc", "maybe")] == \
                [b[n] for n, c in enumerate(columns) if c not in ("id", "name", "doc", "maybe")]


async def test_bulk_rows_stay_in_their_transaction_and_fail_as_core_does(empty_database_url: str) -> None:
    engine = build_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = build_session_factory(engine)
        async with sessions() as session:
            async with session.begin():
                await insert_rows(session, things, rows("gone"))  # the transaction's first statement
                await session.rollback()
            assert (await session.execute(select(func.count()).select_from(things))).scalar_one() == 0
        async with sessions() as session, session.begin():
            await insert_rows(session, things, [{**rows("id")[0], "id": 7}])
        with pytest.raises(IntegrityError) as raised:
            async with sessions() as session, session.begin():
                await insert_rows(session, things, [{**row, "id": 7 + n} for n, row in enumerate(rows("dup"))])
        if not empty_database_url.startswith("sqlite"):
            assert raised.value.orig.sqlstate == "23505"  # type: ignore[union-attr]
        async with sessions() as session:  # the failed transaction left nothing, the session works on
            assert (await session.execute(select(func.count()).select_from(things))).scalar_one() == 1
    finally:
        await engine.dispose()


async def test_writes_behind_run_in_order_and_a_failed_one_raises(empty_database_url: str) -> None:
    engine = build_engine(empty_database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        sessions = build_session_factory(engine)
        async with sessions() as session, session.begin():
            async with WriteBehind(session) as writes:
                for n in range(5):
                    await writes.put(insert_rows, session, things, [{**rows(f"w{n}-")[0], "id": 100 + n}])
            names = (await session.execute(select(things.c.name).order_by(things.c.id))).scalars().all()
        assert names == [f"w{n}-0" for n in range(5)]
        with pytest.raises(IntegrityError):
            async with sessions() as session, session.begin(), WriteBehind(session) as writes:
                await writes.put(insert_rows, session, things, [{**rows("again")[0], "id": 100}])
                await writes.put(insert_rows, session, things, [{**rows("never")[0], "id": 200}])
        async with sessions() as session:
            assert (await session.execute(select(func.count()).select_from(things))).scalar_one() == 5
    finally:
        await engine.dispose()
