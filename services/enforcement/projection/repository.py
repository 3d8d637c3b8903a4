"""The projection's queries: the enterprise row every write about an enterprise starts with
(locked, a placeholder created when a fact arrives before the snapshot), grids' inspectors,
associations, accidents and missing-records days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.enforcement.models import (
    AccidentRow,
    EnterpriseAssociation,
    EnterpriseRow,
    GridInspectors,
    MissingRecordsDay,
)
from shared.queries import among, insert_missing


def _placeholder(uscc: str) -> dict[str, Any]:
    return {"uscc": uscc, "revision": 0, "kinds": [], "key_supervision_causes": [], "associations": [],
            "key_supervision": False, "sandbox": False, "operating": True}


async def lock_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow:
    """The enterprise's row, locked for this transaction (PostgreSQL); revision 0 is a placeholder."""
    await insert_missing(session, EnterpriseRow.__table__, [_placeholder(uscc)], key=["uscc"])  # type: ignore[arg-type]
    row = (await session.execute(select(EnterpriseRow).where(EnterpriseRow.uscc == uscc)
                                 .with_for_update().execution_options(populate_existing=True))).scalar_one()
    return row


async def lock_enterprises(session: AsyncSession, usccs: Sequence[str]) -> dict[str, EnterpriseRow]:
    """Many enterprises' rows at once (placeholders made for the unknown), locked in USCC order,
    the order every batch takes, so that two batches cannot deadlock."""
    wanted = sorted(set(usccs))
    await insert_missing(session, EnterpriseRow.__table__, [_placeholder(u) for u in wanted],  # type: ignore[arg-type]
                         key=["uscc"])
    rows = (await session.execute(select(EnterpriseRow).where(among(session, EnterpriseRow.uscc, wanted))
                                  .order_by(EnterpriseRow.uscc).with_for_update()
                                  .execution_options(populate_existing=True))).scalars()
    return {row.uscc: row for row in rows}


async def get_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow | None:
    return await session.get(EnterpriseRow, uscc)


async def set_associations(session: AsyncSession, uscc: str, associations: list[str]) -> None:
    await session.execute(delete(EnterpriseAssociation).where(EnterpriseAssociation.uscc == uscc))
    session.add_all(EnterpriseAssociation(association=a, uscc=uscc) for a in dict.fromkeys(associations))
    await session.flush()


async def associations_of(session: AsyncSession, uscc: str) -> frozenset[str]:
    rows = await session.execute(select(EnterpriseAssociation.association).where(EnterpriseAssociation.uscc == uscc))
    return frozenset(rows.scalars())


def members_of(association: str) -> Any:
    """The USCCs of an association's members, as a subquery."""
    return select(EnterpriseAssociation.uscc).where(EnterpriseAssociation.association == association)


async def get_inspectors(session: AsyncSession, grid_code: str | None, *, for_update: bool = False
                         ) -> GridInspectors | None:
    """A grid's inspectors; read once per unit of work unless locked (the identity map holds it)."""
    if not grid_code:
        return None
    if for_update:
        return await session.get(GridInspectors, grid_code, with_for_update=True, populate_existing=True)
    return await session.get(GridInspectors, grid_code)


async def save_accident(session: AsyncSession, values: dict[str, Any]) -> None:
    await insert_missing(session, AccidentRow.__table__, [values], key=["uscc", "accident_id"])  # type: ignore[arg-type]


async def lock_missing_days(session: AsyncSession, keys: Sequence[tuple[str, date]]
                            ) -> dict[tuple[str, date], MissingRecordsDay]:
    """Missing-records days by (USCC, business date), made when new, locked in key order."""
    wanted = sorted(set(keys))
    await insert_missing(session, MissingRecordsDay.__table__, [  # type: ignore[arg-type]
        {"uscc": uscc, "business_date": day} for uscc, day in wanted], key=["uscc", "business_date"])
    day, keys_wanted = MissingRecordsDay, set(wanted)
    # The units' rows on the batch's few dates (a superset of the keys when dates differ by unit).
    found = (await session.execute(select(day).where(
        among(session, day.uscc, sorted({u for u, _ in wanted})), day.business_date.in_(sorted({d for _, d in wanted})))
        .order_by(day.uscc, day.business_date).with_for_update().execution_options(populate_existing=True))).scalars()
    return {(row.uscc, row.business_date): row for row in found if (row.uscc, row.business_date) in keys_wanted}


async def get_missing_day(session: AsyncSession, uscc: str, day: date | None) -> MissingRecordsDay | None:
    if day is None:
        return None
    return await session.get(MissingRecordsDay, (uscc, day))
