"""The projection's queries: the enterprise lock every write starts with, and one upsert per kind
of fact (a snapshot applies only when newer than the revision held)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.models import (
    accidents,
    cases,
    equipment,
    hazards,
    missing_days,
    operators,
    orders,
    patrols,
    penalties,
    profiles,
    tasks,
)
from shared.queries import upsert


async def lock_enterprise(session: AsyncSession, uscc: str) -> RowMapping:
    """The enterprise's profile row, locked for this transaction (PostgreSQL; SQLite serialises
    writers anyway); a placeholder (revision 0) is created when facts arrive before the snapshot.
    Every write about an enterprise starts here, so the writes about one enterprise queue."""
    row = (await session.execute(LOCK_ENTERPRISE, {"b_uscc": uscc})).mappings().first()
    if row is None:
        await upsert(session, profiles, [{"uscc": uscc, "revision": 0, "venue_type": "other", "kinds": [],
                                          "management": {}, "key_supervision": False, "operating": True}],
                     key=["uscc"], update_columns=[])
        row = (await session.execute(LOCK_ENTERPRISE, {"b_uscc": uscc})).mappings().one()
    return row


LOCK_ENTERPRISE = select(profiles).where(profiles.c.uscc == bindparam("b_uscc")).with_for_update()


async def get_profile(session: AsyncSession, uscc: str) -> RowMapping | None:
    return (await session.execute(select(profiles).where(profiles.c.uscc == uscc))).mappings().first()


async def save_profile(session: AsyncSession, values: dict[str, Any]) -> None:
    await session.execute(update(profiles).where(profiles.c.uscc == values["uscc"]).values(**values))


def _newer_equipment(excluded: Any) -> Any:
    return equipment.c.revision < excluded.revision


def _newer_operator(excluded: Any) -> Any:
    return operators.c.revision < excluded.revision


def _later_closing(excluded: Any) -> Any:
    return tasks.c.closed_at <= excluded.closed_at


async def save_equipment(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Apply an equipment snapshot unless a newer revision (or a newer removal's tombstone) is
    held; True when it was applied."""
    result = await upsert(session, equipment, [{**values, "removed": False}], key=["uscc", "equipment_id"],
                          where=_newer_equipment)
    return bool(result.rowcount)


async def save_operator(session: AsyncSession, values: dict[str, Any]) -> bool:
    result = await upsert(session, operators, [{**values, "removed": False}], key=["uscc", "operator_id"],
                          where=_newer_operator)
    return bool(result.rowcount)


async def save_task(session: AsyncSession, values: dict[str, Any]) -> None:
    """The latest closing of a task wins (a late duplicate with an older closed_at does not)."""
    await upsert(session, tasks, [values], key=["uscc", "task_id"], where=_later_closing)


async def save_hazard_raised(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, hazards, [values], key=["uscc", "hazard_id"],
                 update_columns=["deadline_date", "severity", "raised_event_id"])


async def save_hazard_rectified(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, hazards, [values], key=["uscc", "hazard_id"],
                 update_columns=["rectified_date", "rectified_event_id"])


async def save_missing_day(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, missing_days, [values], key=["uscc", "event_id"], update_columns=[])


async def remove_missing_day(session: AsyncSession, uscc: str, missing_event_id: str) -> bool:
    result = await session.execute(delete(missing_days).where(
        missing_days.c.uscc == uscc, missing_days.c.event_id == missing_event_id))
    return bool(result.rowcount)


async def save_patrol(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, patrols, [values], key=["uscc", "patrol_id"])


async def save_case(session: AsyncSession, values: dict[str, Any]) -> None:
    """A repeated case keeps its repair mark: repairs are scoring's own decision, not the event's."""
    await upsert(session, cases, [values], key=["uscc", "case_id"], update_columns=["opened_date", "event_id"])


async def save_order(session: AsyncSession, values: dict[str, Any], *, rectified: bool) -> None:
    """An issued order never reopens a rectified one, whichever arrives first."""
    columns = ["rectified_date", "event_id"] if rectified else ["issued_date", "deadline_date"]
    await upsert(session, orders, [values], key=["uscc", "order_id"], update_columns=columns)


async def open_orders(session: AsyncSession, uscc: str) -> int:
    """Orders to correct not yet rectified."""
    return (await session.execute(select(func.count()).select_from(orders).where(
        orders.c.uscc == uscc, orders.c.rectified_date.is_(None)))).scalar_one()


async def save_penalty(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, penalties, [values], key=["uscc", "penalty_id"],
                 update_columns=["decided_date", "event_id"])


async def save_accident(session: AsyncSession, values: dict[str, Any]) -> None:
    await upsert(session, accidents, [values], key=["uscc", "accident_id"])


async def remove_equipment(session: AsyncSession, uscc: str, equipment_id: str, revision: int,
                           event_id: str) -> bool:
    """Equipment left the enterprise at `revision`: unless what is held is newer (it came back
    since), its row becomes a tombstone (kept, so that an older snapshot relayed late stays
    ignored; excluded from the facts). True when a live row went."""
    return await _remove(session, equipment, "equipment_id", equipment_id, uscc, revision, event_id, {
        "category": "0000", "registered": False, "status": "removed", "next_inspection_due": None})


async def remove_operator(session: AsyncSession, uscc: str, operator_id: str, revision: int,
                          event_id: str) -> bool:
    """An operator left the enterprise at `revision`: the row becomes a tombstone, as above."""
    return await _remove(session, operators, "operator_id", operator_id, uscc, revision, event_id, {
        "certificate_valid_until": None, "active": False})


async def _remove(session: AsyncSession, table: Any, ident: str, item_id: str, uscc: str, revision: int,
                  event_id: str, placeholder: dict[str, Any]) -> bool:
    # The caller holds the enterprise lock, so reading then writing the row does not race.
    held = (await session.execute(select(table.c.revision, table.c.removed).where(
        table.c.uscc == uscc, table.c[ident] == item_id))).first()
    if held is None:  # the removal came first: its tombstone keeps the older snapshots out
        await upsert(session, table, [{"uscc": uscc, ident: item_id, "revision": revision, "removed": True,
                                       "event_id": event_id, **placeholder}], key=["uscc", ident], update_columns=[])
        return False
    if held.revision > revision:
        return False
    await session.execute(update(table).where(table.c.uscc == uscc, table.c[ident] == item_id).values(
        revision=revision, removed=True, event_id=event_id))
    return not held.removed
