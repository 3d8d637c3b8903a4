"""Wall-clock schedules for background jobs (the registry's daily ledger job, scoring's nightly
pass, inspection's daily cut-off): business time is Asia/Shanghai unless a city says otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta, tzinfo

import structlog

from shared.locality import BUSINESS_TIMEZONE

log = structlog.get_logger(__name__)


def next_run_at(now: datetime, at: time, tz: tzinfo = BUSINESS_TIMEZONE) -> datetime:
    """The next moment strictly after ``now`` whose wall time in ``tz`` is ``at``."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate


async def wait_or_stop(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep up to ``seconds``; True when ``stop`` was set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=max(seconds, 0))
        return True
    except TimeoutError:
        return stop.is_set()


async def run_daily(
    stop: asyncio.Event,
    at: Callable[[], time],
    job: Callable[[], Awaitable[object]],
    *,
    name: str,
    run_at_start: bool = False,
    retry_after_failure_s: float = 60.0,
) -> None:
    """Run ``job`` every day at ``at()`` (read each time, so settings may change), until ``stop``.
    A failure (a database outage, say) is logged and retried soon rather than ending the loop."""
    due_now = run_at_start
    while not stop.is_set():
        if not due_now:
            wait_s = (next_run_at(datetime.now(BUSINESS_TIMEZONE), at()) - datetime.now(BUSINESS_TIMEZONE)
                      ).total_seconds()
            if await wait_or_stop(stop, wait_s):
                return
        due_now = False
        try:
            await job()
        except Exception as exc:
            log.warning("schedule.job_failed", job=name, error=str(exc) or type(exc).__name__,
                        retry_in_s=retry_after_failure_s)
            if await wait_or_stop(stop, retry_after_failure_s):
                return
            due_now = True


async def run_every(
    stop: asyncio.Event,
    interval_s: float,
    job: Callable[[], Awaitable[object]],
    *,
    name: str,
    run_at_start: bool = False,
) -> None:
    """Run ``job`` every ``interval_s`` (the first time at once when ``run_at_start``, else after
    one interval), until ``stop``. A failure is logged and the next round tries again."""
    if not run_at_start and await wait_or_stop(stop, interval_s):
        return
    while True:
        try:
            await job()
        except Exception as exc:
            log.warning("schedule.job_failed", job=name, error=str(exc) or type(exc).__name__, retry_in_s=interval_s)
        if await wait_or_stop(stop, interval_s):
            return
