"""Queries of filling records, the days they cover, equipment records and maintenance lapses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, bindparam, func, select, text, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.inspection.models import CutoffFinding, EquipmentRecord, FillingDay, FillingRecord, MaintenanceLapse
from shared.queries import among, insert_rows, upsert

filling = FillingRecord.__table__
days = FillingDay.__table__
equipment_records = EquipmentRecord.__table__
lapses = MaintenanceLapse.__table__
findings = CutoffFinding.__table__
IN_CHUNK = 1000


# Ingest writes a thousand rows a call: found by one query, numbered, then bound by the driver
# (shared.queries.insert_rows: executemany on SQLite, binary COPY on PostgreSQL), about half the
# time of an INSERT … ON CONFLICT DO NOTHING RETURNING over the same rows. Reads go through the
# models as everywhere else.


async def uploaded_fills(session: AsyncSession, uscc: str, cylinder_nos: Sequence[str], earliest: datetime,
                         latest: datetime) -> set[tuple[str, datetime]]:
    """(cylinder_no, filled_at) of the enterprise's uploads (corrections aside: the key of
    ix_filling_records_uploaded_fill) of these cylinders filled between ``earliest`` and
    ``latest``, inclusive."""
    rows = await session.execute(select(filling.c.cylinder_no, filling.c.filled_at).where(
        filling.c.enterprise_uscc == uscc, filling.c.corrects_id.is_(None),
        filling.c.filled_at >= earliest, filling.c.filled_at <= latest,
        among(session, filling.c.cylinder_no, list(cylinder_nos))))
    return {(cylinder_no, filled_at) for cylinder_no, filled_at in rows}


# the sequence looked up once (materialised), not once per id: that was four fifths of the time
_NEXT_IDS = text("WITH ids AS MATERIALIZED (SELECT pg_get_serial_sequence('filling_records', 'id')::regclass AS seq) "
                 "SELECT nextval(ids.seq) FROM ids, generate_series(1, :n)")
_LAST_ID = select(func.coalesce(func.max(filling.c.id), 0))


async def next_filling_ids(session: AsyncSession, count: int) -> list[int]:
    """``count`` new record ids, ascending: from the id sequence on PostgreSQL; on SQLite, whose
    writers are serialised (BEGIN IMMEDIATE), the ones its rowid would take next."""
    if session.get_bind().dialect.name == "postgresql":
        return sorted((await session.execute(_NEXT_IDS, {"n": count})).scalars())
    last = (await session.execute(_LAST_ID)).scalar_one()
    return list(range(last + 1, last + 1 + count))


async def insert_filling_records(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Insert new uploads, each with its ``id`` (``next_filling_ids``). The caller holds the
    enterprise's chain-head lock and left out what ``uploaded_fills`` found, so no row can meet
    its key stored already; one that did would fail the statement (an IntegrityError), not be
    skipped."""
    await insert_rows(session, filling, rows)


_BATCH_ROWS = select(filling).where(filling.c.batch_id == bindparam("b_batch"),
                                    filling.c.enterprise_uscc == bindparam("b_uscc")).order_by(filling.c.id)


async def batch_records(session: AsyncSession, batch_id: str, uscc: str) -> list[RowMapping]:
    """What this batch stored for the enterprise, in id order."""
    return list((await session.execute(_BATCH_ROWS, {"b_batch": batch_id, "b_uscc": uscc})).mappings())


async def records_of_batches(session: AsyncSession, uscc: str, batch_ids: Sequence[str]) -> dict[str, list[Any]]:
    rows = await session.execute(select(filling).where(
        filling.c.enterprise_uscc == uscc, filling.c.batch_id.in_(batch_ids)).order_by(filling.c.id))
    grouped: dict[str, list[Any]] = {b: [] for b in batch_ids}
    for row in rows.mappings():
        grouped[row["batch_id"]].append(row)
    return grouped


async def count_uploaded_records(session: AsyncSession, uscc: str) -> int:
    """The enterprise's records as uploaded (corrections not counted): what its batch links sealed."""
    return (await session.execute(select(func.count()).select_from(filling).where(
        filling.c.enterprise_uscc == uscc, filling.c.corrects_id.is_(None)))).scalar_one()


async def mark_days(session: AsyncSession, uscc: str, dates: Sequence[date], now: datetime) -> None:
    await upsert(session, days, [{"uscc": uscc, "business_date": d, "first_received_at": now} for d in dates],
                 key=["uscc", "business_date"], update_columns=[])


async def unreported_findings(session: AsyncSession, uscc: str, dates: Sequence[date]) -> list[RowMapping]:
    """Cut-off findings of these days whose late arrival was not reported yet."""
    rows = await session.execute(select(findings).where(
        findings.c.uscc == uscc, findings.c.business_date.in_(list(dates)), findings.c.late_event_id.is_(None)))
    return list(rows.mappings())


async def claim_late_report(session: AsyncSession, uscc: str, day: date, event_id: str, now: datetime) -> bool:
    """Mark the finding's late arrival reported; False when another batch did so first."""
    result = await session.execute(update(findings).where(
        findings.c.uscc == uscc, findings.c.business_date == day, findings.c.late_event_id.is_(None),
    ).values(late_event_id=event_id, late_at=now))
    return bool(result.rowcount)


successor = filling.alias("successor")
# Each version with the id of the correction that replaced it (null: the current version). The
# probe uses the partial unique index on corrects_id: corrections are few, uploads are not.
WITH_SUCCESSOR = select(filling, successor.c.id.label("superseded_by_id")).select_from(
    filling.outerjoin(successor, successor.c.corrects_id == filling.c.id))
