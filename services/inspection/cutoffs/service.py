"""The daily cut-off (每日截止), one chunk of filling units at a time: each operating filling unit
with no filling record for the business date and no declared closure gets one finding and one
``filling_records.missing``, however often and on however many replicas the cut-off runs.

Exactly once rests on the finding's primary key (enterprise, business date), inserted in the same
transaction as the event's outbox row: a run that crashes rolls both back; a second run, or a
concurrent replica, finds the row and stages nothing. Each unit found missing is re-checked under
its chain-head lock, the lock ingest and closure declarations take, so records or a closure
committed meanwhile are seen; a closure declared after the finding withdraws it
(``filling_records.missing_withdrawn``, see ``withdraw_for_closure``).

Each city's units are judged at that city's cut-off time (``Settings.cutoff_at_by_city``): the
scheduler runs one group of cities per distinct time, each a ``Coverage`` of the units."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import RowMapping

from services.inspection.chain import repository as chain_repo
from services.inspection.context import InspectionContext
from services.inspection.cutoffs import repository as repo
from services.inspection.domain.cutoff import EVERY_UNIT, Coverage, Unit, missing_units, owes_records
from services.inspection.ledger import repository as ledger
from shared.contracts.inspection import (
    FILLING_RECORDS_MISSING,
    FILLING_RECORDS_MISSING_WITHDRAWN,
    FillingRecordsMissing,
    FillingRecordsMissingWithdrawn,
)
from shared.locality import business_date

PENDING = "pending"


def unit_of(row: RowMapping) -> Unit:
    return Unit(uscc=row["uscc"], kinds=tuple(row["kinds"] or ()), operating=row["operating"],
                first_seen_date=business_date(row["first_seen_at"]))


async def cutoff_chunk(ctx: InspectionContext, day: date, run_id: str, prefix: str | None, after: str,
                       size: int, coverage: Coverage = EVERY_UNIT) -> tuple[str | None, int, list[str]]:
    """Check the next ``size`` filling units after USCC ``after`` (of those ``coverage`` covers):
    (the last USCC checked, or None when there were none; how many owed records; the USCCs newly
    found missing)."""
    session = ctx.session
    rows = await ledger.filling_units(session, prefix, after, size, coverage)
    if not rows:
        return None, 0, []
    units = [unit_of(r) for r in rows]
    usccs = [u.uscc for u in units]
    candidates = missing_units(units, day, with_records=await repo.with_records(session, usccs, day),
                               closed=await ledger.closed_on(session, usccs, day))
    owed = sum(owes_records(u, day) for u in units)
    known = await repo.found_already(session, candidates, day)
    now, found = ctx.now(), []
    for uscc in candidates:
        if uscc in known:
            continue
        await chain_repo.lock_head(session, uscc, now)
        if await repo.with_records(session, [uscc], day) or await ledger.closed_on(session, [uscc], day):
            continue  # records or a closure committed while this run looked (both take this lock)
        if not await repo.claim_finding(session, uscc, day, run_id, now, PENDING):
            continue
        event = await ctx.outbox.publish(session, FILLING_RECORDS_MISSING, subject=uscc, data=FillingRecordsMissing(
            enterprise_uscc=uscc, business_date=day, cutoff_at=now, cutoff_id=run_id))
        await repo.set_finding_event(session, uscc, day, event.id)
        found.append(uscc)
    return rows[-1]["uscc"], owed, found


async def withdraw_for_closure(ctx: InspectionContext, uscc: str, day: date) -> str | None:
    """A closure of ``day`` declared (or recorded) once the cut-off had found the unit missing that
    day: ``filling_records.missing_withdrawn`` naming the missing event, once per finding; its id,
    or None when there was nothing to withdraw. Under the chain-head lock the cut-off takes, so a
    finding being claimed concurrently is either seen here or sees the closure itself."""
    session, now = ctx.session, ctx.now()
    if day > ctx.today():
        return None  # no cut-off has judged that day yet
    await chain_repo.lock_head(session, uscc, now)
    finding = await repo.get_finding(session, uscc, day)
    if finding is None or finding["withdrawn_event_id"] is not None:
        return None
    if not await repo.claim_withdrawal(session, uscc, day, now, PENDING):
        return None
    event = await ctx.outbox.publish(session, FILLING_RECORDS_MISSING_WITHDRAWN, subject=uscc,
                                     data=FillingRecordsMissingWithdrawn(
                                         enterprise_uscc=uscc, business_date=day,
                                         missing_event_id=finding["event_id"], withdrawn_at=now))
    await repo.set_finding_withdrawal(session, uscc, day, event.id)
    return event.id


def finding_out(row: RowMapping, run_id: str) -> dict[str, Any]:
    return {"enterprise_uscc": row["uscc"], "name": row["name"], "jurisdiction_code": row["jurisdiction_code"],
            "event_id": row["event_id"], "found_at": row["found_at"], "found_by_run": row["run_id"],
            "new": row["run_id"] == run_id, "records_arrived_late": row["late_event_id"] is not None,
            "withdrawn_event_id": row["withdrawn_event_id"]}


async def findings(ctx: InspectionContext, day: date, prefix: str | None, run_id: str,
                   coverage: Coverage = EVERY_UNIT) -> list[dict[str, Any]]:
    return [finding_out(r, run_id) for r in await repo.findings_of(ctx.session, day, prefix, coverage)]
