"""Queries of hazards (隐患) and their evidence; row scoping as tasks' (``tasks.repository.visible``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.models import Hazard, HazardEvidence

hazards = Hazard.__table__
evidence = HazardEvidence.__table__


async def insert_hazard(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(hazards.insert().values(**values))


async def get_hazard(session: AsyncSession, hazard_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(hazards).where(hazards.c.id == hazard_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def open_items(session: AsyncSession, task_id: str) -> set[str]:
    """Items of the task that already have an unrectified hazard (a correction raises no twin)."""
    rows = await session.execute(select(hazards.c.item_code).where(
        hazards.c.task_id == task_id, hazards.c.status != "rectified"))
    return set(rows.scalars())


async def list_hazards(session: AsyncSession, conditions: Sequence[Any], after: tuple[datetime, str] | None,
                       limit: int) -> list[RowMapping]:
    query = select(hazards).where(*conditions)
    if after:
        query = query.where(or_(hazards.c.raised_at > after[0],
                                and_(hazards.c.raised_at == after[0], hazards.c.id > after[1])))
    return list((await session.execute(query.order_by(hazards.c.raised_at, hazards.c.id).limit(limit))).mappings())


async def change(session: AsyncSession, hazard_id: str, version: int, **values: Any) -> bool:
    """Compare-and-set on the version: False when someone changed the hazard meanwhile."""
    result = await session.execute(update(hazards).where(hazards.c.id == hazard_id, hazards.c.version == version)
                                   .values(version=version + 1, **values))
    return result.rowcount == 1


async def overdue_candidates(session: AsyncSession, before: date, limit: int) -> list[str]:
    return list((await session.execute(select(hazards.c.id).where(
        hazards.c.status == "open", hazards.c.deadline_date < before, hazards.c.overdue_event_id.is_(None),
    ).order_by(hazards.c.deadline_date, hazards.c.id).limit(limit))).scalars())


async def claim_overdue(session: AsyncSession, hazard_id: str, before: date) -> RowMapping | None:
    """Mark the hazard reported overdue if nobody has (a concurrent run finds nothing to do)."""
    result = await session.execute(update(hazards).where(
        hazards.c.id == hazard_id, hazards.c.overdue_event_id.is_(None), hazards.c.status == "open",
        hazards.c.deadline_date < before).values(overdue_event_id="pending"))
    if result.rowcount != 1:
        return None
    return await get_hazard(session, hazard_id)


async def set_overdue_event(session: AsyncSession, hazard_id: str, event_id: str) -> None:
    await session.execute(update(hazards).where(hazards.c.id == hazard_id).values(overdue_event_id=event_id))


async def recheck_overdue_candidates(session: AsyncSession, before: date, limit: int) -> list[RowMapping]:
    """Evidence awaiting a verdict whose hazard's re-check fell due before ``before``, not yet reported."""
    return list((await session.execute(select(
        evidence.c.id, evidence.c.hazard_id, hazards.c.enterprise_uscc, hazards.c.recheck_due_date,
    ).join(hazards, hazards.c.id == evidence.c.hazard_id).where(
        hazards.c.status == "evidence_submitted", hazards.c.recheck_due_date < before, evidence.c.verdict.is_(None),
        evidence.c.recheck_overdue_event_id.is_(None),
    ).order_by(hazards.c.recheck_due_date, evidence.c.id).limit(limit))).mappings())


async def claim_recheck_overdue(session: AsyncSession, evidence_id: str) -> bool:
    """Mark the evidence's re-check reported overdue if nobody has and no verdict came meanwhile
    (a concurrent run, or a verdict committed since, finds nothing to do)."""
    result = await session.execute(update(evidence).where(
        evidence.c.id == evidence_id, evidence.c.recheck_overdue_event_id.is_(None), evidence.c.verdict.is_(None),
    ).values(recheck_overdue_event_id="pending"))
    return result.rowcount == 1


async def set_recheck_overdue_event(session: AsyncSession, evidence_id: str, event_id: str) -> None:
    await session.execute(update(evidence).where(evidence.c.id == evidence_id).values(
        recheck_overdue_event_id=event_id))


async def insert_evidence(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(evidence.insert().values(**values))


async def evidence_of(session: AsyncSession, hazard_id: str) -> list[RowMapping]:
    return list((await session.execute(select(evidence).where(evidence.c.hazard_id == hazard_id).order_by(
        evidence.c.submitted_at, evidence.c.id))).mappings())


async def pending_evidence(session: AsyncSession, hazard_id: str) -> RowMapping | None:
    return (await session.execute(select(evidence).where(
        evidence.c.hazard_id == hazard_id, evidence.c.verdict.is_(None)).order_by(evidence.c.submitted_at.desc())
    )).mappings().first()


async def set_verdict(session: AsyncSession, evidence_id: str, **values: Any) -> None:
    await session.execute(update(evidence).where(evidence.c.id == evidence_id).values(**values))


async def hazards_at(session: AsyncSession, uscc: str, sequences: Sequence[int]) -> dict[int, RowMapping]:
    rows = await session.execute(select(hazards).where(
        hazards.c.enterprise_uscc == uscc, hazards.c.chain_sequence.in_(list(sequences))))
    return {r["chain_sequence"]: r for r in rows.mappings()}


async def evidence_at(session: AsyncSession, uscc: str, sequences: Sequence[int]) -> dict[int, RowMapping]:
    rows = await session.execute(select(evidence).where(
        evidence.c.enterprise_uscc == uscc, evidence.c.chain_sequence.in_(list(sequences))))
    return {r["chain_sequence"]: r for r in rows.mappings()}


async def count_hazards(session: AsyncSession, uscc: str) -> int:
    return (await session.execute(select(func.count()).select_from(hazards).where(
        hazards.c.enterprise_uscc == uscc))).scalar_one()


async def count_evidence(session: AsyncSession, uscc: str) -> int:
    return (await session.execute(select(func.count()).select_from(evidence).where(
        evidence.c.enterprise_uscc == uscc))).scalar_one()
