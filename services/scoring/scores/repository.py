"""The queries of rescoring and of reading scores.

Bulk paths (a full rescore) read a chunk of enterprises with one query per table and write with
executemany; the single-enterprise path after an event goes through the same functions with a
chunk of one, so there is one way to load facts and one way to write scores."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring.domain import EnterpriseRows
from services.scoring.models import (
    accidents,
    adjustments,
    cases,
    current_scores,
    equipment,
    hazards,
    history,
    missing_days,
    nightly_runs,
    operators,
    patrols,
    penalties,
    periods,
    profiles,
    tasks,
)
from shared.db import AwareDateTime
from shared.queries import insert_for

# What a rescoring reads about an enterprise besides its profile: the nine fact tables and three
# of scoring's own, as one UNION ALL in a common shape. One round trip instead of twelve is most of
# the cost of rescoring one enterprise after an event. Each entry: the EnterpriseRows attribute, the
# table, which of its columns fills each slot of the shape (others stay empty), and a filter.
# Each slot: its type in the database, and how it is read. Dates are read as they come (ISO text on
# SQLite, dates on PostgreSQL): SQLAlchemy's SQLite date parsing would cost more than the scoring,
# and pydantic parses them on the way into the facts.
STATE_SHAPE: dict[str, tuple[Any, Any]] = {
    "ident": (String(100), String()), "event_id": (String(100), String()), "day": (Date(), String()),
    "other_day": (Date(), String()), "flag": (Boolean(), Boolean()), "text": (String(100), String()),
    "other_text": (String(100), String()), "note": (Text(), String()), "number": (Integer(), Integer()),
    "moment": (AwareDateTime(), AwareDateTime()), "document": (JSON(), JSON()),
}


STATE_SLOTS: tuple[tuple[str, Table, dict[str, str]], ...] = (
    ("equipment", equipment, {"ident": "equipment_id", "event_id": "event_id", "day": "next_inspection_due",
                              "flag": "registered", "text": "category", "other_text": "status"}),
    ("operators", operators, {"ident": "operator_id", "event_id": "event_id", "day": "certificate_valid_until",
                              "flag": "active"}),
    ("tasks", tasks, {"ident": "task_id", "event_id": "event_id", "day": "due_date", "flag": "completed"}),
    ("hazards", hazards, {"ident": "hazard_id", "event_id": "raised_event_id", "day": "deadline_date",
                          "other_day": "rectified_date"}),
    ("missing_days", missing_days, {"ident": "event_id", "event_id": "event_id", "day": "business_date",
                                    "other_text": "repair_id"}),
    ("patrols", patrols, {"ident": "patrol_id", "event_id": "event_id", "moment": "patrolled_at",
                          "document": "items"}),
    ("cases", cases, {"ident": "case_id", "event_id": "event_id", "day": "opened_date", "other_text": "repair_id"}),
    ("penalties", penalties, {"ident": "penalty_id", "event_id": "event_id", "day": "decided_date",
                              "other_text": "repair_id"}),
    ("accidents", accidents, {"ident": "accident_id", "event_id": "event_id", "day": "occurred_date",
                              "flag": "responsible", "text": "severity"}),
    ("score", current_scores, {"text": "grade", "other_text": "fingerprint", "day": "grade_since",
                               "number": "revision"}),
    ("periods", periods, {"text": "grade", "day": "from_date", "other_day": "to_date"}),
    ("adjustments", adjustments, {"ident": "id", "text": "grade", "other_text": "set_by", "note": "reason",
                                  "day": "expires_on", "moment": "set_at"}),
)


REPAIRABLE = {"missing_days", "cases", "penalties"}


def _chosen(column: Any, contiguous: bool) -> Any:
    """Bound USCCs: a list (expanding IN), or a range (a full rescore's chunk is every scorable
    enterprise from its first USCC to its last, so a range replaces a thousand-item IN list)."""
    if contiguous:
        return column.between(bindparam("b_first"), bindparam("b_last"))
    return column.in_(bindparam("b_usccs", expanding=True))


def _state_union(contiguous: bool):  # type: ignore[no-untyped-def]
    selects = []
    for n, (attribute, table, slots) in enumerate(STATE_SLOTS):
        columns = [literal(n, Integer).label("kind"), table.c.uscc]
        for slot, (stored_as, read_as) in STATE_SHAPE.items():
            column = table.c[slots[slot]] if slot in slots else cast(null(), stored_as)
            columns.append(type_coerce(column, read_as).label(slot))
        query = select(*columns).where(_chosen(table.c.uscc, contiguous))
        if attribute == "periods":
            query = query.where(or_(periods.c.to_date.is_(None), periods.c.to_date >= bindparam("b_since", type_=Date)))
        elif attribute == "adjustments":
            query = query.where(adjustments.c.lifted_at.is_(None))
        elif attribute in ("equipment", "operators"):
            query = query.where(table.c.removed.is_(False))  # tombstones are no facts
        selects.append(query)
    # In a stable order: evidence lists follow it, and the fingerprint of what a score says with them
    # (PostgreSQL returns rows in whatever order their updates left them).
    return union_all(*selects).order_by(*(literal_column(c) for c in ("kind", "ident", "day", "other_day")))


STATE = {contiguous: _state_union(contiguous) for contiguous in (False, True)}


SCORABLE_PROFILES = {contiguous: select(profiles).where(_chosen(profiles.c.uscc, contiguous), profiles.c.revision > 0)
                     for contiguous in (False, True)}


def _bound(usccs: Sequence[str], contiguous: bool) -> dict[str, Any]:
    return {"b_first": usccs[0], "b_last": usccs[-1]} if contiguous else {"b_usccs": list(usccs)}


def _state_row(kind: int, row: RowMapping) -> dict[str, Any]:
    """A union row back in its table's own column names."""
    attribute, _, slots = STATE_SLOTS[kind]
    values = {column: row[slot] for slot, column in slots.items()}
    if attribute in REPAIRABLE:
        values.setdefault("repair_id", None)
    return values


