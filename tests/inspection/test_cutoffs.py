"""The daily cut-off: every operating filling unit with no filling record for the business date
and no declared closure yields exactly one filling_records.missing, however often it runs, after
a crash in the middle of a run, and on several replicas at once."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import pytest

from services.inspection import jobs
from services.inspection.cutoffs import service as cutoffs
from services.inspection.domain.cutoff import CutoffSchedule
from services.inspection.models import CutoffFinding
from shared.auth import Principal
from shared.context import unit_of_work
from shared.contracts import inspection as events
from shared.contracts import registry
from tests.inspection.support import LANSHAN, TODAY, Inspection, at, fill, station

pytestmark = pytest.mark.postgres
MISSING = events.FILLING_RECORDS_MISSING.type
WITHDRAWN = events.FILLING_RECORDS_MISSING_WITHDRAWN.type


async def stations(inspection: Inspection, usccs, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    inspection.clock.set(TODAY, time(8))
    codes = [usccs(k) for k in range(n)]
    for uscc in codes:
        await inspection.station(uscc, cylinders={"C001": {}}, operators={})
    inspection.clock.set(TODAY, time(21))
    return codes


async def two_districts(inspection: Inspection, usccs) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    """A station in 东港区 and one in 岚山区, registered in the morning; the clock at 21:00."""
    inspection.clock.set(TODAY, time(8))
    donggang, lanshan = usccs(0), usccs(1)
    await inspection.station(donggang)
    await inspection.station(lanshan, jurisdiction=LANSHAN)
    inspection.clock.set(TODAY, time(21))
    return donggang, lanshan


async def missing_events(inspection: Inspection, codes: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for event in await inspection.outbox(MISSING):
        if event["key"] in codes:
            found[event["key"]] = found.get(event["key"], 0) + 1
    return found


async def test_a_station_without_records_yields_one_missing_event_listed_in_the_response(inspection, usccs):
    [uscc] = await stations(inspection, usccs, 1)
    response = await inspection.cutoff(TODAY)
    assert response.status_code == 200, response.text
    body = response.json()
    [listed] = body["missing"]
    assert (listed["enterprise_uscc"], listed["new"], listed["jurisdiction_code"]) == (uscc, True, "371102")
    [event] = await inspection.outbox(MISSING, uscc)
    assert event["attributes"]["subject"] == uscc and event["event_id"] == listed["event_id"]
    assert event["data"]["business_date"] == TODAY.isoformat() and event["data"]["cutoff_id"] == body["run_id"]


async def test_only_operating_filling_units_without_records_or_closure_are_missing(inspection, usccs):
    inspection.clock.set(TODAY, time(8))
    with_records, closed, suspended, not_filling, missing = (usccs(k) for k in range(5))
    for uscc in (with_records, closed, missing):
        await inspection.station(uscc, cylinders={"C001": {}}, operators={})
    await inspection.station(suspended, operating_status="suspended")
    await inspection.station(not_filling, kinds=["elevator"])
    await inspection.upload([fill(with_records, filled_at=at(TODAY, 7))])
    declared = await inspection.client.post(f"/api/v1/enterprises/{closed}/closed-days",
                                            json={"date": TODAY.isoformat(), "reason": "设备检修"},
                                            headers=inspection.enterprise(closed))
    assert declared.status_code == 201, declared.text
    inspection.clock.set(TODAY, time(21))
    later = usccs(9)  # registered after the day it would be asked about
    inspection.clock.set(TODAY + timedelta(days=1), time(8))
    await inspection.station(later)
    body = (await inspection.cutoff(TODAY)).json()
    assert [m["enterprise_uscc"] for m in body["missing"]] == [missing]
    assert body["checked"] == 3  # the operating filling units known that day
    assert set(await missing_events(inspection, [with_records, closed, suspended, not_filling, missing, later])) == {
        missing}


async def test_a_repeated_cutoff_publishes_nothing_more_and_lists_what_it_had_found(inspection, usccs):
    codes = await stations(inspection, usccs, 3)
    first = (await inspection.cutoff(TODAY)).json()
    again = (await inspection.cutoff(TODAY)).json()
    assert first["newly_found"] == 3 and again["newly_found"] == 0
    assert [(m["enterprise_uscc"], m["new"]) for m in again["missing"]] == [(c, False) for c in codes]
    assert await missing_events(inspection, codes) == {c: 1 for c in codes}


async def test_concurrent_cutoffs_publish_one_event_per_unit(inspection, usccs):
    """Replicas at once: every run takes the same findings' keys; on PostgreSQL the losers wait on
    the winner's row and stage nothing."""
    codes = await stations(inspection, usccs, 6)
    inspection.runtime.settings.cutoff_chunk_size = 2  # type: ignore[misc]
    results = await asyncio.gather(*(jobs.run_cutoff(inspection.runtime, TODAY) for _ in range(5)))
    assert sum(r["newly_found"] for r in results) == 6
    assert await missing_events(inspection, codes) == {c: 1 for c in codes}
    assert await inspection.count(CutoffFinding.__table__) == 6


