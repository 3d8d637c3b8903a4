"""Every query about plans: the plan (created once per jurisdiction and month, locked for a
change), its items (scoped to the caller's subtree), the population a plan or a draw reads from
the projection, and the draws."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.models import (
    AccidentRow,
    EnterpriseRow,
    GridInspectors,
    PlanItem,
    SamplingDraw,
    SupervisionPlan,
)
from shared.locality import jurisdiction_prefix, level_of, parent_of
from shared.queries import insert_missing


def ancestors(code: str) -> list[str]:
    """The nodes above ``code`` (grid → township → district → city → province)."""
    found, node = [], parent_of(code)
    while node is not None:
        found.append(node)
        node = parent_of(node)
    return found


def _under(column: Any, code: str) -> Any:
    return column.startswith(jurisdiction_prefix(code), autoescape=True)


async def create_plan(session: AsyncSession, values: dict[str, Any]) -> tuple[SupervisionPlan, bool]:
    """The plan of (jurisdiction, month), locked; True when this call created it (concurrent
    generations of the same plan: one creates, the others find it)."""
    await insert_missing(session, SupervisionPlan.__table__, [values], key=["jurisdiction_code", "month"])  # type: ignore[arg-type]
    plan = (await session.execute(select(SupervisionPlan).where(
        SupervisionPlan.jurisdiction_code == values["jurisdiction_code"], SupervisionPlan.month == values["month"])
        .with_for_update().execution_options(populate_existing=True))).scalar_one()
    return plan, plan.id == values["id"]


async def get_plan(session: AsyncSession, plan_id: str, *, for_update: bool = False) -> SupervisionPlan | None:
    return await session.get(SupervisionPlan, plan_id, with_for_update=for_update, populate_existing=for_update)


async def plans_from(session: AsyncSession, month: str) -> list[SupervisionPlan]:
    """Plans of ``month`` and later, in id order (the caller locks those it changes)."""
    return list((await session.execute(select(SupervisionPlan).where(SupervisionPlan.month >= month)
                                       .order_by(SupervisionPlan.id))).scalars())


async def plans_holding(session: AsyncSession, uscc: str) -> set[str]:
    """The plans that hold any visit of this unit."""
    return set((await session.execute(select(PlanItem.plan_id).where(PlanItem.enterprise_uscc == uscc)
                                      .distinct())).scalars())


async def search_plans(session: AsyncSession, node: str | None, filters: dict[str, Any], *, limit: int,
                       after: tuple[datetime, str] | None) -> list[SupervisionPlan]:
    statement = select(SupervisionPlan)
    if node:  # plans of the caller's subtree, and those above it that hold part of it (a grid's share)
        statement = statement.where(or_(_under(SupervisionPlan.jurisdiction_code, node),
                                        SupervisionPlan.jurisdiction_code.in_(ancestors(node))))
    if filters.get("jurisdiction"):
        statement = statement.where(_under(SupervisionPlan.jurisdiction_code, filters["jurisdiction"]))
    if filters.get("month"):
        statement = statement.where(SupervisionPlan.month == filters["month"])
    if after is not None:
        moment, last = after
        statement = statement.where(or_(SupervisionPlan.generated_at < moment,
                                        and_(SupervisionPlan.generated_at == moment, SupervisionPlan.id < last)))
    statement = statement.order_by(SupervisionPlan.generated_at.desc(), SupervisionPlan.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


async def districts(session: AsyncSession) -> list[str]:
    """The districts (区县) that hold any operating enterprise, by code."""
    rows = await session.execute(select(EnterpriseRow.jurisdiction_code).where(
        EnterpriseRow.revision > 0, EnterpriseRow.operating.is_(True), EnterpriseRow.jurisdiction_code.is_not(None))
        .distinct())
    return sorted({c[:6] for c in rows.scalars() if level_of(c[:6]) == "district"})


async def has_plan(session: AsyncSession, code: str, month: str) -> bool:
    return (await session.execute(select(SupervisionPlan.id).where(
        SupervisionPlan.jurisdiction_code == code, SupervisionPlan.month == month))).first() is not None


async def population(session: AsyncSession, code: str, *, share_lock: bool = False) -> list[EnterpriseRow]:
    """The operating enterprises a plan of ``code`` covers (known from registry's snapshot), by USCC.
    ``share_lock`` (a plan being generated): a grade change that commits meanwhile waits for the new
    plan, and then sees it and updates it (PostgreSQL ``FOR SHARE``; SQLite has one writer anyway)."""
    statement = select(EnterpriseRow).where(
        EnterpriseRow.revision > 0, EnterpriseRow.operating.is_(True),
        or_(_under(EnterpriseRow.grid_code, code), _under(EnterpriseRow.jurisdiction_code, code))
    ).order_by(EnterpriseRow.uscc)
    if share_lock:
        statement = statement.with_for_update(read=True).execution_options(populate_existing=True)
    return list((await session.execute(statement)).scalars())


async def accident_dates(session: AsyncSession, usccs: list[str]) -> dict[str, tuple[date, ...]]:
    found: dict[str, list[date]] = defaultdict(list)
    for chunk in range(0, len(usccs), 500):
        rows = await session.execute(select(AccidentRow.uscc, AccidentRow.occurred_date)
                                     .where(AccidentRow.uscc.in_(usccs[chunk:chunk + 500])))
        for uscc, day in rows:
            found[uscc].append(day)
    return {u: tuple(d) for u, d in found.items()}


async def inspectors_by_grid(session: AsyncSession, code: str) -> dict[str, list[dict[str, str]]]:
    rows = await session.execute(select(GridInspectors).where(_under(GridInspectors.grid_code, code)))
    return {g.grid_code: list(g.inspectors) for g in rows.scalars()}


async def items_of_plan(session: AsyncSession, plan_id: str, uscc: str | None = None) -> list[PlanItem]:
    statement = select(PlanItem).where(PlanItem.plan_id == plan_id)
    if uscc:
        statement = statement.where(PlanItem.enterprise_uscc == uscc).with_for_update()
    return list((await session.execute(statement.order_by(PlanItem.id))).scalars())


async def slots_planned(session: AsyncSession, slots: set[str], *, exclude_plan: str) -> set[tuple[str, str, str]]:
    """(uscc, mode, slot) of periodic visits another plan already holds (not cancelled)."""
    if not slots:
        return set()
    rows = await session.execute(select(PlanItem.enterprise_uscc, PlanItem.mode, PlanItem.slot).where(
        PlanItem.slot.in_(sorted(slots)), PlanItem.plan_id != exclude_plan, PlanItem.status != "cancelled"))
    return {(u, m, s) for u, m, s in rows}


async def get_item(session: AsyncSession, item_id: str, *, for_update: bool = False) -> PlanItem | None:
    return await session.get(PlanItem, item_id, with_for_update=for_update, populate_existing=for_update)


async def open_item_for(session: AsyncSession, uscc: str, mode: str, day: date) -> PlanItem | None:
    """The open visit of this mode a patrol on ``day`` fulfils: the one due soonest, not before ``day``'s month."""
    first = day.replace(day=1)
    return (await session.execute(select(PlanItem).where(
        PlanItem.enterprise_uscc == uscc, PlanItem.mode == mode, PlanItem.status == "open",
        PlanItem.due_date >= first).order_by(PlanItem.due_date, PlanItem.id).limit(1).with_for_update()
        .execution_options(populate_existing=True))).scalar_one_or_none()


async def search_items(session: AsyncSession, plan_id: str, node: str | None, filters: dict[str, Any], *,
                       limit: int, after: tuple[datetime, str] | None) -> list[PlanItem]:
    statement = select(PlanItem).where(PlanItem.plan_id == plan_id)
    if node:
        statement = statement.where(or_(_under(PlanItem.grid_code, node), _under(PlanItem.jurisdiction_code, node)))
    for name, column in (("status", PlanItem.status), ("mode", PlanItem.mode), ("source", PlanItem.source),
                         ("grid", PlanItem.grid_code), ("enterprise", PlanItem.enterprise_uscc)):
        if filters.get(name) is not None:
            statement = statement.where(column == filters[name])
    if after is not None:
        moment, last = after
        statement = statement.where(or_(PlanItem.created_at > moment,
                                        and_(PlanItem.created_at == moment, PlanItem.id > last)))
    statement = statement.order_by(PlanItem.created_at, PlanItem.id).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


async def completion(session: AsyncSession, plan_id: str, node: str | None) -> list[tuple[str | None, str, str, int]]:
    """(grid, mode, status, count) of a plan's items in the caller's subtree."""
    statement = select(PlanItem.grid_code, PlanItem.mode, PlanItem.status, func.count()).where(
        PlanItem.plan_id == plan_id)
    if node:
        statement = statement.where(or_(_under(PlanItem.grid_code, node), _under(PlanItem.jurisdiction_code, node)))
    rows = await session.execute(statement.group_by(PlanItem.grid_code, PlanItem.mode, PlanItem.status))
    return [(g, m, s, n) for g, m, s, n in rows]


async def get_draw(session: AsyncSession, draw_id: str) -> SamplingDraw | None:
    return await session.get(SamplingDraw, draw_id)


async def draws_of(session: AsyncSession, plan_id: str, *, limit: int,
                   after: tuple[datetime, str] | None) -> list[SamplingDraw]:
    statement = select(SamplingDraw).where(SamplingDraw.plan_id == plan_id)
    if after is not None:
        moment, last = after
        statement = statement.where(or_(SamplingDraw.drawn_at < moment,
                                        and_(SamplingDraw.drawn_at == moment, SamplingDraw.id < last)))
    statement = statement.order_by(SamplingDraw.drawn_at.desc(), SamplingDraw.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())