async def load_enterprise_state(session: AsyncSession, usccs: Sequence[str], *, ceiling_since: date,
                                contiguous: bool = False) -> dict[str, EnterpriseRows]:
    """Everything a rescoring reads about each scorable enterprise (a snapshot received), in two
    queries: the profiles, then the facts, the current score, the grade periods ended on or after
    `ceiling_since` (or still open) and the adjustments not lifted."""
    found = (await session.execute(SCORABLE_PROFILES[contiguous], _bound(usccs, contiguous))).mappings().all()
    result = {row["uscc"]: EnterpriseRows(profile=dict(row)) for row in found}
    if not result:
        return result
    bound = {**_bound(list(result), contiguous), "b_since": ceiling_since}
    for row in (await session.execute(STATE[contiguous], bound)).mappings():
        if (rows := result.get(row["uscc"])) is not None:  # a range also holds placeholders' facts
            getattr(rows, STATE_SLOTS[row["kind"]][0]).append(_state_row(row["kind"], row))
    return result


async def scorable_usccs_after(session: AsyncSession, after: str, limit: int) -> list[str]:
    """The next chunk of scorable enterprises in USCC order, locked for the transaction."""
    query = (select(profiles.c.uscc).where(profiles.c.revision > 0, profiles.c.uscc > after)
             .order_by(profiles.c.uscc).limit(limit).with_for_update())
    return list((await session.execute(query)).scalars())


async def held_score_revisions(session: AsyncSession, after: str, last: str) -> dict[str, int | None]:
    """Every scorable enterprise with `after` < USCC <= `last`, locked, with the revision of its
    current score (None: not scored yet). Every write about an enterprise rescores it, so a full
    rescore that scored a chunk off-lock writes only the enterprises whose revision is still the
    one it read; the others it scores again."""
    locked = (select(profiles.c.uscc).where(profiles.c.uscc > after, profiles.c.uscc <= last,
                                            profiles.c.revision > 0).with_for_update())
    usccs = list((await session.execute(locked)).scalars())
    held = select(current_scores.c.uscc, current_scores.c.revision).where(
        current_scores.c.uscc > after, current_scores.c.uscc <= last)
    revisions = {row.uscc: row.revision for row in await session.execute(held)}
    return {uscc: revisions.get(uscc) for uscc in usccs}