async def test_a_run_that_crashed_between_chunks_is_completed_by_the_next_without_repeating(inspection, usccs):
    codes = await stations(inspection, usccs, 5)
    inspection.runtime.settings.cutoff_chunk_size = 2  # type: ignore[misc]

    async def crash(chunk: int) -> None:
        if chunk == 1:
            raise RuntimeError("the replica died")

    with pytest.raises(RuntimeError):
        await jobs.run_cutoff(inspection.runtime, TODAY, after_chunk=crash)
    assert len(await missing_events(inspection, codes)) == 2  # the first chunk committed
    rerun = await jobs.run_cutoff(inspection.runtime, TODAY)
    assert rerun["newly_found"] == 3
    assert await missing_events(inspection, codes) == {c: 1 for c in codes}


async def test_a_chunk_that_crashed_before_committing_leaves_no_finding_and_no_event(inspection, usccs):
    codes = await stations(inspection, usccs, 3)
    with pytest.raises(RuntimeError):
        async with unit_of_work(inspection.runtime) as ctx:
            _, _, found = await cutoffs.cutoff_chunk(ctx, TODAY, "crashed-run", None, "", 100)
            assert found == codes
            raise RuntimeError("the process died before COMMIT")
    assert await missing_events(inspection, codes) == {}
    assert await inspection.count(CutoffFinding.__table__) == 0
    assert (await inspection.cutoff(TODAY)).json()["newly_found"] == 3
    assert await missing_events(inspection, codes) == {c: 1 for c in codes}


async def test_a_regulators_cutoff_covers_its_subtree_and_others_may_not_run_it(inspection, usccs):
    donggang, lanshan = await two_districts(inspection, usccs)
    district = inspection.auth("regulator", jurisdiction=LANSHAN)
    body = (await inspection.cutoff(TODAY, district)).json()
    assert [m["enterprise_uscc"] for m in body["missing"]] == [lanshan] and body["scope"] == LANSHAN
    assert set(await missing_events(inspection, [donggang, lanshan])) == {lanshan}
    for headers in (inspection.enterprise(donggang), inspection.scale, inspection.auth("association")):
        assert (await inspection.cutoff(TODAY, headers)).status_code == 403
    tomorrow = await inspection.cutoff(TODAY + timedelta(days=1))
    assert tomorrow.status_code == 409
    assert set(await missing_events(inspection, [donggang, lanshan])) == {lanshan}


async def test_the_scheduled_job_runs_the_cutoff_of_the_day(inspection, usccs):
    [uscc] = await stations(inspection, usccs, 1)
    result = await jobs.run_cutoff(inspection.runtime, inspection.clock.today, Principal(sub="system", role="admin"))
    assert [m["enterprise_uscc"] for m in result["missing"]] == [uscc]


