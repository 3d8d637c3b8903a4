"""Background jobs and the runs they share with the admin endpoints and the CLI: the daily
cut-off (at each city's cut-off time), the maintenance-lapse check (at ``maintenance_check_at``) and the
chain-head timer. Each owns its units of work (``shared.context.unit_of_work``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import structlog

from services.inspection import access
from services.inspection.chain import service as chain
from services.inspection.context import InspectionContext
from services.inspection.cutoffs import repository as cutoff_repo
from services.inspection.cutoffs import service as cutoffs
from services.inspection.domain.cutoff import EVERY_UNIT, Coverage, CutoffSchedule
from services.inspection.errors import not_allowed_now
from services.inspection.hazards import service as hazards
from services.inspection.records import service as records
from services.inspection.repository import audit
from services.inspection.tasks import service as tasks
from shared.app import ServiceRuntime
from shared.auth import SYSTEM, Principal
from shared.context import unit_of_work
from shared.schedule import run_daily, run_every, wait_or_stop

log = structlog.get_logger(__name__)
CUTOFF_RETRY_S = 60.0  # a failed cut-off (a database outage, say) is retried this soon


async def run_cutoff(runtime: ServiceRuntime, day: date, principal: Principal = SYSTEM, *, trigger: str = "schedule",
                     after_chunk: Callable[[int], Awaitable[None]] | None = None, jurisdiction_code: str | None = None,
                     coverage: Coverage = EVERY_UNIT) -> dict[str, Any]:
    """The cut-off for ``day`` over the units ``principal`` may run it for (within
    ``jurisdiction_code`` when named; of those, the ones ``coverage`` covers: a city group),
    committed chunk by chunk (``cutoff_chunk_size`` units each); ``after_chunk(n)`` runs once chunk
    ``n`` committed. Safe to repeat, to run on several replicas at once, and to rerun after a crash."""
    prefix = access.cutoff_scope(principal, jurisdiction_code)
    run_id = str(uuid.uuid4())
    ctx: InspectionContext
    async with unit_of_work(runtime, principal) as ctx:
        if day > ctx.today():
            raise not_allowed_now(f"{day} has not begun yet (today is {ctx.today()})")
        size = ctx.settings.cutoff_chunk_size
        await cutoff_repo.start_run(ctx.session, {"id": run_id, "business_date": day, "trigger": trigger,
                                                  "actor": principal.sub, "scope": prefix, "started_at": ctx.now(),
                                                  "detail": {"coverage": coverage.as_dict()}})
    after, owed, found, chunk = "", 0, 0, 0
    while True:
        async with unit_of_work(runtime, principal) as ctx:
            last, checked, newly = await cutoffs.cutoff_chunk(ctx, day, run_id, prefix, after, size, coverage)
        if last is None:
            break
        after, owed, found, chunk = last, owed + checked, found + len(newly), chunk + 1
        if after_chunk is not None:
            await after_chunk(chunk)
    async with unit_of_work(runtime, principal) as ctx:
        await cutoff_repo.finish_run(ctx.session, run_id, finished_at=ctx.now(), checked=owed, found=found)
        await audit(ctx.session, actor=principal.sub, action="cutoff.run", subject=day.isoformat(),
                    detail={"run_id": run_id, "trigger": trigger, "scope": prefix, "checked": owed, "found": found,
                            "coverage": coverage.as_dict()})
        missing = await cutoffs.findings(ctx, day, prefix, run_id, coverage)
    log.info("inspection.cutoff", business_date=day.isoformat(), run_id=run_id, checked=owed, newly_found=found,
             missing=len(missing), coverage=coverage.as_dict())
    return {"run_id": run_id, "date": day, "scope": prefix, "checked": owed, "newly_found": found, "missing": missing}


async def run_due_cutoffs(runtime: ServiceRuntime, schedule: CutoffSchedule) -> list[dict[str, Any]]:
    """Each city group's cut-off that ``schedule`` holds due now (``runtime.clock``), for that
    group's business date; a group whose run fails stays due (and is logged), the others go on."""
    results = []
    for group, day in schedule.due(runtime.clock()):
        try:
            results.append(await run_cutoff(runtime, day, trigger="schedule", coverage=group.coverage))
        except Exception as exc:
            log.warning("inspection.cutoff_failed", business_date=day.isoformat(), at=group.key,
                        error=str(exc) or type(exc).__name__)
            continue
        schedule.mark_done(group, day)
    return results


