"""The projection's queries: the enterprise row every write about an enterprise starts with
(locked, a placeholder created when a fact arrives before the snapshot), grids' inspectors,
associations, accidents and missing-records days."""

from __future__ import annotations

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
from shared.queries import insert_missing


async def lock_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow:
    """The enterprise's row, locked for this transaction (PostgreSQL); revision 0 is a placeholder."""
    await insert_missing(session, EnterpriseRow.__table__, [{  # type: ignore[arg-type]
        "uscc": uscc, "revision": 0, "kinds": [], "key_supervision_causes": [], "associations": [],
        "key_supervision": False, "sandbox": False, "operating": True}], key=["uscc"])
    row = (await session.execute(select(EnterpriseRow).where(EnterpriseRow.uscc == uscc)
                                 .with_for_update().execution_options(populate_existing=True))).scalar_one()
    return row


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
    if not grid_code:
        return None
    statement = select(GridInspectors).where(GridInspectors.grid_code == grid_code)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).scalar_one_or_none()


async def save_accident(session: AsyncSession, values: dict[str, Any]) -> None:
    await insert_missing(session, AccidentRow.__table__, [values], key=["uscc", "accident_id"])  # type: ignore[arg-type]


async def lock_missing_day(session: AsyncSession, uscc: str, day: date) -> MissingRecordsDay:
    await insert_missing(session, MissingRecordsDay.__table__, [  # type: ignore[arg-type]
        {"uscc": uscc, "business_date": day}], key=["uscc", "business_date"])
    return (await session.execute(select(MissingRecordsDay).where(
        MissingRecordsDay.uscc == uscc, MissingRecordsDay.business_date == day).with_for_update()
        .execution_options(populate_existing=True))).scalar_one()


async def get_missing_day(session: AsyncSession, uscc: str, day: date | None) -> MissingRecordsDay | None:
    if day is None:
        return None
    return await session.get(MissingRecordsDay, (uscc, day))
