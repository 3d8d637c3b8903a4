"""Full rescores: after a new model takes effect, the nightly pass (时间窗口: facts ageing out,
deadlines passing, locks expiring), and the admin command. They own their units of work the way
the consumer runner does: one per chunk of enterprises (``shared.context.unit_of_work``), so a
province-sized pass neither holds one huge transaction nor writes row by row. A large pass hands
reading and scoring to worker processes (workers.py) and only writes here.

A run reads the model in effect once, at its start. So that a run never writes an older model's
scores over a newer one's (another replica loaded a version meanwhile and rescored everyone with
it), each chunk's write transaction takes the lock a model load takes
(``model_versions.repository.lock_models``) and checks, under it, which version is in effect:
when it is no longer the run's, the chunk writes nothing and the run stops (``superseded_by`` in
its summary). The newer version's own full rescore covers everyone, as of a later moment, so a
nightly pass stopped that way counts as run for its date.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import socket
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import aclosing
from datetime import date, datetime, timedelta
from typing import Any

import structlog

from services.scoring import workers
from services.scoring.context import ScoringContext
from services.scoring.domain import Scored, ScoringModel, business_date, ceiling_since
from services.scoring.events import correlated
from services.scoring.model_versions import repository as model_repo
from services.scoring.model_versions import service as model_versions
from services.scoring.repository import audit
from services.scoring.scores import repository as repo
from services.scoring.scores.service import Rescored, Trigger, record_scores, rescore
from shared.app import ServiceRuntime
from shared.auth import SYSTEM, Principal
from shared.context import unit_of_work
from shared.schedule import run_daily

log = structlog.get_logger(__name__)

MODEL_LOADED = "scoring.model_loaded"
NIGHTLY_RESCORE = "scoring.nightly_rescore"
ADMIN_RESCORE = "scoring.admin_rescore"


async def rescore_everyone(runtime: ServiceRuntime, trigger_type: str, *, actor: str, ref: str | None = None,
                           stop: asyncio.Event | None = None,
                           after_chunk: Callable[[], Awaitable[None]] | None = None) -> dict[str, Any]:
    """Rescore every scorable enterprise as of now with the model in effect now, chunk by chunk
    (`after_chunk` runs once each is committed).

    Only enterprises whose stored score would change are written, recorded and published; all of
    one run's events share its run id as correlation id. A large run has worker processes read and
    score its chunks while this process writes (reading and scoring are most of the work)."""
    run_id = str(uuid.uuid4())
    ctx: ScoringContext
    async with unit_of_work(runtime) as ctx:
        as_of = ctx.now()
        model = await model_versions.in_effect(ctx, business_date(as_of))
        scorable = await repo.scorable_usccs(ctx.session)
    trigger = Trigger(trigger_type, ref=ref or run_id)
    settings = ctx.settings
    parallel = settings.rescore_workers > 0 and len(scorable) >= settings.rescore_parallel_from
    if parallel:
        size = settings.rescore_chunk_size
        ranges = [("" if n == 0 else scorable[n - 1], scorable[min(n + size, len(scorable)) - 1])
                  for n in range(0, len(scorable), size)]
        chunks = _scored_in_workers(runtime, model, trigger, as_of, ranges, stop)
    else:
        chunks = _scored_here(runtime, model, trigger, as_of, stop)
    del scorable
    rescored = changed = grade_changes = 0
    superseded_by: str | None = None
    with correlated(run_id):
        try:
            # aclosing: when after_chunk fails or the run is cancelled, the generator's finally (the
            # worker pool's shutdown) runs now, not whenever the generator is garbage-collected.
            async with aclosing(chunks):
                async for outcomes in chunks:
                    rescored += len(outcomes)
                    changed += sum(o.recorded for o in outcomes)
                    grade_changes += sum(o.grade_changed for o in outcomes)
                    if after_chunk is not None:
                        await after_chunk()
        except _Superseded as superseded:
            superseded_by = superseded.version
            log.info("scoring.full_rescore_superseded", run_id=run_id, model_version=model.model_version,
                     superseded_by=superseded_by, rescored=rescored)
        summary = {"run_id": run_id, "trigger": trigger_type, "as_of": as_of, "model_version": model.model_version,
                   "rescored": rescored, "changed": changed, "grade_changes": grade_changes,
                   "superseded_by": superseded_by}
        async with unit_of_work(runtime) as ctx:
            await audit(ctx.session, actor=actor, action=f"rescore.{trigger_type.removeprefix('scoring.')}",
                        subject=model.model_version, detail={**summary, "as_of": as_of.isoformat()})
            if superseded_by is None and (stop is None or not stop.is_set()):
                await model_repo.record_model_rescore(ctx.session, model.model_version, ctx.now(), rescored)
    log.info("scoring.full_rescore", parallel=parallel, **{**summary, "as_of": as_of.isoformat()})
    return summary


class _Superseded(Exception):
    """A newer model version took effect while a full rescore ran with an older one."""

    def __init__(self, version: str) -> None:
        super().__init__(version)
        self.version = version


async def _still_in_effect(ctx: ScoringContext, model: ScoringModel) -> None:
    """In a chunk's write transaction, before it writes: take the model lock and make sure the
    run's model is still the one in effect (raises _Superseded otherwise, writing nothing)."""
    await model_repo.lock_models(ctx.session)
    version = await model_repo.version_in_effect(ctx.session, ctx.today())
    if version is not None and version != model.model_version:
        raise _Superseded(version)