async def scorable_usccs(session: AsyncSession) -> list[str]:
    """Every scorable enterprise, in USCC order (a full rescore cuts it into chunks)."""
    query = select(profiles.c.uscc).where(profiles.c.revision > 0).order_by(profiles.c.uscc)
    return list((await session.execute(query)).scalars())


async def scorable_usccs_between(session: AsyncSession, after: str, last: str) -> list[str]:
    query = (select(profiles.c.uscc).where(profiles.c.revision > 0, profiles.c.uscc > after, profiles.c.uscc <= last)
             .order_by(profiles.c.uscc))
    return list((await session.execute(query)).scalars())


async def get_current_score(session: AsyncSession, uscc: str) -> RowMapping | None:
    return (await session.execute(select(current_scores).where(current_scores.c.uscc == uscc))).mappings().first()


async def active_adjustment(session: AsyncSession, uscc: str) -> RowMapping | None:
    """The latest manual adjustment not lifted (an expired one included: the grade rules say when
    it expired)."""
    query = (select(adjustments).where(adjustments.c.uscc == uscc, adjustments.c.lifted_at.is_(None))
             .order_by(adjustments.c.set_at.desc()).limit(1))
    return (await session.execute(query)).mappings().first()


@functools.lru_cache(maxsize=4)
def _save_scores_statement(dialect: str, columns: tuple[str, ...]):  # type: ignore[no-untyped-def]
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(current_scores)
    return statement.on_conflict_do_update(index_elements=["uscc"], set_={
        **{c: statement.excluded[c] for c in columns if c != "uscc"},
        "revision": current_scores.c.revision + 1})


