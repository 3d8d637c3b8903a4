"""The record chain's use cases: append links (serialised per enterprise on its head row),
publish heads (so that a copy lives outside this database), and verify a chain against its own
hashes, its head and every head published.

Any record family appends through ``append``: filling batches and their corrections, equipment
records, self-inspection submissions and hazards. A family that keeps rows of its own beside its
links registers a ``ContentCheck`` so that verification also compares those rows with what the
links sealed (each family's ``content_checks()``, listed where chains are verified: the chain
router and the CLI)."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.chain import repository as repo
from services.inspection.context import InspectionContext
from services.inspection.domain.chain import (
    KIND,
    Broken,
    ChainVerifier,
    Link,
    link_hash,
    payload_hash,
    payload_text,
    timestamp_text,
)
from shared.contracts.inspection import CHAIN_HEAD_PUBLISHED, ChainHeadPublished
from shared.http.pagination import PageParams, make_page


class ContentCheck(Protocol):
    """What a record family checks when a chain is verified: its own rows against the links of its
    ``kind`` (one chunk at a time), and at the end that it keeps no row that no link sealed. One
    instance per verification (it may count as it goes)."""

    kind: str

    async def check(self, session: AsyncSession, uscc: str, links: Sequence[Link]) -> Broken | None: ...

    async def finish(self, session: AsyncSession, uscc: str, length: int) -> Broken | None: ...


@dataclass(frozen=True)
class Appended:
    sequence: int
    link_hash: str


async def append(ctx: InspectionContext, uscc: str, kind: str, payloads: Sequence[Mapping[str, Any]],
                 corrects: Sequence[int | None] | None = None, *, head: Mapping[str, Any] | None = None
                 ) -> list[Appended]:
    """Append one link per payload to the enterprise's chain, in order, in the caller's
    transaction; publishes the head when ``chain_head_every`` links accumulated since the last.
    ``head``: the head row the caller already locked in this transaction (else it is locked here)."""
    if not KIND.match(kind):
        raise ValueError(f"link kind {kind!r} must match {KIND.pattern}")
    now = ctx.now()
    if head is None:
        head = await repo.lock_head(ctx.session, uscc, now)
    sequence, previous = head["sequence"], head["head_hash"]
    created = timestamp_text(now)
    rows, appended = [], []
    for n, payload in enumerate(payloads):
        text = payload_text(payload)
        digest = payload_hash(text)
        fixes = corrects[n] if corrects else None
        sequence += 1
        if fixes is not None and not 0 < fixes < sequence:
            raise ValueError(f"link {sequence} cannot correct link {fixes}")
        current = link_hash(enterprise_uscc=uscc, sequence=sequence, previous_hash=previous, kind=kind,
                            payload_hash=digest, created_at=created, corrects=fixes)
        rows.append({"enterprise_uscc": uscc, "sequence": sequence, "previous_hash": previous,
                     "payload_hash": digest, "link_hash": current, "kind": kind, "payload": text,
                     "corrects": fixes, "created_at": now})
        appended.append(Appended(sequence, current))
        previous = current
    if not rows:
        return []
    await repo.insert_links(ctx.session, rows)
    await repo.move_head(ctx.session, uscc, sequence, previous, now)
    if sequence - head["published_sequence"] >= ctx.settings.chain_head_every:
        await _publish(ctx, uscc, sequence, previous)
    return appended


async def _publish(ctx: InspectionContext, uscc: str, sequence: int, head_hash: str) -> None:
    now = ctx.now()
    event = await ctx.outbox.publish(ctx.session, CHAIN_HEAD_PUBLISHED, subject=uscc, data=ChainHeadPublished(
        enterprise_uscc=uscc, sequence=sequence, head_hash=head_hash, published_at=now))
    await repo.mark_published(ctx.session, uscc, sequence, head_hash, now, event.id)


async def publish_head(ctx: InspectionContext, uscc: str) -> int | None:
    """Publish the enterprise's head now if links were appended since the last published one;
    the sequence published, or None."""
    head = await repo.lock_head(ctx.session, uscc, ctx.now())
    if head["sequence"] <= head["published_sequence"]:
        return None
    await _publish(ctx, uscc, head["sequence"], head["head_hash"])
    return head["sequence"]


async def publish_due_heads(ctx: InspectionContext, limit: int = 1000) -> list[str]:
    """The timer's part: every chain with unpublished links whose last head was published more
    than ``chain_head_interval_s`` ago (or never) gets its head published."""
    before = ctx.now() - timedelta(seconds=ctx.settings.chain_head_interval_s)
    due = await repo.heads_due(ctx.session, before, limit)
    published = []
    for uscc in due:
        if await publish_head(ctx, uscc) is not None:
            published.append(uscc)
    return published


async def verify(ctx: InspectionContext, uscc: str, checks: Sequence[ContentCheck] = ()) -> dict[str, Any]:
    """Recompute the enterprise's chain link by link (streamed in chunks), check the rows each
    record family keeps against its links (``checks``), and compare with the head row and every
    head published. Names the first broken link; an intact chain has ``intact`` true."""
    started = time.perf_counter()
    session = ctx.session
    published = await repo.published_heads(session, uscc)
    head = await repo.get_head(session, uscc)
    verifier = ChainVerifier(uscc)
    verifier.watch(sequence for sequence, _ in published)
    content_broken: Broken | None = None
    async for chunk in repo.stream_links(session, uscc, ctx.settings.chain_verify_chunk):
        intact = verifier.feed(chunk)
        for check in checks if content_broken is None else ():
            # the links that held (the content of the first broken one may be the earlier sign)
            of_kind = [link for link in chunk if link.kind == check.kind and (
                intact or link.sequence <= verifier.broken.sequence)]  # type: ignore[union-attr]
            if of_kind and (found := await check.check(session, uscc, of_kind)) is not None:
                content_broken = found
                break
        if not intact:
            break
    broken = verifier.finish((head["sequence"], head["head_hash"]) if head else None, published)
    if broken is None and content_broken is None:
        for check in checks:
            if (content_broken := await check.finish(session, uscc, verifier.length)) is not None:
                break
    if content_broken is not None and (broken is None or content_broken.sequence < broken.sequence):
        broken = content_broken
    return {
        "enterprise_uscc": uscc, "intact": broken is None, "links": verifier.length,
        "head_sequence": head["sequence"] if head else 0, "head_hash": head["head_hash"] if head else None,
        "published_heads": len(published), "last_published_sequence": published[-1][0] if published else None,
        "first_broken": None if broken is None else {"sequence": broken.sequence, "reason": broken.reason},
        "verified_at": ctx.now(), "seconds": round(time.perf_counter() - started, 3),
    }


def link_out(row: Any) -> dict[str, Any]:
    return {"sequence": row["sequence"], "kind": row["kind"], "previous_hash": row["previous_hash"],
            "payload_hash": row["payload_hash"], "link_hash": row["link_hash"], "corrects": row["corrects"],
            "created_at": row["created_at"], "payload": row["payload"]}


async def list_links(ctx: InspectionContext, uscc: str, page: PageParams, after: int | None) -> dict[str, Any]:
    rows = await repo.list_links(ctx.session, uscc, after, page.limit + 1)
    return make_page(rows, page, lambda r: [r["sequence"]], link_out)

