"""The queries of model versions: stored once, never replaced."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, bindparam, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import models
from shared.queries import insert_for

# The key of the transaction-scoped PostgreSQL advisory lock that serialises model loads with the
# writes of full-rescore chunks (SQLite's BEGIN IMMEDIATE already serialises every write).
MODELS_LOCK_KEY = 0x5C0121_0DE1
LOCK_MODELS = text(f"SELECT pg_advisory_xact_lock({MODELS_LOCK_KEY})")

IN_EFFECT = (select(models.c.version).where(models.c.effective_from <= bindparam("b_on", type_=Date))
             .order_by(models.c.effective_from.desc(), models.c.id.desc()).limit(1))
EARLIEST = select(models.c.version).order_by(models.c.effective_from, models.c.id).limit(1)


async def lock_models(session: AsyncSession) -> None:
    """Hold, until the caller's transaction ends, the lock a model load and a full rescore's chunk
    write take: a chunk that checks which model is in effect under it cannot commit with a model
    an already committed load replaced (PostgreSQL; on SQLite the write transaction is the lock)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(LOCK_MODELS)


async def version_in_effect(session: AsyncSession, on: date) -> str | None:
    """The version in effect on `on`: the latest effective_from on or before it (the latest loaded
    on a tie), else the earliest version; None when no version is stored."""
    version = (await session.execute(IN_EFFECT, {"b_on": on})).scalar()
    if version is None:
        version = (await session.execute(EARLIEST)).scalar()
    return version


async def get_model(session: AsyncSession, version: str) -> RowMapping | None:
    return (await session.execute(select(models).where(models.c.version == version))).mappings().first()


async def list_models(session: AsyncSession, after_id: int | None, limit: int) -> list[RowMapping]:
    query = select(models.c.id, models.c.version, models.c.effective_from, models.c.loaded_at, models.c.loaded_by,
                   models.c.rescored_at, models.c.rescored_enterprises, models.c.document)
    if after_id is not None:
        query = query.where(models.c.id < after_id)
    return list((await session.execute(query.order_by(models.c.id.desc()).limit(limit + 1))).mappings())


async def insert_model(session: AsyncSession, values: dict[str, Any], *, if_absent: bool = False) -> bool:
    """Store a model version; with if_absent, a version already stored is left as it is (False)."""
    if if_absent:
        statement = insert_for(session, models).on_conflict_do_nothing(index_elements=["version"])
        result = await session.execute(statement.values(**values))
        return bool(result.rowcount)
    await session.execute(models.insert().values(**values))
    return True


async def record_model_rescore(session: AsyncSession, version: str, at: datetime, count: int) -> None:
    """Note the first full rescore with a version (at load, or the nightly pass of its date)."""
    await session.execute(update(models).where(models.c.version == version, models.c.rescored_at.is_(None)).values(
        rescored_at=at, rescored_enterprises=count))