async def _scored_here(runtime: ServiceRuntime, model: ScoringModel, trigger: Trigger, as_of: datetime,
                       stop: asyncio.Event | None) -> AsyncIterator[list[Rescored]]:
    """Each chunk in one transaction that holds its enterprises locked from read to write."""
    after = ""
    while stop is None or not stop.is_set():
        ctx: ScoringContext
        async with unit_of_work(runtime) as ctx:
            await _still_in_effect(ctx, model)
            usccs = await repo.scorable_usccs_after(ctx.session, after, ctx.settings.rescore_chunk_size)
            if not usccs:
                return
            outcomes = await rescore(ctx, usccs, trigger, as_of=as_of, only_changed=True, model=model,
                                     contiguous=True)
        after = usccs[-1]
        yield outcomes


async def _scored_in_workers(runtime: ServiceRuntime, model: ScoringModel, trigger: Trigger, as_of: datetime,
                             ranges: list[tuple[str, str]], stop: asyncio.Event | None
                             ) -> AsyncIterator[list[Rescored]]:
    """Worker processes read and score the chunks (`after` < USCC <= `last`) while this process
    writes the ones already scored. Nothing is locked while a worker reads, so the write locks the
    chunk's range and scores afresh, here, every enterprise written in between (its current score's
    revision moved) or registered into the range since."""
    settings = runtime.settings
    workers_n: int = settings.rescore_workers  # type: ignore[attr-defined]
    loop = asyncio.get_running_loop()
    pool = ProcessPoolExecutor(
        max_workers=workers_n, mp_context=multiprocessing.get_context("spawn"),
        initializer=workers.start,
        initargs=(settings.effective_database_url, model.model_dump(mode="json"), ceiling_since(model, as_of)))
    pending = deque(ranges)
    in_flight: deque[tuple[str, str, asyncio.Future[list[Scored]]]] = deque()
    finished = False
    try:
        while pending or in_flight:
            while pending and len(in_flight) <= workers_n and (stop is None or not stop.is_set()):
                after, last = pending.popleft()
                in_flight.append((after, last, loop.run_in_executor(pool, workers.score_range, after, last, as_of)))
            if not in_flight:
                break
            after, last, future = in_flight.popleft()
            scored = await future
            ctx: ScoringContext
            async with unit_of_work(runtime) as ctx:
                held = await repo.held_score_revisions(ctx.session, after, last)
                await _still_in_effect(ctx, model)  # before anything is written
                fresh = [s for s in scored if s.uscc in held and held[s.uscc] == s.held_revision]
                moved = sorted(set(held) - {s.uscc for s in fresh})
                outcomes = await record_scores(ctx, fresh, trigger, as_of, only_changed=True)
                if moved:
                    outcomes += await rescore(ctx, moved, trigger, as_of=as_of, only_changed=True, model=model)
            yield outcomes
            if stop is not None and stop.is_set():
                pending.clear()
        finished = True
    finally:
        # Never block the event loop on the workers: a chunk a worker is still scoring (cancelled,
        # or a failure) runs to its end in that process, which then exits; the queued ones are
        # dropped. After a run that finished, the idle workers are reaped in a thread.
        for _, _, future in in_flight:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        if finished:
            await asyncio.to_thread(pool.shutdown, wait=True)


