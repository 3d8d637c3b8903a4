"""Applying registry, scoring and inspection events to the projection (投影): enterprises with
their place, venue, key supervision, sandbox and associations; the latest score; grids'
inspectors; accidents; missing-records days. Snapshots apply only when newer than what is held,
so order across topics does not matter; what changed for open alerts follows (alerts.service)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from services.enforcement.context import EnforcementContext
from services.enforcement.models import EnterpriseRow, GridInspectors, MissingRecordsDay
from services.enforcement.projection import repository as repo
from shared.contracts.inspection import FillingRecordsArrivedLate, FillingRecordsMissing, FillingRecordsMissingWithdrawn
from shared.contracts.registry import AccidentReported, EnterpriseSnapshot, GridInspectorsAssigned
from shared.contracts.scoring import ScoreUpdated


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- rows locked once per unit of work ------------------------------------------------------

async def lock_all(ctx: EnforcementContext, usccs: Iterable[str], days: Iterable[tuple[str, date]] = ()) -> None:
    """Lock what a batch of events will write, in one statement per table and in key order (two
    batches cannot deadlock); the events then find their rows in ``ctx``."""
    if wanted := [u for u in dict.fromkeys(usccs) if u not in ctx.enterprises]:
        ctx.enterprises.update(await repo.lock_enterprises(ctx.session, wanted))
    if wanted_days := [d for d in dict.fromkeys(days) if d not in ctx.missing_days]:
        ctx.missing_days.update(await repo.lock_missing_days(ctx.session, wanted_days))


async def enterprise(ctx: EnforcementContext, uscc: str) -> EnterpriseRow:
    """The enterprise's row, locked (a placeholder, revision 0, until its snapshot comes)."""
    if (row := ctx.enterprises.get(uscc)) is None:
        row = ctx.enterprises[uscc] = await repo.lock_enterprise(ctx.session, uscc)
    return row


async def missing_day(ctx: EnforcementContext, uscc: str, day: date) -> MissingRecordsDay:
    """A missing-records day's row, locked (made when the first event about it comes)."""
    if (row := ctx.missing_days.get((uscc, day))) is None:
        await lock_all(ctx, (), [(uscc, day)])
        row = ctx.missing_days[(uscc, day)]
    return row


async def record_enterprise(ctx: EnforcementContext, snapshot: EnterpriseSnapshot,
                            event_id: str) -> EnterpriseRow | None:
    """Apply a registry snapshot if newer than the one held; the row when it was applied."""
    row = await enterprise(ctx, snapshot.uscc)
    if snapshot.revision <= row.revision:
        return None
    row.revision = snapshot.revision
    row.name = snapshot.name
    row.jurisdiction_code = snapshot.jurisdiction_code
    row.grid_code = snapshot.grid_code
    row.venue_type = snapshot.venue_type
    row.kinds = list(snapshot.kinds)
    row.key_supervision = snapshot.key_supervision
    row.key_supervision_reason = snapshot.key_supervision_reason
    row.key_supervision_causes = list(snapshot.key_supervision_causes)
    row.sandbox = snapshot.sandbox
    row.associations = list(snapshot.associations)
    row.operating = snapshot.operating
    row.snapshot_event_id = event_id
    await ctx.session.flush()
    await repo.set_associations(ctx.session, snapshot.uscc, snapshot.associations)
    return row


async def record_score(ctx: EnforcementContext, score: ScoreUpdated,
                       event_id: str) -> tuple[EnterpriseRow, str | None]:
    """Keep the latest score and grade (a score computed before the one held is ignored); the row,
    and the grade it held before (read in the same locking read, not a second query)."""
    row = await enterprise(ctx, score.enterprise_uscc)
    held = row.grade
    computed = aware(score.computed_at)
    if row.scored_at is None or computed >= row.scored_at:
        row.score, row.grade, row.raw_grade = score.score, score.grade, score.raw_grade
        row.model_version, row.scored_at, row.score_event_id = score.model_version, computed, event_id
        await ctx.session.flush()
    return row, held


async def record_inspectors(ctx: EnforcementContext, assigned: GridInspectorsAssigned,
                            event_id: str) -> GridInspectors | None:
    """A grid's inspectors, if newer than those held; the row when applied."""
    row = await repo.get_inspectors(ctx.session, assigned.grid_code, for_update=True)
    inspectors = [i.model_dump() for i in assigned.inspectors]
    if row is None:
        row = GridInspectors(grid_code=assigned.grid_code, revision=assigned.revision, inspectors=inspectors,
                             event_id=event_id)
        ctx.session.add(row)
    elif assigned.revision > row.revision:
        row.revision, row.inspectors, row.event_id = assigned.revision, inspectors, event_id
    else:
        return None
    await ctx.session.flush()
    return row


async def record_accident(ctx: EnforcementContext, accident: AccidentReported, event_id: str) -> None:
    await enterprise(ctx, accident.uscc)
    await repo.save_accident(ctx.session, {
        "uscc": accident.uscc, "accident_id": accident.accident_id, "occurred_date": accident.occurred_date,
        "severity": accident.severity, "responsible": accident.enterprise_responsible, "event_id": event_id})


async def record_missing_day(ctx: EnforcementContext, missing: FillingRecordsMissing,
                             event_id: str) -> MissingRecordsDay:
    day = await missing_day(ctx, missing.enterprise_uscc, missing.business_date)
    if day.missing_event_id is None:
        day.missing_event_id, day.cutoff_at = event_id, aware(missing.cutoff_at)
        await ctx.session.flush()
    return day


async def record_arrival(ctx: EnforcementContext, arrived: FillingRecordsArrivedLate,
                         event_id: str) -> MissingRecordsDay:
    day = await missing_day(ctx, arrived.enterprise_uscc, arrived.business_date)
    if day.arrived_at is None:
        day.arrived_at, day.arrived_event_id = aware(arrived.received_at), event_id
        if day.missing_event_id is None and arrived.missing_event_id:
            day.missing_event_id = arrived.missing_event_id
        await ctx.session.flush()
    return day


async def record_withdrawal(ctx: EnforcementContext, withdrawn: FillingRecordsMissingWithdrawn,
                            event_id: str) -> MissingRecordsDay:
    day = await missing_day(ctx, withdrawn.enterprise_uscc, withdrawn.business_date)
    if day.withdrawn_at is None:
        day.withdrawn_at, day.withdrawn_event_id = aware(withdrawn.withdrawn_at), event_id
        day.missing_event_id = day.missing_event_id or withdrawn.missing_event_id
        await ctx.session.flush()
    return day


async def is_withdrawn(ctx: EnforcementContext, uscc: str, business_date: date | None) -> bool:
    day = await repo.get_missing_day(ctx.session, uscc, business_date)
    return day is not None and day.withdrawn_at is not None


async def records_arrived(ctx: EnforcementContext, uscc: str, business_date: date | None) -> bool:
    day = await repo.get_missing_day(ctx.session, uscc, business_date)
    return day is not None and day.arrived_at is not None
