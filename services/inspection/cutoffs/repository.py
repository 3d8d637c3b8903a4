"""Queries of the daily cut-off: findings (one per enterprise and business date) and runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.domain.cutoff import EVERY_UNIT, Coverage
from services.inspection.ledger.repository import covered
from services.inspection.models import CutoffFinding, CutoffRun, FillingDay, LedgerEnterprise
from shared.queries import upsert

findings = CutoffFinding.__table__
runs = CutoffRun.__table__
days = FillingDay.__table__
enterprises = LedgerEnterprise.__table__
IN_CHUNK = 1000


async def with_records(session: AsyncSession, usccs: Sequence[str], day: date) -> set[str]:
    found: set[str] = set()
    for n in range(0, len(usccs), IN_CHUNK):
        rows = await session.execute(select(days.c.uscc).where(
            days.c.business_date == day, days.c.uscc.in_(list(usccs[n:n + IN_CHUNK]))))
        found.update(rows.scalars())
    return found


async def found_already(session: AsyncSession, usccs: Sequence[str], day: date) -> set[str]:
    found: set[str] = set()
    for n in range(0, len(usccs), IN_CHUNK):
        rows = await session.execute(select(findings.c.uscc).where(
            findings.c.business_date == day, findings.c.uscc.in_(list(usccs[n:n + IN_CHUNK]))))
        found.update(rows.scalars())
    return found


async def claim_finding(session: AsyncSession, uscc: str, day: date, run_id: str, now: datetime,
                        placeholder: str) -> bool:
    """Insert the (enterprise, day) finding unless it exists: True when this transaction owns it
    (and so publishes its event). A concurrent run's insert waits for this one and finds the row."""
    result = await upsert(session, findings, [{"uscc": uscc, "business_date": day, "run_id": run_id,
                                               "found_at": now, "event_id": placeholder}],
                          key=["uscc", "business_date"], update_columns=[])
    return bool(result.rowcount)


async def set_finding_event(session: AsyncSession, uscc: str, day: date, event_id: str) -> None:
    await session.execute(update(findings).where(findings.c.uscc == uscc, findings.c.business_date == day)
                          .values(event_id=event_id))


async def get_finding(session: AsyncSession, uscc: str, day: date) -> RowMapping | None:
    return (await session.execute(select(findings).where(findings.c.uscc == uscc, findings.c.business_date == day)
                                  )).mappings().first()


async def claim_withdrawal(session: AsyncSession, uscc: str, day: date, now: datetime, placeholder: str) -> bool:
    """Mark the finding withdrawn unless someone has: True when this transaction publishes it."""
    result = await session.execute(update(findings).where(
        findings.c.uscc == uscc, findings.c.business_date == day, findings.c.withdrawn_event_id.is_(None),
    ).values(withdrawn_event_id=placeholder, withdrawn_at=now))
    return result.rowcount == 1


async def set_finding_withdrawal(session: AsyncSession, uscc: str, day: date, event_id: str) -> None:
    await session.execute(update(findings).where(findings.c.uscc == uscc, findings.c.business_date == day)
                          .values(withdrawn_event_id=event_id))


async def findings_of(session: AsyncSession, day: date, prefix: str | None,
                      coverage: Coverage = EVERY_UNIT) -> list[RowMapping]:
    query = select(findings, enterprises.c.name, enterprises.c.jurisdiction_code).join(
        enterprises, enterprises.c.uscc == findings.c.uscc, isouter=True).where(
        findings.c.business_date == day, *covered(prefix, coverage))
    return list((await session.execute(query.order_by(findings.c.uscc))).mappings())


async def start_run(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(runs.insert().values(**values))


async def finish_run(session: AsyncSession, run_id: str, **values: Any) -> None:
    await session.execute(update(runs).where(runs.c.id == run_id).values(**values))
