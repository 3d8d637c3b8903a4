import asyncio
from datetime import UTC, datetime, time

from shared.schedule import next_run_at, run_daily, run_every


def test_the_next_run_is_the_next_shanghai_wall_time_strictly_after_now():
    midnight_in_shanghai = datetime(2026, 6, 15, 16, 0, tzinfo=UTC)
    assert (next_run_at(midnight_in_shanghai, time(0, 10)) - midnight_in_shanghai).total_seconds() == 600
    assert (next_run_at(midnight_in_shanghai, time(0, 0)) - midnight_in_shanghai).total_seconds() == 24 * 3600


async def test_a_daily_job_runs_at_start_when_asked_retries_a_failure_and_stops():
    stop, runs = asyncio.Event(), []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 1:
            raise ConnectionError("database down")
        stop.set()

    far_away = (datetime.now(UTC).hour + 12) % 24  # the daily time itself never comes in this test
    await asyncio.wait_for(run_daily(stop, lambda: time(far_away, 0), job, name="t", run_at_start=True,
                                     retry_after_failure_s=0.01), timeout=5)
    assert runs == [0, 1]  # the failure did not end the loop; it was retried soon


async def test_a_daily_job_not_due_yet_waits_and_ends_on_stop():
    stop, runs = asyncio.Event(), []

    async def job() -> None:
        runs.append(1)

    task = asyncio.create_task(run_daily(stop, lambda: time(12, 0), job, name="t"))
    await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(task, timeout=2)
    assert runs == []


async def test_a_job_every_interval_waits_one_first_survives_a_failure_and_stops():
    stop, runs = asyncio.Event(), []
    loop = asyncio.get_running_loop()
    started = loop.time()

    async def job() -> None:
        runs.append(loop.time() - started)
        if len(runs) == 1:
            raise ConnectionError("database down")
        if len(runs) == 3:
            stop.set()

    await asyncio.wait_for(run_every(stop, 0.05, job, name="t"), timeout=5)
    assert len(runs) == 3 and runs[0] >= 0.04  # the first round after one interval; a failure ended nothing


async def test_a_job_every_interval_runs_at_once_when_asked_and_ends_on_stop():
    stop, runs = asyncio.Event(), []

    async def job() -> None:
        runs.append(1)
        stop.set()

    await asyncio.wait_for(run_every(stop, 3600, job, name="t", run_at_start=True), timeout=5)
    assert runs == [1]