async def test_a_station_closed_by_registry_after_the_fact_is_still_judged_by_the_ledger_of_now(inspection, usccs):
    """The cut-off asks the ledger as it stands when it runs: a unit registry marks closed before
    the run owes nothing."""
    [uscc] = await stations(inspection, usccs, 1)
    await inspection.deliver(registry.ENTERPRISE_UPDATED, station(uscc, 2, operating_status="closed",
                                                                  operating=False))
    assert (await inspection.cutoff(TODAY)).json()["missing"] == []


# --- per city --------------------------------------------------------------------------------

JINAN = "370102"  # a district of 济南市 (370100): cut off at the default time


async def test_the_scheduler_cuts_each_citys_units_off_at_that_citys_time_once(inspection, usccs):
    """日照 (371100) at 20:00, everyone else at the default 21:00: each unit is judged at its city's
    time, once, however many schedulers (replicas) run."""
    settings = inspection.runtime.settings
    settings.cutoff_at_by_city = {"371100": time(20, 0)}  # type: ignore[misc]
    inspection.clock.set(TODAY, time(8))
    rizhao, jinan = usccs(0), usccs(1)
    await inspection.station(rizhao)
    await inspection.station(jinan, jurisdiction=JINAN)
    replicas = [CutoffSchedule(settings.cutoff_groups, started=inspection.clock()) for _ in range(2)]
    inspection.clock.set(TODAY, time(19, 59))
    assert await jobs.run_due_cutoffs(inspection.runtime, replicas[0]) == []
    inspection.clock.set(TODAY, time(20, 0))
    [run] = await jobs.run_due_cutoffs(inspection.runtime, replicas[0])
    assert [m["enterprise_uscc"] for m in run["missing"]] == [rizhao] and run["date"] == TODAY
    assert await missing_events(inspection, [rizhao, jinan]) == {rizhao: 1}
    inspection.clock.set(TODAY, time(20, 30))
    assert await jobs.run_due_cutoffs(inspection.runtime, replicas[0]) == []  # done for today
    inspection.clock.set(TODAY, time(21, 0))
    [run] = await jobs.run_due_cutoffs(inspection.runtime, replicas[0])
    assert [m["enterprise_uscc"] for m in run["missing"]] == [jinan]
    late = await jobs.run_due_cutoffs(inspection.runtime, replicas[1])  # the other replica: both groups, nothing new
    assert [r["newly_found"] for r in late] == [0, 0]
    assert await missing_events(inspection, [rizhao, jinan]) == {rizhao: 1, jinan: 1}
    inspection.clock.set(TODAY + timedelta(days=1), time(0, 30))
    assert await jobs.run_due_cutoffs(inspection.runtime, replicas[0]) == []


async def test_an_enterprise_may_declare_today_closed_until_its_own_citys_cutoff(inspection, usccs):
    inspection.runtime.settings.cutoff_at_by_city = {"371100": time(20, 0)}  # type: ignore[misc]
    rizhao, jinan = usccs(0), usccs(1)
    await inspection.station(rizhao)
    await inspection.station(jinan, jurisdiction=JINAN)
    inspection.clock.set(TODAY, time(20, 30))
    answers = {}
    for uscc in (rizhao, jinan):
        response = await inspection.client.post(f"/api/v1/enterprises/{uscc}/closed-days",
                                                json={"date": TODAY.isoformat(), "reason": "停电"},
                                                headers=inspection.enterprise(uscc))
        answers[uscc] = response.status_code
    assert answers == {rizhao: 409, jinan: 201}


async def test_the_admin_cutoff_may_be_narrowed_to_a_jurisdiction_the_caller_covers(inspection, usccs):
    donggang, lanshan = await two_districts(inspection, usccs)
    outside = await inspection.client.post("/api/v1/admin/cutoffs", json={"date": TODAY.isoformat(),
                                           "jurisdiction_code": JINAN}, headers=inspection.city)
    assert outside.status_code == 403
    bad = await inspection.client.post("/api/v1/admin/cutoffs", json={"date": TODAY.isoformat(),
                                       "jurisdiction_code": "37110"}, headers=inspection.admin)
    assert bad.status_code == 422
    assert await missing_events(inspection, [donggang, lanshan]) == {}
    body = (await inspection.client.post("/api/v1/admin/cutoffs", json={"date": TODAY.isoformat(),
                                         "jurisdiction_code": LANSHAN}, headers=inspection.city)).json()
    assert body["scope"] == LANSHAN and [m["enterprise_uscc"] for m in body["missing"]] == [lanshan]
    assert await missing_events(inspection, [donggang, lanshan]) == {lanshan: 1}