CURRENT = successor.c.id.is_(None)


async def get_filling_record(session: AsyncSession, record_id: int) -> RowMapping | None:
    """One version of a filling record, with ``superseded_by_id``."""
    return (await session.execute(WITH_SUCCESSOR.where(filling.c.id == record_id))).mappings().first()


def _filling_query(uscc: str, cylinder_no: str | None, start: datetime | None, end: datetime | None,
                   all_versions: bool) -> Any:
    query = WITH_SUCCESSOR.where(filling.c.enterprise_uscc == uscc)
    if not all_versions:
        query = query.where(CURRENT)
    if cylinder_no:
        query = query.where(filling.c.cylinder_no == cylinder_no)
    if start:
        query = query.where(filling.c.filled_at >= start)
    if end:
        query = query.where(filling.c.filled_at < end)
    return query


async def list_filling_records(session: AsyncSession, uscc: str, *, cylinder_no: str | None,
                               start: datetime | None, end: datetime | None, all_versions: bool,
                               after: tuple[datetime, int] | None, limit: int) -> list[RowMapping]:
    """The current versions (or every version) of the enterprise's records, by filled_at and id;
    the filters apply to each version's own values."""
    query = _filling_query(uscc, cylinder_no, start, end, all_versions)
    if after is not None:
        moment, last_id = after
        query = query.where((filling.c.filled_at > moment) | and_(filling.c.filled_at == moment,
                                                                   filling.c.id > last_id))
    return list((await session.execute(query.order_by(filling.c.filled_at, filling.c.id).limit(limit))).mappings())


async def stream_filling_records(session: AsyncSession, uscc: str, *, cylinder_no: str | None,
                                 start: datetime | None, end: datetime | None, all_versions: bool,
                                 chunk: int = 5000) -> AsyncIterator[list[RowMapping]]:
    after: tuple[datetime, int] | None = None
    while True:
        rows = await list_filling_records(session, uscc, cylinder_no=cylinder_no, start=start, end=end,
                                          all_versions=all_versions, after=after, limit=chunk)
        if not rows:
            return
        yield rows
        after = (rows[-1]["filled_at"], rows[-1]["id"])


# --- equipment records ------------------------------------------------------------------------

async def insert_equipment_record(session: AsyncSession, values: dict[str, Any]) -> int:
    result = await session.execute(equipment_records.insert().values(**values).returning(equipment_records.c.id))
    return int(result.scalar_one())


async def get_equipment_record(session: AsyncSession, uscc: str, record_id: int) -> RowMapping | None:
    return (await session.execute(select(equipment_records).where(
        equipment_records.c.enterprise_uscc == uscc, equipment_records.c.id == record_id))).mappings().first()


async def equipment_records_at(session: AsyncSession, uscc: str, sequences: Sequence[int]) -> dict[int, RowMapping]:
    found: dict[int, RowMapping] = {}
    for n in range(0, len(sequences), IN_CHUNK):
        rows = await session.execute(select(equipment_records).where(
            equipment_records.c.enterprise_uscc == uscc,
            equipment_records.c.chain_sequence.in_(list(sequences[n:n + IN_CHUNK]))))
        found.update({r["chain_sequence"]: r for r in rows.mappings()})
    return found


async def count_equipment_records(session: AsyncSession, uscc: str) -> int:
    return (await session.execute(select(func.count()).select_from(equipment_records).where(
        equipment_records.c.enterprise_uscc == uscc))).scalar_one()


async def list_equipment_records(session: AsyncSession, uscc: str, *, equipment_id: str | None, kind: str | None,
                                 start: datetime | None, end: datetime | None, after: tuple[datetime, int] | None,
                                 limit: int) -> list[RowMapping]:
    t = equipment_records
    query = select(t).where(t.c.enterprise_uscc == uscc)
    if equipment_id:
        query = query.where(t.c.equipment_id == equipment_id)
    if kind:
        query = query.where(t.c.kind == kind)
    if start:
        query = query.where(t.c.occurred_at >= start)
    if end:
        query = query.where(t.c.occurred_at < end)
    if after is not None:
        query = query.where((t.c.occurred_at > after[0]) | and_(t.c.occurred_at == after[0], t.c.id > after[1]))
    return list((await session.execute(query.order_by(t.c.occurred_at, t.c.id).limit(limit))).mappings())


async def last_maintenance(session: AsyncSession, usccs: Sequence[str]) -> dict[tuple[str, str], date]:
    """The latest maintenance date of every piece of equipment of these enterprises."""
    t = equipment_records
    found: dict[tuple[str, str], date] = {}
    for n in range(0, len(usccs), IN_CHUNK):
        rows = await session.execute(select(t.c.enterprise_uscc, t.c.equipment_id, func.max(t.c.business_date)).where(
            t.c.kind == "maintenance", t.c.enterprise_uscc.in_(list(usccs[n:n + IN_CHUNK]))).group_by(
            t.c.enterprise_uscc, t.c.equipment_id))
        found.update({(r[0], r[1]): r[2] for r in rows})
    return found


async def record_lapse(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert the lapse unless it was reported already; True when this call recorded it."""
    result = await upsert(session, lapses, [values], key=["uscc", "equipment_id", "due_date"], update_columns=[])
    return bool(result.rowcount)


async def set_lapse_event(session: AsyncSession, uscc: str, equipment_id: str, due: date, event_id: str) -> None:
    await session.execute(update(lapses).where(lapses.c.uscc == uscc, lapses.c.equipment_id == equipment_id,
                                               lapses.c.due_date == due).values(event_id=event_id))
