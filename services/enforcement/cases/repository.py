"""Every query about cases and orders to correct: one row (locked for a change), a case's
evidence and history, the scoped, filtered lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.access import Scope
from services.enforcement.models import Case, CaseEvidence, CaseStep, OrderToCorrectRow
from shared.locality import jurisdiction_prefix


async def get_case(session: AsyncSession, case_id: str, *, for_update: bool = False) -> Case | None:
    return await session.get(Case, case_id, with_for_update=for_update, populate_existing=for_update)


async def evidence(session: AsyncSession, case_id: str) -> list[CaseEvidence]:
    return list((await session.execute(select(CaseEvidence).where(CaseEvidence.case_id == case_id)
                                       .order_by(CaseEvidence.id))).scalars())


async def history(session: AsyncSession, case_id: str) -> list[CaseStep]:
    return list((await session.execute(select(CaseStep).where(CaseStep.case_id == case_id)
                                       .order_by(CaseStep.id))).scalars())


async def get_order(session: AsyncSession, order_id: str, *, for_update: bool = False) -> OrderToCorrectRow | None:
    return await session.get(OrderToCorrectRow, order_id, with_for_update=for_update, populate_existing=for_update)


def _scoped(statement: Any, model: Any, scope: Scope, filters: dict[str, Any]) -> Any:
    if scope.node:
        statement = statement.where(model.location_code.startswith(jurisdiction_prefix(scope.node), autoescape=True))
    if scope.enterprise:
        statement = statement.where(model.enterprise_uscc == scope.enterprise)
    if filters.get("jurisdiction"):
        statement = statement.where(model.location_code.startswith(jurisdiction_prefix(filters["jurisdiction"]),
                                                                   autoescape=True))
    for name in ("enterprise", "status"):
        if filters.get(name) is not None:
            statement = statement.where(getattr(model, "enterprise_uscc" if name == "enterprise" else name)
                                        == filters[name])
    return statement


async def search_cases(session: AsyncSession, scope: Scope, filters: dict[str, Any], *, limit: int,
                       after: tuple[datetime, str] | None) -> list[Case]:
    statement = _scoped(select(Case), Case, scope, filters)
    if filters.get("offence_code"):
        statement = statement.where(Case.offence_code == filters["offence_code"])
    if after is not None:
        moment, last = after
        statement = statement.where(or_(Case.opened_at < moment, and_(Case.opened_at == moment, Case.id < last)))
    statement = statement.order_by(Case.opened_at.desc(), Case.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())


async def search_orders(session: AsyncSession, scope: Scope, filters: dict[str, Any], *, limit: int,
                        after: tuple[datetime, str] | None) -> list[OrderToCorrectRow]:
    statement = _scoped(select(OrderToCorrectRow), OrderToCorrectRow, scope, filters)
    if after is not None:
        moment, last = after
        statement = statement.where(or_(OrderToCorrectRow.issued_at < moment,
                                        and_(OrderToCorrectRow.issued_at == moment, OrderToCorrectRow.id < last)))
    statement = statement.order_by(OrderToCorrectRow.issued_at.desc(), OrderToCorrectRow.id.desc()).limit(limit + 1)
    return list((await session.execute(statement)).scalars())
