"""Worker processes of a large full rescore: each reads a chunk of enterprises and scores it, while
the service process writes the chunks already scored. Reading and scoring are most of the work
and need no lock, so a second core does them; the write re-checks under lock what it writes.

A worker opens its own engine without the service's BEGIN IMMEDIATE: on SQLite (WAL) its reads
then run beside the service's writes instead of queueing behind them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing.util import Finalize
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from services.scoring.domain import Scored, ScoringModel, evaluate, parse_model
from services.scoring.scores import repository as repo
from shared.db import is_sqlite


@dataclass
class _Worker:
    loop: asyncio.AbstractEventLoop
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    model: ScoringModel
    ceiling_since: date


_worker: _Worker | None = None


def start(database_url: str, model_document: dict[str, Any], ceiling_since: date) -> None:
    """Process-pool initializer: one event loop, one engine and the parsed model per worker."""
    global _worker
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    options: dict[str, Any] = {"connect_args": {"timeout": 30}} if is_sqlite(database_url) else {"pool_size": 1}
    engine = create_async_engine(database_url, **options)
    _worker = _Worker(loop, engine, async_sessionmaker(engine, expire_on_commit=False), parse_model(model_document),
                      ceiling_since)
    # Close the connections when the pool shuts the worker down (multiprocessing runs these finalizers).
    Finalize(_worker, _close, args=(loop, engine), exitpriority=10)


def _close(loop: asyncio.AbstractEventLoop, engine: AsyncEngine) -> None:
    loop.run_until_complete(engine.dispose())
    loop.close()


def score_range(after: str, last: str, as_of: datetime) -> list[Scored]:
    """Score every scorable enterprise with `after` < USCC <= `last`, as of `as_of`."""
    assert _worker is not None, "start was not run in this process"
    return _worker.loop.run_until_complete(_score_range(_worker, after, last, as_of))


async def _score_range(worker: _Worker, after: str, last: str, as_of: datetime) -> list[Scored]:
    async with worker.sessions() as session:
        usccs = await repo.scorable_usccs_between(session, after, last)
        state = await repo.load_enterprise_state(session, usccs, contiguous=True,
                                                 ceiling_since=worker.ceiling_since) if usccs else {}
    return evaluate(state, worker.model, as_of)
