"""Background jobs: the SLA sweep (escalates alerts whose SLA passed, up the jurisdiction tree),
the webhook delivery worker (sends due deliveries, retries with backoff) and the monthly plans
(each district's supervision plan for the month, generated once). Each unit of work
is ``async with unit_of_work(runtime) as ctx``; an HTTP call never runs inside a transaction."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import structlog

from services.enforcement.alerts import repository as alerts_repo
from services.enforcement.alerts import service as alerts
from services.enforcement.context import EnforcementContext
from services.enforcement.plans import repository as plans_repo
from services.enforcement.plans import service as plans
from services.enforcement.webhooks import delivery
from services.enforcement.webhooks import repository as webhooks_repo
from services.enforcement.webhooks import service as webhooks
from shared.app import ServiceRuntime
from shared.context import unit_of_work
from shared.http.problems import Problem
from shared.schedule import run_daily, run_every, wait_or_stop

log = structlog.get_logger(__name__)
SWEEP_CHUNK = 200


async def sweep_once(runtime: ServiceRuntime) -> int:
    """Raise the missing-records alerts whose score never came (see
    ``alerts.raise_unscored_missing_alerts``), then escalate every alert overdue now; how many
    were raised or moved."""
    moved = 0
    ctx: EnforcementContext
    while True:
        async with unit_of_work(runtime) as ctx:
            raised = await alerts.raise_unscored_missing_alerts(ctx, SWEEP_CHUNK)
        moved += raised
        if raised < SWEEP_CHUNK:
            break
    while True:
        async with unit_of_work(runtime) as ctx:
            due = await alerts_repo.overdue(ctx.session, ctx.now(), SWEEP_CHUNK)
            for alert in due:
                moved += await alerts.escalate(ctx, alert)
        if len(due) < SWEEP_CHUNK:
            return moved


async def sla_sweep(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    async def sweep() -> None:
        if moved := await sweep_once(runtime):
            log.info("enforcement.alerts_escalated", count=moved)

    await run_every(stop, runtime.settings.sla_sweep_interval_s, sweep,  # type: ignore[attr-defined]
                    name="enforcement-sla-sweep", run_at_start=True)


async def deliver_once(runtime: ServiceRuntime, client: httpx.AsyncClient) -> int:
    """Send the deliveries due now (claimed, then sent outside any transaction, then recorded)."""
    settings = runtime.settings
    ctx: EnforcementContext
    async with unit_of_work(runtime) as ctx:
        lease = ctx.now() + timedelta(seconds=settings.webhook_timeout_s * 2 + 5)  # type: ignore[attr-defined]
        claimed = await webhooks_repo.claim_due(ctx.session, ctx.now(), lease,
                                                settings.webhook_batch_size)  # type: ignore[attr-defined]
        work = [(d.id, s, d) for d, s in claimed]
    if not work:
        return 0
    outcomes = await asyncio.gather(*(delivery.send(client, s, d) for _, s, d in work))
    for (delivery_id, _, _), (code, error, duration) in zip(work, outcomes, strict=True):
        async with unit_of_work(runtime) as ctx:
            await webhooks.record_attempt(ctx, delivery_id, code, error, duration)
    return len(work)


async def webhook_worker(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    settings = runtime.settings
    async with httpx.AsyncClient(timeout=settings.webhook_timeout_s,  # type: ignore[attr-defined]
                                 follow_redirects=False) as client:
        while not stop.is_set():
            sent = 0
            try:
                sent = await deliver_once(runtime, client)
            except Exception as exc:
                log.warning("enforcement.webhook_round_failed", error=str(exc) or type(exc).__name__)
            if not sent and await wait_or_stop(stop, settings.webhook_poll_interval_s):  # type: ignore[attr-defined]
                return


async def generate_month_plans(runtime: ServiceRuntime, month: str | None = None) -> list[str]:
    """This month's plan (or ``month``'s) of every district holding enterprises that has none yet,
    each in its own transaction; the plans generated. A plan a regulator made meanwhile is kept."""
    async with unit_of_work(runtime) as ctx:
        month = month or str(plans.Month.of(ctx.today()))
        missing = [d for d in await plans_repo.districts(ctx.session)
                   if not await plans_repo.has_plan(ctx.session, d, month)]
    made = []
    for district in missing:
        try:
            async with unit_of_work(runtime) as ctx:
                made.append((await plans.generate_plan(ctx, district, month)).id)
        except Problem as exc:
            if exc.status != 409:
                raise
    return made


async def monthly_plans(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    async def run() -> None:
        made = await generate_month_plans(runtime)
        if made:
            log.info("enforcement.plans_generated", count=len(made))

    await run_daily(stop, lambda: runtime.settings.plans_daily_at,  # type: ignore[attr-defined]
                    run, name="enforcement.monthly_plans", run_at_start=True)