async def save_scores(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace current scores, counting each row's writes in its revision."""
    statement = _save_scores_statement(session.get_bind().dialect.name, tuple(rows[0]))
    await session.execute(statement, list(rows) if len(rows) > 1 else rows[0])


async def append_history(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(history.insert(), list(rows))


async def close_grade_periods(session: AsyncSession, closures: Sequence[tuple[str, date]]) -> None:
    if closures:
        statement = (update(periods).where(periods.c.uscc == bindparam("b_uscc"), periods.c.to_date.is_(None))
                     .values(to_date=bindparam("b_to_date")))
        await session.execute(statement, [{"b_uscc": u, "b_to_date": d} for u, d in closures])


async def open_grade_periods(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        await session.execute(periods.insert(), list(rows))


async def grade_history(session: AsyncSession, uscc: str, before_id: int | None, limit: int) -> list[RowMapping]:
    query = select(periods).where(periods.c.uscc == uscc)
    if before_id is not None:
        query = query.where(periods.c.id < before_id)
    return list((await session.execute(query.order_by(periods.c.id.desc()).limit(limit + 1))).mappings())


async def score_history(session: AsyncSession, uscc: str, before_id: int | None, limit: int) -> list[RowMapping]:
    query = select(history).where(history.c.uscc == uscc)
    if before_id is not None:
        query = query.where(history.c.id < before_id)
    return list((await session.execute(query.order_by(history.c.id.desc()).limit(limit + 1))).mappings())


def _in_subtree(column: Any, prefix: str | None) -> Any:
    return column.startswith(prefix, autoescape=True) if prefix else true()


async def list_scores(session: AsyncSession, *, prefix: str | None, grade: str | None, key_supervision: bool | None,
                      after_uscc: str | None, limit: int) -> list[RowMapping]:
    query = (select(current_scores.c.uscc, profiles.c.name, current_scores.c.jurisdiction_code,
                    current_scores.c.score, current_scores.c.grade, current_scores.c.raw_grade,
                    current_scores.c.model_version, current_scores.c.key_supervision, current_scores.c.grade_since,
                    current_scores.c.locked_until, current_scores.c.computed_at)
             .join(profiles, profiles.c.uscc == current_scores.c.uscc)
             .where(_in_subtree(current_scores.c.jurisdiction_code, prefix)))
    if grade:
        query = query.where(current_scores.c.grade == grade)
    if key_supervision is not None:
        query = query.where(current_scores.c.key_supervision.is_(key_supervision))
    if after_uscc:
        query = query.where(current_scores.c.uscc > after_uscc)
    return list((await session.execute(query.order_by(current_scores.c.uscc).limit(limit + 1))).mappings())


async def grade_counts(session: AsyncSession, prefix: str | None) -> list[RowMapping]:
    """(jurisdiction_code, grade, n) of the current grades under a node."""
    query = (select(current_scores.c.jurisdiction_code, current_scores.c.grade, func.count().label("n"))
             .where(_in_subtree(current_scores.c.jurisdiction_code, prefix))
             .group_by(current_scores.c.jurisdiction_code, current_scores.c.grade))
    return list((await session.execute(query)).mappings())


async def periods_overlapping(session: AsyncSession, prefix: str | None, since: date) -> list[RowMapping]:
    """Grade periods of enterprises under a node that were held on or after `since`."""
    query = (select(periods.c.id, periods.c.uscc, periods.c.grade, periods.c.from_date, periods.c.to_date)
             .join(current_scores, current_scores.c.uscc == periods.c.uscc)
             .where(_in_subtree(current_scores.c.jurisdiction_code, prefix),
                    or_(periods.c.to_date.is_(None), periods.c.to_date >= since))
             .order_by(periods.c.id))
    return list((await session.execute(query)).mappings())


async def claim_nightly_run(session: AsyncSession, business_date: date, holder: str, at: datetime,
                            lease_until: datetime) -> bool:
    """True when `holder` claims the nightly pass of `business_date` until `lease_until`: nobody
    claimed it yet, or a claim left unfinished is stale (its lease ran out, or it is the holder's
    own from a try that failed). A finished pass is never claimed again."""
    statement = insert_for(session, nightly_runs).on_conflict_do_nothing(index_elements=["business_date"])
    inserted = await session.execute(statement.values(business_date=business_date, started_at=at, holder=holder,
                                                      lease_until=lease_until))
    if inserted.rowcount:
        return True
    stale = or_(nightly_runs.c.lease_until.is_(None), nightly_runs.c.lease_until < at, nightly_runs.c.holder == holder)
    taken = await session.execute(
        update(nightly_runs).where(nightly_runs.c.business_date == business_date, nightly_runs.c.finished_at.is_(None),
                                   stale)
        .values(started_at=at, holder=holder, lease_until=lease_until))
    return bool(taken.rowcount)


async def renew_nightly_claim(session: AsyncSession, business_date: date, holder: str, lease_until: datetime) -> bool:
    """Extend the holder's unfinished claim; False when it is no longer the holder's."""
    result = await session.execute(update(nightly_runs).where(
        nightly_runs.c.business_date == business_date, nightly_runs.c.holder == holder,
        nightly_runs.c.finished_at.is_(None)).values(lease_until=lease_until))
    return bool(result.rowcount)


async def release_nightly_claim(session: AsyncSession, business_date: date, holder: str) -> None:
    """Give up an unfinished claim, so that the retry (here or on another replica) runs the pass."""
    await session.execute(nightly_runs.delete().where(
        nightly_runs.c.business_date == business_date, nightly_runs.c.holder == holder,
        nightly_runs.c.finished_at.is_(None)))


async def finish_nightly_run(session: AsyncSession, business_date: date, holder: str, at: datetime, rescored: int,
                             changed: int) -> bool:
    """Mark the holder's pass finished: from now on the date counts as run."""
    result = await session.execute(update(nightly_runs).where(
        nightly_runs.c.business_date == business_date, nightly_runs.c.holder == holder,
        nightly_runs.c.finished_at.is_(None)).values(finished_at=at, lease_until=None, rescored=rescored,
                                                      changed=changed))
    return bool(result.rowcount)
