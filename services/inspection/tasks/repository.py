"""Queries of tasks, their templates, submissions and the facts tasks are targeted by. Row
scoping (who sees which tasks) is ``visible``; functions take the caller's session, never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.models import LedgerEnterprise, LedgerOperator, Submission, TargetFacts, Task, TaskTemplate
from shared.auth import Principal
from shared.locality import jurisdiction_prefix
from shared.queries import upsert

tasks = Task.__table__
templates = TaskTemplate.__table__
submissions = Submission.__table__
facts = TargetFacts.__table__
enterprises = LedgerEnterprise.__table__


def visible(table: Any, principal: Principal) -> list[Any]:
    """The rows of ``table`` (with enterprise_uscc and jurisdiction_code) the principal may see."""
    if principal.role == "enterprise":
        return [table.c.enterprise_uscc == principal.enterprise]
    if principal.is_admin or not principal.jurisdiction:
        return []
    return [table.c.jurisdiction_code.startswith(jurisdiction_prefix(principal.jurisdiction))]


# --- target facts (consumers.py) -------------------------------------------------------------

async def save_key_supervision(session: AsyncSession, uscc: str, revision: int, key_supervision: bool) -> None:
    await upsert(session, facts, [{"uscc": uscc, "revision": revision, "key_supervision": key_supervision}],
                 key=["uscc"], update_columns=["revision", "key_supervision"],
                 where=lambda excluded: facts.c.revision < excluded.revision)


async def save_grade(session: AsyncSession, uscc: str, grade: str, computed_at: datetime) -> None:
    await upsert(session, facts, [{"uscc": uscc, "revision": 0, "key_supervision": False, "grade": grade,
                                   "grade_computed_at": computed_at}],
                 key=["uscc"], update_columns=["grade", "grade_computed_at"],
                 where=lambda excluded: or_(facts.c.grade_computed_at.is_(None),
                                            facts.c.grade_computed_at < excluded.grade_computed_at))


async def targets(session: AsyncSession, *, uscc: str | None, prefix: str | None) -> list[RowMapping]:
    """Enterprises of the ledger (one, or a subtree's) with their key supervision and grade."""
    query = select(enterprises.c.uscc, enterprises.c.jurisdiction_code, enterprises.c.kinds,
                   enterprises.c.operating, enterprises.c.location, facts.c.key_supervision, facts.c.grade,
                   ).select_from(enterprises.outerjoin(facts, facts.c.uscc == enterprises.c.uscc))
    if uscc:
        query = query.where(enterprises.c.uscc == uscc)
    if prefix:
        query = query.where(enterprises.c.jurisdiction_code.startswith(prefix))
    return list((await session.execute(query.order_by(enterprises.c.uscc))).mappings())


async def active_operator(session: AsyncSession, uscc: str, operator_id: str) -> bool:
    table = LedgerOperator.__table__
    row = (await session.execute(select(table.c.operator_id).where(
        table.c.uscc == uscc, table.c.operator_id == operator_id, table.c.active.is_(True)))).first()
    return row is not None


# --- templates -------------------------------------------------------------------------------

async def insert_template(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(templates.insert().values(**values))


async def get_template(session: AsyncSession, template_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(templates).where(templates.c.id == template_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def update_template(session: AsyncSession, template_id: str, revision: int, values: dict[str, Any]) -> bool:
    """Compare-and-set on the revision read: False when someone changed the template meanwhile."""
    result = await session.execute(update(templates).where(
        templates.c.id == template_id, templates.c.revision == revision).values(revision=revision + 1, **values))
    return result.rowcount == 1


async def list_templates(session: AsyncSession, prefix: str | None, after: tuple[datetime, str] | None,
                         limit: int) -> list[RowMapping]:
    query = select(templates)
    if prefix:
        query = query.where(templates.c.issuer_jurisdiction.startswith(prefix))
    if after:
        query = query.where(or_(templates.c.created_at > after[0],
                                and_(templates.c.created_at == after[0], templates.c.id > after[1])))
    return list((await session.execute(query.order_by(templates.c.created_at, templates.c.id).limit(limit)
                                       )).mappings())


async def recurring_templates(session: AsyncSession) -> list[RowMapping]:
    return list((await session.execute(select(templates).where(
        templates.c.active.is_(True), templates.c.cycle != "adhoc").order_by(templates.c.id))).mappings())


# --- tasks -----------------------------------------------------------------------------------

async def insert_task(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert-or-ignore on (template, period, enterprise): False when the occurrence exists."""
    if values.get("template_id") is None or values.get("period_key") is None:
        await session.execute(tasks.insert().values(**values))
        return True
    result = await upsert(session, tasks, [values], key=["template_id", "period_key", "enterprise_uscc"],
                          update_columns=[])
    return bool(result.rowcount)


async def get_task(session: AsyncSession, task_id: str, *, lock: bool = False) -> RowMapping | None:
    query = select(tasks).where(tasks.c.id == task_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).mappings().first()


async def last_assignee(session: AsyncSession, template_id: str, uscc: str) -> dict[str, str] | None:
    """The assignee the enterprise gave the template's latest occurrence: later ones inherit it."""
    row = (await session.execute(select(tasks.c.assignee).where(
        tasks.c.template_id == template_id, tasks.c.enterprise_uscc == uscc, tasks.c.assignee.is_not(None),
    ).order_by(tasks.c.window_start.desc()).limit(1))).first()
    return row[0] if row else None


async def list_tasks(session: AsyncSession, conditions: Sequence[Any], after: tuple[datetime, str] | None,
                     limit: int) -> list[RowMapping]:
    query = select(tasks).where(*conditions)
    if after:
        query = query.where(or_(tasks.c.window_end > after[0],
                                and_(tasks.c.window_end == after[0], tasks.c.id > after[1])))
    return list((await session.execute(query.order_by(tasks.c.window_end, tasks.c.id).limit(limit))).mappings())


async def set_assignee(session: AsyncSession, task_id: str, assignee: dict[str, str]) -> None:
    await session.execute(update(tasks).where(tasks.c.id == task_id).values(assignee=assignee))


async def complete(session: AsyncSession, task_id: str, at: datetime) -> None:
    await session.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == "open").values(
        status="completed", completed_at=at))


async def due_to_close(session: AsyncSession, ended_before: datetime, limit: int) -> list[str]:
    return list((await session.execute(select(tasks.c.id).where(
        tasks.c.closed_at.is_(None), tasks.c.window_end < ended_before,
    ).order_by(tasks.c.window_end, tasks.c.id).limit(limit))).scalars())


async def claim_close(session: AsyncSession, task_id: str, at: datetime) -> RowMapping | None:
    """Close the task if nobody has: the row as closed (missed if it was still open), or None.
    The conditional UPDATE makes a concurrent closer (another replica) find nothing to do."""
    result = await session.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.closed_at.is_(None)).values(
        closed_at=at, closed_event_id="pending"))
    if result.rowcount != 1:
        return None
    await session.execute(update(tasks).where(tasks.c.id == task_id, tasks.c.status == "open").values(
        status="missed"))
    return await get_task(session, task_id)


async def set_closed_event(session: AsyncSession, task_id: str, event_id: str) -> None:
    await session.execute(update(tasks).where(tasks.c.id == task_id).values(closed_event_id=event_id))


# --- submissions -----------------------------------------------------------------------------

async def insert_submission(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(submissions.insert().values(**values))


async def get_submission(session: AsyncSession, submission_id: str) -> RowMapping | None:
    return (await session.execute(select(submissions).where(submissions.c.id == submission_id))).mappings().first()


async def submission_by_client_id(session: AsyncSession, task_id: str, client_id: str) -> RowMapping | None:
    return (await session.execute(select(submissions).where(
        submissions.c.task_id == task_id, submissions.c.client_id == client_id))).mappings().first()


async def list_submissions(session: AsyncSession, task_id: str, after: tuple[datetime, str] | None,
                           limit: int) -> list[RowMapping]:
    query = select(submissions).where(submissions.c.task_id == task_id)
    if after:
        query = query.where(or_(submissions.c.server_time > after[0],
                                and_(submissions.c.server_time == after[0], submissions.c.id > after[1])))
    return list((await session.execute(query.order_by(submissions.c.server_time, submissions.c.id).limit(limit)
                                       )).mappings())


async def submissions_at(session: AsyncSession, uscc: str, sequences: Sequence[int]) -> dict[int, RowMapping]:
    rows = await session.execute(select(submissions).where(
        submissions.c.enterprise_uscc == uscc, submissions.c.chain_sequence.in_(list(sequences))))
    return {r["chain_sequence"]: r for r in rows.mappings()}


async def count_submissions(session: AsyncSession, uscc: str) -> int:
    return (await session.execute(select(func.count()).select_from(submissions).where(
        submissions.c.enterprise_uscc == uscc))).scalar_one()
