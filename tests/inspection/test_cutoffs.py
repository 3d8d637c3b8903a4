"""The daily cut-off: every operating filling unit with no filling record for the business date
and no declared closure yields exactly one filling_records.missing, however often it runs, after
a crash in the middle of a run, and on several replicas at once."""

from __future__ import annotations

import asyncio
from datetime import time, timedelta

import pytest

from services.inspection import jobs
from services.inspection.cutoffs import service as cutoffs
from services.inspection.models import CutoffFinding
from shared.auth import Principal
from shared.context import unit_of_work
from shared.contracts import inspection as events
from shared.contracts import registry
from tests.inspection.support import LANSHAN, TODAY, Inspection, at, fill, station

pytestmark = pytest.mark.postgres
MISSING = events.FILLING_RECORDS_MISSING.type


async def stations(inspection: Inspection, usccs, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    inspection.clock.set(TODAY, time(8))
    codes = [usccs(k) for k in range(n)]
    for uscc in codes:
        await inspection.station(uscc, cylinders={"C001": {}}, operators={})
    inspection.clock.set(TODAY, time(21))
    return codes


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
    inspection.clock.set(TODAY, time(8))
    donggang, lanshan = usccs(0), usccs(1)
    await inspection.station(donggang)
    await inspection.station(lanshan, jurisdiction=LANSHAN)
    inspection.clock.set(TODAY, time(21))
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