async def daily_cutoff(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """At each city's cut-off time (``cutoff_at_by_city``, else ``cutoff_at``) every day: the
    cut-off of that business date for the units of the cities whose time it is. A failed run is
    retried soon, still for its own date; the findings keep every retry and every replica from
    publishing twice."""
    schedule = CutoffSchedule(runtime.settings.cutoff_groups, started=runtime.clock())  # type: ignore[attr-defined]
    while True:
        await run_due_cutoffs(runtime, schedule)
        now = runtime.clock()
        wait_s = CUTOFF_RETRY_S if schedule.due(now) else (schedule.next_at(now) - now).total_seconds()
        if await wait_or_stop(stop, wait_s):
            return


async def run_maintenance_check(runtime: ServiceRuntime, day: date | None = None,
                                principal: Principal = SYSTEM) -> dict[str, Any]:
    async with unit_of_work(runtime, principal) as ctx:
        return await records.check_maintenance(ctx, day or ctx.today())


async def daily_maintenance_check(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    await run_daily(stop, lambda: runtime.settings.maintenance_check_at,  # type: ignore[attr-defined]
                    lambda: run_maintenance_check(runtime), name="inspection.maintenance_check")


async def publish_due_heads(runtime: ServiceRuntime) -> list[str]:
    async with unit_of_work(runtime) as ctx:
        return await chain.publish_due_heads(ctx)


async def chain_head_timer(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Every ``chain_head_interval_s``: publish the heads of chains that grew since their last
    published head (appends publish on their own every ``chain_head_every`` links)."""
    async def publish() -> None:
        if published := await publish_due_heads(runtime):
            log.info("inspection.chain_heads_published", enterprises=len(published))

    await run_every(stop, runtime.settings.chain_head_interval_s, publish,  # type: ignore[attr-defined]
                    name="inspection-chain-heads")


# --- self-inspection tasks and hazards --------------------------------------------------------

async def run_task_jobs(runtime: ServiceRuntime, day: date | None = None, principal: Principal = SYSTEM
                        ) -> dict[str, Any]:
    """The daily task jobs for ``day`` (default today): recurring templates' occurrences, hazards
    overdue as of that day, re-checks overdue (evidence unverified past its due date), and tasks
    whose window and grace have passed by now. Each is idempotent (occurrences per
    template/period/enterprise, one event per task, hazard and piece of evidence)."""
    async with unit_of_work(runtime, principal) as ctx:
        day = day or ctx.today()
        generated = await tasks.generate_occurrences(ctx, day)
    async with unit_of_work(runtime, principal) as ctx:
        overdue = await hazards.report_overdue(ctx, day)
    async with unit_of_work(runtime, principal) as ctx:
        rechecks = await hazards.report_recheck_overdue(ctx, day)
    closed = await close_tasks(runtime, principal)
    log.info("inspection.task_jobs", date=day.isoformat(), issued=generated["issued"], overdue=len(overdue),
             rechecks_overdue=len(rechecks), closed=len(closed))
    return {"date": day, "templates": generated["templates"], "issued": generated["issued"],
            "hazards_overdue": overdue, "rechecks_overdue": rechecks, "tasks_closed": closed}


async def close_tasks(runtime: ServiceRuntime, principal: Principal = SYSTEM) -> list[dict[str, Any]]:
    closed: list[dict[str, Any]] = []
    while True:
        async with unit_of_work(runtime, principal) as ctx:
            batch = await tasks.close_due(ctx, ctx.now())
        closed += batch
        if not batch:
            return closed


async def daily_task_jobs(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    await run_daily(stop, lambda: runtime.settings.task_daily_at,  # type: ignore[attr-defined]
                    lambda: run_task_jobs(runtime), name="inspection.task_jobs", run_at_start=True)


async def task_closer(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Every ``task_close_interval_s``: task.closed for tasks whose window and grace have passed."""
    await run_every(stop, runtime.settings.task_close_interval_s,  # type: ignore[attr-defined]
                    lambda: close_tasks(runtime), name="inspection-task-closer")