# --- a closure declared after the cut-off ------------------------------------------------------

async def test_a_closure_recorded_after_the_cutoff_withdraws_the_finding_once(inspection, usccs):
    closed, open_ = await stations(inspection, usccs, 2)
    body = (await inspection.cutoff(TODAY)).json()
    missing = {m["enterprise_uscc"]: m["event_id"] for m in body["missing"]}
    url = f"/api/v1/enterprises/{closed}/closed-days"
    inspection.clock.set(TODAY + timedelta(days=1), time(9))
    late = await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "停业整顿"},
                                        headers=inspection.enterprise(closed))
    assert late.status_code == 409  # the enterprise may not, after the fact
    recorded = await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "停业整顿"},
                                            headers=inspection.city)
    assert recorded.status_code == 201, recorded.text
    [withdrawn] = await inspection.outbox(WITHDRAWN, closed)
    assert withdrawn["data"]["missing_event_id"] == missing[closed]
    assert withdrawn["data"]["business_date"] == TODAY.isoformat()
    # cancelled and recorded again, and the cut-off rerun: nothing more
    assert (await inspection.client.delete(f"{url}/{TODAY.isoformat()}", headers=inspection.city)).status_code == 204
    assert (await inspection.client.post(url, json={"date": TODAY.isoformat(), "reason": "停业"},
                                         headers=inspection.city)).status_code == 201
    rerun = (await inspection.cutoff(TODAY)).json()
    assert {m["enterprise_uscc"]: m["withdrawn_event_id"] for m in rerun["missing"]} == {
        closed: withdrawn["event_id"], open_: None}
    assert len(await inspection.outbox(WITHDRAWN)) == 1
    ahead = await inspection.client.post(f"/api/v1/enterprises/{open_}/closed-days", headers=inspection.city,
                                         json={"date": (TODAY + timedelta(days=3)).isoformat(), "reason": "检修"})
    assert ahead.status_code == 201 and len(await inspection.outbox(WITHDRAWN)) == 1


async def test_a_closure_and_a_cutoff_at_once_never_leave_a_finding_standing(inspection, usccs):
    """Both take the unit's chain-head lock: the cut-off either sees the closure (no finding) or
    the closure sees the finding (withdrawn)."""
    codes = await stations(inspection, usccs, 4)

    async def close(uscc: str):  # type: ignore[no-untyped-def]
        return await inspection.client.post(f"/api/v1/enterprises/{uscc}/closed-days", headers=inspection.city,
                                            json={"date": TODAY.isoformat(), "reason": "停电"})

    results = await asyncio.gather(jobs.run_cutoff(inspection.runtime, TODAY), *(close(c) for c in codes))
    assert all(r.status_code == 201 for r in results[1:])
    found = await missing_events(inspection, codes)
    withdrawn = {e["key"] for e in await inspection.outbox(WITHDRAWN)}
    assert set(found) == withdrawn and all(n == 1 for n in found.values())


async def test_the_background_job_starts_owing_nothing_and_stops_when_told(inspection, usccs):
    """Started after today's cut-off, the scheduler does not run it (the admin endpoint catches up)."""
    [uscc] = await stations(inspection, usccs, 1)
    inspection.clock.set(TODAY, time(22))
    stop = asyncio.Event()
    job = asyncio.create_task(jobs.daily_cutoff(inspection.runtime, stop))
    await asyncio.sleep(0)  # let it run its first pass and start waiting
    stop.set()
    await asyncio.wait_for(job, 5)
    assert await missing_events(inspection, [uscc]) == {}
