"""The projection's queries: the enterprise lock every write starts with, and one upsert per kind
of fact (a snapshot applies only when newer than the revision held)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, select, update
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
from shared.queries import among, upsert, upsert_statement


async def lock_enterprise(session: AsyncSession, uscc: str) -> RowMapping:
    """The enterprise's profile row, locked for this transaction (PostgreSQL; SQLite serialises
    writers anyway); a placeholder (revision 0) is created when facts arrive before the snapshot.
    Every write about an enterprise starts here, so the writes about one enterprise queue."""
    row = (await session.execute(LOCK_ENTERPRISE, {"b_uscc": uscc})).mappings().first()
    if row is None:
        await upsert(session, profiles, [{"uscc": uscc, **PLACEHOLDER}], key=["uscc"], update_columns=[])
        row = (await session.execute(LOCK_ENTERPRISE, {"b_uscc": uscc})).mappings().one()
    return row


LOCK_ENTERPRISE = select(profiles).where(profiles.c.uscc == bindparam("b_uscc")).with_for_update()
PLACEHOLDER = {"revision": 0, "venue_type": "other", "kinds": [], "management": {}, "key_supervision": False,
               "operating": True}


async def lock_enterprises(session: AsyncSession, usccs: Sequence[str]) -> dict[str, RowMapping]:
    """lock_enterprise for many at once, in USCC order (two transactions locking overlapping sets
    then queue instead of deadlocking): placeholders for the missing, then one locking read."""
    ordered = sorted(set(usccs))
    await upsert(session, profiles, [{"uscc": uscc, **PLACEHOLDER} for uscc in ordered], key=["uscc"],
                 update_columns=[])
    query = select(profiles).where(among(session, profiles.c.uscc, ordered)).order_by(profiles.c.uscc)
    return {row["uscc"]: row for row in (await session.execute(query.with_for_update())).mappings()}


async def get_profile(session: AsyncSession, uscc: str) -> RowMapping | None:
    return (await session.execute(select(profiles).where(profiles.c.uscc == uscc))).mappings().first()


@functools.lru_cache(maxsize=8)
def _save_profile_statement(columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    # Built once: building an UPDATE and its cache key costs more than running it on SQLite.
    return (update(profiles).where(profiles.c.uscc == bindparam("b_uscc"))
            .values({c: bindparam(f"v_{c}") for c in columns if c != "uscc"}))


async def save_profile(session: AsyncSession, values: dict[str, Any], deferred: Deferred | None = None) -> None:
    columns = tuple(values)
    parameters = {"b_uscc": values["uscc"], **{f"v_{c}": v for c, v in values.items()}}
    if deferred is not None:
        deferred.profiles.setdefault(columns, []).append(parameters)
        return
    await session.execute(_save_profile_statement(columns), parameters)


def _newer_equipment(excluded: Any) -> Any:
    return equipment.c.revision < excluded.revision


def _newer_operator(excluded: Any) -> Any:
    return operators.c.revision < excluded.revision


def _later_closing(excluded: Any) -> Any:
    return tasks.c.closed_at <= excluded.closed_at


@dataclass(frozen=True)
class Fact:
    """How one kind of fact is written: an upsert on its key, of `update_columns` (None: every
    column but the key), only where `where(excluded)` holds (then it may not apply)."""

    table: Table
    key: tuple[str, ...]
    update_columns: tuple[str, ...] | None = None
    where: Callable[[Any], Any] | None = None


# A snapshot applies only when newer (a removal's tombstone included); the latest closing of a
# task wins; a repeated case or penalty keeps its repair mark (repairs are scoring's own
# decision, not the event's); an issued order never reopens a rectified one.
EQUIPMENT = Fact(equipment, ("uscc", "equipment_id"), where=_newer_equipment)
OPERATOR = Fact(operators, ("uscc", "operator_id"), where=_newer_operator)
TASK = Fact(tasks, ("uscc", "task_id"), where=_later_closing)
HAZARD_RAISED = Fact(hazards, ("uscc", "hazard_id"), ("deadline_date", "severity", "raised_event_id"))
HAZARD_RECTIFIED = Fact(hazards, ("uscc", "hazard_id"), ("rectified_date", "rectified_event_id"))
MISSING_DAY = Fact(missing_days, ("uscc", "event_id"), ())
PATROL = Fact(patrols, ("uscc", "patrol_id"))
CASE = Fact(cases, ("uscc", "case_id"), ("opened_date", "event_id"))
PENALTY = Fact(penalties, ("uscc", "penalty_id"), ("decided_date", "event_id"))
ACCIDENT = Fact(accidents, ("uscc", "accident_id"))
ORDER_ISSUED = Fact(orders, ("uscc", "order_id"), ("issued_date", "deadline_date"))
ORDER_RECTIFIED = Fact(orders, ("uscc", "order_id"), ("rectified_date", "event_id"))


@dataclass
class Deferred:
    """Writes held back to run in bulk: a batch of events records a round of facts (at most one
    event per enterprise), then writes each kind with one statement before rescoring them."""

    facts: dict[Fact, list[dict[str, Any]]] = field(default_factory=dict)
    profiles: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)

    async def flush(self, session: AsyncSession) -> set[str]:
        """Run the writes; the USCCs whose conditional write did not apply (nothing changed)."""
        unapplied: set[str] = set()
        for columns, rows in self.profiles.items():
            await session.execute(_save_profile_statement(columns), rows)
        for fact, rows in self.facts.items():
            if fact.where is None:
                await _upsert(session, fact, rows)
                continue
            statement = _upsert_statement(session, fact, tuple(rows[0])).returning(fact.table.c.uscc)
            applied = set((await session.execute(statement, rows)).scalars())
            unapplied.update(row["uscc"] for row in rows if row["uscc"] not in applied)
        self.facts.clear()
        self.profiles.clear()
        return unapplied


def _upsert_statement(session: AsyncSession, fact: Fact, columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    update_columns = fact.update_columns if fact.update_columns is not None else tuple(
        c for c in columns if c not in fact.key)
    return upsert_statement(session, fact.table, fact.key, update_columns, fact.where)


async def _upsert(session: AsyncSession, fact: Fact, rows: list[dict[str, Any]]) -> Any:
    statement = _upsert_statement(session, fact, tuple(rows[0]))
    return await session.execute(statement, rows if len(rows) > 1 else rows[0])


async def save(session: AsyncSession, fact: Fact, values: dict[str, Any], deferred: Deferred | None = None) -> bool:
    """Write one fact now, or hold it in `deferred`; True when it applied (or may: a deferred
    conditional write tells at its flush)."""
    if deferred is not None:
        deferred.facts.setdefault(fact, []).append(values)
        return True
    result = await _upsert(session, fact, [values])
    return fact.where is None or bool(result.rowcount)


async def remove_missing_day(session: AsyncSession, uscc: str, missing_event_id: str) -> bool:
    result = await session.execute(delete(missing_days).where(
        missing_days.c.uscc == uscc, missing_days.c.event_id == missing_event_id))
    return bool(result.rowcount)


async def open_orders(session: AsyncSession, uscc: str) -> int:
    """Orders to correct not yet rectified."""
    return (await session.execute(select(func.count()).select_from(orders).where(
        orders.c.uscc == uscc, orders.c.rectified_date.is_(None)))).scalar_one()


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
