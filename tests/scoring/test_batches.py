"""A batch of events applied at once (the consumer runner's fast path, `consumers.apply_batch`)
has exactly the effects of the same events applied one at a time: the same projection, scores,
histories, grade periods and published events with the same causes, for streams that hold
several events of one enterprise per batch, out-of-order snapshots, removals, withdrawals and
duplicates."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from services.scoring import models as tables
from services.scoring.main import create_app as create_scoring_app
from shared.contracts import enforcement, inspection, registry
from shared.testing.events import consumer_record
from shared.testing.services import apply_in_fetches, running_service
from tests.scoring.support import SHANGHAI, Clock, enterprise, equipment, filling_station, management, missing_day

Item = tuple[Any, dict[str, Any], str]  # (spec, data, event id)


def stream(seed: int, usccs: list[str], clock: Clock) -> list[Item]:
    """Every kind of event scoring applies, several per enterprise, in a seeded order."""
    rng = random.Random(seed)
    items: list[Item] = []
    revision = dict.fromkeys(usccs, 0)
    equipment_revision: dict[tuple[str, str], int] = {}

    def add(spec: Any, data: dict[str, Any], event_id: str | None = None) -> str:
        event_id = event_id or f"{seed}-{len(items)}"
        items.append((spec, data, event_id))
        return event_id

    missing: dict[str, list[str]] = {u: [] for u in usccs}
    for n, uscc in enumerate(usccs):  # facts before the enterprise too: placeholders hold them
        if n % 3 == 0:
            add(registry.EQUIPMENT_REGISTERED, equipment(uscc, "EQ0", registered=False, due=clock.days_ago(5)))
            equipment_revision[(uscc, "EQ0")] = 1
        revision[uscc] = 1
        builder = filling_station if n % 2 else enterprise
        add(registry.ENTERPRISE_REGISTERED, builder(uscc, 1))
    for step in range(12 * len(usccs)):
        uscc = rng.choice(usccs)
        kind = rng.randrange(14)
        day = clock.days_ago(rng.randrange(1, 60))
        if kind == 0:
            revision[uscc] += 1
            add(registry.ENTERPRISE_UPDATED, enterprise(uscc, revision[uscc], general_credit_grade=rng.choice("ABCD"),
                                                        management=management(rng.random() > 0.3)))
        elif kind == 1:  # an older snapshot relayed late: ignored
            add(registry.ENTERPRISE_UPDATED, enterprise(uscc, max(1, revision[uscc] - 1), venue_type="school"))
        elif kind == 2:
            item = f"EQ{rng.randrange(3)}"
            held = equipment_revision.get((uscc, item), 0)
            equipment_revision[(uscc, item)] = next_revision = held + rng.choice([1, 1, 0])  # 0: a repeat
            add(registry.EQUIPMENT_UPDATED, equipment(uscc, item, max(1, next_revision), registered=rng.random() > .4,
                                                      due=clock.days_ago(rng.randrange(-200, 30))))
        elif kind == 3:
            item = f"EQ{rng.randrange(3)}"
            equipment_revision[(uscc, item)] = held = equipment_revision.get((uscc, item), 0) + 1
            add(registry.EQUIPMENT_REMOVED, {"uscc": uscc, "item_id": item, "revision": held, "reason": "moved"})
        elif kind == 4:
            add(registry.OPERATOR_REGISTERED, {"uscc": uscc, "operator_id": f"OP{step % 2}", "revision": step + 1,
                                               "certificate_valid_until": day.isoformat()})
        elif kind == 5:
            missing[uscc].append(add(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, day)))
        elif kind == 6 and missing[uscc]:
            withdrawn = missing[uscc].pop(0)
            add(inspection.FILLING_RECORDS_MISSING_WITHDRAWN, {
                "enterprise_uscc": uscc, "business_date": day.isoformat(), "missing_event_id": withdrawn,
                "withdrawn_at": clock().isoformat()})
        elif kind == 7:
            add(inspection.TASK_CLOSED, {"task_id": f"T{step % 3}", "enterprise_uscc": uscc,
                                         "due_date": day.isoformat(), "completed": rng.random() > 0.5,
                                         "closed_at": datetime.combine(day, time(9, step % 60), SHANGHAI).isoformat()})
        elif kind == 8:
            add(inspection.HAZARD_RAISED, {"hazard_id": f"H{step % 2}", "enterprise_uscc": uscc,
                                           "deadline_date": day.isoformat()})
        elif kind == 9:
            add(inspection.HAZARD_RECTIFIED, {"hazard_id": f"H{step % 2}", "enterprise_uscc": uscc,
                                              "rectified_date": day.isoformat()})
        elif kind == 10:
            add(enforcement.PATROL_COMPLETED, {
                "patrol_id": f"P{step}", "enterprise_uscc": uscc, "patrolled_at": clock().isoformat(),
                "items": {str(i): rng.choice(["pass", "fail"]) for i in range(1, 13)}})
        elif kind == 11:
            add(enforcement.CASE_OPENED, {"case_id": f"C{step}", "enterprise_uscc": uscc,
                                          "opened_date": day.isoformat()})
            add(enforcement.PENALTY_DECIDED, {"penalty_id": f"F{step}", "enterprise_uscc": uscc,
                                              "decided_date": day.isoformat(), "fine_yuan": 30000})
        elif kind == 12:
            add(registry.ACCIDENT_REPORTED, {"uscc": uscc, "accident_id": f"A{step}", "occurred_date": day.isoformat(),
                                             "severity": "general"})
        else:
            add(enforcement.ORDER_ISSUED, {"order_id": f"O{step}", "enterprise_uscc": uscc,
                                           "issued_date": day.isoformat(),
                                           "deadline_date": (day + timedelta(days=10)).isoformat()})
        if rng.random() < 0.05:  # a redelivery: the inbox drops it
            items.append(items[-1])
    return items


def record_of(spec: Any, data: dict[str, Any], event_id: str, offset: int) -> ConsumerRecord:
    return consumer_record(spec, data, offset=offset, id=event_id, time=datetime(2026, 6, 15, 12, tzinfo=SHANGHAI))


async def state(runtime: Any) -> dict[str, list[dict[str, Any]]]:
    """What the events left, without surrogate keys, wall-clock stamps and the ids of scoring's
    own events."""
    outbox = tables.platform.outbox
    async with runtime.session_factory() as session:
        def rows(table: Any, *order: Any, drop: tuple[str, ...] = ("id", "created_at", "updated_at")) -> Any:
            return session.execute(select(*[c for c in table.c if c.name not in drop]).order_by(*order))

        result = {}
        for name, table, order in [
            ("profiles", tables.profiles, [tables.profiles.c.uscc]),
            ("equipment", tables.equipment, [tables.equipment.c.uscc, tables.equipment.c.equipment_id]),
            ("missing_days", tables.missing_days, [tables.missing_days.c.uscc, tables.missing_days.c.event_id]),
            ("scores", tables.current_scores, [tables.current_scores.c.uscc]),
            ("history", tables.history, [tables.history.c.uscc, tables.history.c.id]),
            ("periods", tables.periods, [tables.periods.c.uscc, tables.periods.c.id]),
        ]:
            result[name] = [dict(r) for r in (await rows(table, *order)).mappings()]
        published = await session.execute(select(outbox.c.event_type, outbox.c.key, outbox.c.attributes,
                                                 outbox.c.data).order_by(outbox.c.key, outbox.c.id))
        result["published"] = [
            {"type": r.event_type, "key": r.key, "data": r.data,
             "cause": (r.attributes.get("causationid"), r.attributes.get("correlationid"))} for r in published]
    return result


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_batch_has_the_effects_of_its_events_one_at_a_time(two_database_urls, usccs, seed):
    one_url, batch_url = two_database_urls
    clock = Clock()
    items = stream(seed, [usccs(n) for n in range(6)], clock)
    records = [record_of(spec, data, event_id, offset) for offset, (spec, data, event_id) in enumerate(items)]
    options = {"consumers_enabled": False, "relay_enabled": False, "nightly_rescore_enabled": False}
    async with running_service(create_scoring_app, one_url, **options) as one, \
            running_service(create_scoring_app, batch_url, **options) as batch:
        one.runtime.clock = batch.runtime.clock = clock
        outcomes = [await one.runtime.consumers[0].process(record) for record in records]
        assert outcomes.count("applied") > 0.9 * len(items) and "dead_lettered" not in outcomes
        await apply_in_fetches(batch.runtime.consumers[0], records, seed)
        expected, got = await state(one.runtime), await state(batch.runtime)
    assert len(expected["history"]) > len(items) / 2
    per_uscc = [s for s in expected["published"] if s["type"] == "safegrid.scoring.score.updated"]
    assert len({s["cause"][0] for s in per_uscc}) == len(per_uscc), "one score.updated per triggering event"
    for name in expected:
        assert len(got[name]) == len(expected[name]), name
        for row_got, row_expected in zip(got[name], expected[name], strict=True):
            assert row_got == row_expected, name
