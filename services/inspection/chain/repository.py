"""Queries of the record chain: the head row every append locks, the links, the heads published."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, bindparam, func, select, type_coerce, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.domain.chain import GENESIS_HASH, Link
from services.inspection.models import ChainHead, ChainLink, PublishedHead
from shared.queries import upsert

links = ChainLink.__table__
heads = ChainHead.__table__
published = PublishedHead.__table__

LOCK_HEAD = select(heads).where(heads.c.enterprise_uscc == bindparam("b_uscc")).with_for_update()


async def lock_head(session: AsyncSession, uscc: str, now: datetime) -> RowMapping:
    """The enterprise's chain head, locked until the transaction ends (SELECT … FOR UPDATE on
    PostgreSQL; SQLite's writers are serialised by BEGIN IMMEDIATE): appends to one chain queue
    here, so no two links ever get the same sequence or the same previous hash."""
    row = (await session.execute(LOCK_HEAD, {"b_uscc": uscc})).mappings().first()
    if row is None:
        await upsert(session, heads, [{"enterprise_uscc": uscc, "sequence": 0, "head_hash": GENESIS_HASH,
                                       "published_sequence": 0, "published_at": None, "updated_at": now}],
                     key=["enterprise_uscc"], update_columns=[])
        row = (await session.execute(LOCK_HEAD, {"b_uscc": uscc})).mappings().one()
    return row


async def get_head(session: AsyncSession, uscc: str) -> RowMapping | None:
    return (await session.execute(select(heads).where(heads.c.enterprise_uscc == uscc))).mappings().first()


async def insert_links(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    await session.execute(links.insert(), list(rows))


async def move_head(session: AsyncSession, uscc: str, sequence: int, head_hash: str, now: datetime) -> None:
    await session.execute(update(heads).where(heads.c.enterprise_uscc == uscc).values(
        sequence=sequence, head_hash=head_hash, updated_at=now))


async def mark_published(session: AsyncSession, uscc: str, sequence: int, head_hash: str, now: datetime,
                         event_id: str) -> None:
    await session.execute(update(heads).where(heads.c.enterprise_uscc == uscc).values(
        published_sequence=sequence, published_at=now))
    await upsert(session, published, [{"enterprise_uscc": uscc, "sequence": sequence, "head_hash": head_hash,
                                       "published_at": now, "event_id": event_id}],
                 key=["enterprise_uscc", "sequence"], update_columns=[])


async def heads_due(session: AsyncSession, published_before: datetime, limit: int) -> list[str]:
    """Chains with links no published head covers yet, last published before ``published_before``."""
    query = select(heads.c.enterprise_uscc).where(
        heads.c.sequence > heads.c.published_sequence,
        (heads.c.published_at.is_(None)) | (heads.c.published_at < published_before),
    ).order_by(heads.c.enterprise_uscc).limit(limit)
    return list((await session.execute(query)).scalars())


async def published_heads(session: AsyncSession, uscc: str) -> list[tuple[int, str]]:
    rows = await session.execute(select(published.c.sequence, published.c.head_hash).where(
        published.c.enterprise_uscc == uscc).order_by(published.c.sequence))
    return [(r[0], r[1]) for r in rows]


def _created_text(dialect: str) -> Any:
    """``created_at`` as the chain hashes it (``domain.chain.timestamp_text``), written by the
    database: a million timestamps parsed and formatted in Python were half of verification."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", links.c.created_at), 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    # SQLite holds UTC as "YYYY-MM-DD HH:MM:SS.ffffff" (shared.db.AwareDateTime)
    return func.replace(type_coerce(links.c.created_at, String), " ", "T").concat("Z")


def _chunk_query(dialect: str) -> Any:
    return select(links.c.sequence, links.c.previous_hash, links.c.payload_hash, links.c.link_hash, links.c.kind,
                  links.c.payload, _created_text(dialect), links.c.corrects).where(
        links.c.enterprise_uscc == bindparam("b_uscc"), links.c.sequence > bindparam("b_after"),
    ).order_by(links.c.sequence).limit(bindparam("b_limit"))


_CHUNK = {name: _chunk_query(name) for name in ("postgresql", "sqlite")}


async def stream_links(session: AsyncSession, uscc: str, chunk: int) -> AsyncIterator[list[Link]]:
    """The chain's links in sequence order, ``chunk`` per query (keyset on the unique sequence)."""
    after = 0
    query = _CHUNK[session.get_bind().dialect.name]
    while True:
        rows = (await session.execute(query, {"b_uscc": uscc, "b_after": after, "b_limit": chunk})).all()
        if not rows:
            return
        yield [Link(*row) for row in rows]
        after = rows[-1][0]


async def list_links(session: AsyncSession, uscc: str, after: int | None, limit: int) -> list[RowMapping]:
    query = select(links).where(links.c.enterprise_uscc == uscc)
    if after is not None:
        query = query.where(links.c.sequence > after)
    return list((await session.execute(query.order_by(links.c.sequence).limit(limit))).mappings())