async def load_model(runtime: ServiceRuntime, text: str, principal: Principal,
                     loaded_by: str | None = None) -> dict[str, Any]:
    """Store a new model version; when it is the one in effect now, rescore everyone with it
    (the old scores stay in history). Returns the stored version's summary and, under
    ``rescore``, the rescore's summary (None when the version takes effect later)."""
    ctx: ScoringContext
    async with unit_of_work(runtime, principal) as ctx:
        model = await model_versions.store_model(ctx, text, loaded_by)
        current = await model_versions.in_effect(ctx)
    summary = None
    if current.model_version == model.model_version:
        summary = await rescore_everyone(runtime, MODEL_LOADED, actor=loaded_by or principal.sub,
                                         ref=model.model_version)
    async with unit_of_work(runtime, principal) as ctx:
        row = await model_repo.get_model(ctx.session, model.model_version)
        assert row is not None
        return {**await model_versions.model_summary(ctx, row), "rescore": summary}


# --- the nightly pass -----------------------------------------------------------------------

class ClaimLost(Exception):
    """Another replica took the nightly pass over (this one's lease had run out)."""


async def run_nightly_pass(runtime: ServiceRuntime, holder: str,
                           stop: asyncio.Event | None = None) -> dict[str, Any] | None:
    """The nightly pass for today's business date, unless another replica ran it or runs it now.

    The date is claimed with a lease renewed after every chunk, and counts as run only once the
    pass finished: a pass that fails or is stopped gives its claim up (the retry runs it), and a
    replica that died leaves a claim that is taken over once its lease ran out."""
    ctx: ScoringContext
    async with unit_of_work(runtime) as ctx:
        now, lease = ctx.now(), timedelta(seconds=ctx.settings.nightly_claim_lease_s)
        today = business_date(now)
        if not await repo.claim_nightly_run(ctx.session, today, holder, now, now + lease):
            log.info("scoring.nightly_skipped", business_date=today.isoformat(), reason="run or running elsewhere")
            return None

    async def renew() -> None:
        async with unit_of_work(runtime) as ctx:
            if not await repo.renew_nightly_claim(ctx.session, today, holder, ctx.now() + lease):
                raise ClaimLost(f"the nightly pass of {today} was taken over from {holder}")

    try:
        # Stopped by a newer model taking effect (summary["superseded_by"]), the pass still counts as
        # run: that model's own full rescore, as of later, does everything this one would have.
        summary = await rescore_everyone(runtime, NIGHTLY_RESCORE, actor=SYSTEM.sub, stop=stop, after_chunk=renew)
        if stop is not None and stop.is_set():
            log.info("scoring.nightly_interrupted", business_date=today.isoformat(), rescored=summary["rescored"])
            await _give_up(runtime, today, holder)
            return None
        async with unit_of_work(runtime) as ctx:
            if not await repo.finish_nightly_run(ctx.session, today, holder, ctx.now(), summary["rescored"],
                                                 summary["changed"]):
                raise ClaimLost(f"the nightly pass of {today} was taken over from {holder}")
    except BaseException:
        await asyncio.shield(_give_up(runtime, today, holder))
        raise
    return summary


async def _give_up(runtime: ServiceRuntime, day: date, holder: str) -> None:
    """Release an unfinished claim; when even that fails, its lease runs out instead."""
    try:
        async with unit_of_work(runtime) as ctx:
            await repo.release_nightly_claim(ctx.session, day, holder)
    except Exception as exc:
        log.warning("scoring.nightly_release_failed", business_date=day.isoformat(), error=str(exc) or repr(exc))


def replica_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


async def nightly_rescore(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """The background job: sleep until the configured time, run the pass, repeat. A failed pass
    is retried soon; the per-day claim keeps replicas from running it twice."""
    holder = replica_name()
    await run_daily(stop, lambda: runtime.settings.nightly_rescore_at,  # type: ignore[attr-defined]
                    lambda: run_nightly_pass(runtime, holder, stop), name="scoring.nightly_rescore")
