"""A fetch applied at once (the consumer runner's fast path, `consumers.apply_batch`: every
enterprise and missing-records day locked up front) has exactly the effects of the same events
applied one at a time: the same projection, alerts, alert histories, published events with their
causes, and webhook deliveries, for streams that hold several events of one unit per batch, the
score before or after its missing-records event (or without it), late records, withdrawals and
redeliveries."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from services.enforcement import models
from services.enforcement.main import create_app as create_enforcement_app
from shared.contracts import inspection, portal, registry, scoring
from shared.contracts.enforcement import ALERT_RAISED, ALERT_STATUS_CHANGED
from shared.testing.events import consumer_record
from shared.testing.services import apply_in_fetches, running_service
from tests.enforcement.support import (
    GRID,
    SHANGHAI,
    TODAY,
    Clock,
    accident,
    anomaly,
    arrived,
    corrected,
    enterprise,
    hazard_overdue,
    inspectors,
    missing,
    score,
)

Item = tuple[Any, dict[str, Any], str]  # (spec, data, event id)


def stream(seed: int, usccs: list[str]) -> list[Item]:
    """Every kind of event the headline chain sends enforcement, several per unit, seeded."""
    rng = random.Random(seed)
    items: list[Item] = []

    def add(spec: Any, data: dict[str, Any], event_id: str | None = None) -> str:
        event_id = event_id or f"{seed}-{len(items)}"
        items.append((spec, data, event_id))
        return event_id

    add(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    revision = dict.fromkeys(usccs, 1)
    for n, uscc in enumerate(usccs):
        if n % 3:  # the others' facts arrive before their snapshot: placeholders hold them
            add(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    for step in range(10 * len(usccs)):
        uscc, kind = rng.choice(usccs), rng.randrange(9)
        day = TODAY - timedelta(days=rng.randrange(0, 8))
        grade = rng.choice("ABCD")
        computed = datetime.combine(TODAY, time(21, 0), tzinfo=SHANGHAI) + timedelta(seconds=step)
        if kind <= 2:  # a missing day and the score it caused, in either order
            gone = f"{seed}-missing-{step}"
            caused = score(uscc, grade, trigger=inspection.FILLING_RECORDS_MISSING, trigger_id=gone, day=day,
                           computed_at=computed)
            first, second = (inspection.FILLING_RECORDS_MISSING, missing(uscc, day)), (scoring.SCORE_UPDATED, caused)
            if kind == 2:
                first, second = second, first
            add(*first, event_id=gone if first[0] is inspection.FILLING_RECORDS_MISSING else None)
            add(*second, event_id=gone if second[0] is inspection.FILLING_RECORDS_MISSING else None)
        elif kind == 3 and step % 2:  # the score of a missing day this stream never delivers
            add(scoring.SCORE_UPDATED, score(uscc, grade, trigger=inspection.FILLING_RECORDS_MISSING,
                                             trigger_id=f"{seed}-unseen-{step}", day=day, computed_at=computed))
        elif kind == 3:
            add(scoring.SCORE_UPDATED, score(uscc, grade, computed_at=computed))
        elif kind == 4:
            add(inspection.FILLING_RECORDS_ARRIVED_LATE, arrived(uscc, day))
        elif kind == 5:
            add(inspection.FILLING_RECORDS_MISSING_WITHDRAWN, inspection.FillingRecordsMissingWithdrawn(
                enterprise_uscc=uscc, business_date=day, missing_event_id=f"{seed}-gone-{step}",
                withdrawn_at=computed).model_dump(mode="json"))
        elif kind == 6:
            revision[uscc] += 1
            add(registry.ENTERPRISE_UPDATED, enterprise(uscc, revision[uscc], grid=GRID if step % 2 else None))
        elif kind == 7 and step % 3 == 0:  # a correction clearing an anomaly (a warning it raised resolves)
            add(inspection.FILLING_RECORD_CORRECTED, corrected(uscc, {"night_fill": f"R{step % 4}"}))
        elif kind == 7:
            add(inspection.FILLING_ANOMALY_DETECTED, anomaly(uscc, "night_fill" if step % 2 else "expired_cylinder",
                                                             "general" if step % 2 else "serious",
                                                             record=f"R{step % 4}"))
        else:
            add(*rng.choice([(registry.ACCIDENT_REPORTED, accident(uscc, f"ACC{step % 2}")),
                             (inspection.HAZARD_OVERDUE, hazard_overdue(uscc)),
                             (portal.REPORT_SUBMITTED, report(uscc, f"RPT{step}", computed))]))
        if rng.random() < 0.05:  # a redelivery: the inbox drops it
            items.append(items[-1])
    return items


def report(uscc: str, report_id: str, at: datetime) -> dict[str, Any]:
    return portal.ReportSubmitted(report_id=report_id, enterprise_uscc=uscc, category="gas_leak",
                                  description="气味很重", submitted_at=at).model_dump(mode="json")


def record_of(spec: Any, data: dict[str, Any], event_id: str, offset: int) -> ConsumerRecord:
    return consumer_record(spec, data, offset=offset, id=event_id, time=datetime(2026, 6, 15, 21, tzinfo=SHANGHAI))


async def state(runtime: Any) -> dict[str, list[Any]]:
    """What the events left, with each alert named by its cause instead of its random id."""
    async with runtime.session_factory() as session:
        alerts = list((await session.execute(select(models.Alert).order_by(
            models.Alert.enterprise_uscc, models.Alert.kind, models.Alert.cause_key))).scalars())
        name = {a.id: f"{a.enterprise_uscc}/{a.kind}/{a.cause_key}" for a in alerts}

        def renamed(value: Any) -> Any:
            if isinstance(value, dict):
                return {k: renamed(v) for k, v in value.items() if k not in ("event_id", "occurred_at")}
            if isinstance(value, list):
                return [renamed(v) for v in value]
            return name.get(value, value) if isinstance(value, str) else value

        def columns(row: Any, drop: tuple[str, ...] = ("id",)) -> dict[str, Any]:
            return renamed({c.name: getattr(row, c.key) for c in row.__table__.columns if c.name not in drop})

        enterprises = (await session.execute(select(models.EnterpriseRow).order_by(models.EnterpriseRow.uscc)))
        days = await session.execute(select(models.MissingRecordsDay).order_by(
            models.MissingRecordsDay.uscc, models.MissingRecordsDay.business_date))
        steps = await session.execute(select(models.AlertStep).order_by(models.AlertStep.id))
        outbox = models.platform.outbox
        published = await session.execute(select(outbox.c.event_type, outbox.c.key, outbox.c.attributes,
                                                 outbox.c.data).order_by(outbox.c.id))
        deliveries = await session.execute(select(models.WebhookDelivery).order_by(
            models.WebhookDelivery.created_at, models.WebhookDelivery.id))
        return {
            "enterprises": [columns(r, ("updated_at",)) for r in enterprises.scalars()],
            "days": [columns(r) for r in days.scalars()],
            "alerts": [columns(a) | {"id": name[a.id]} for a in alerts],
            "steps": sorted((columns(s) for s in steps.scalars()), key=lambda s: (s["alert_id"], str(s["at"]))),
            "published": sorted((r.event_type, r.key, str(renamed(r.data)), r.attributes.get("causationid"),
                                 r.attributes.get("correlationid")) for r in published),
            "deliveries": sorted((d.event_type, name[d.alert_id]) for d in deliveries.scalars()),
        }


@pytest.mark.parametrize("seed", [1, 2])
async def test_a_batch_has_the_effects_of_its_events_one_at_a_time(two_database_urls, usccs, seed):
    one_url, batch_url = two_database_urls
    items = stream(seed, [usccs(n) for n in range(6)])
    records = [record_of(spec, data, event_id, offset) for offset, (spec, data, event_id) in enumerate(items)]
    options = {"consumers_enabled": False, "relay_enabled": False, "sla_sweep_enabled": False,
               "webhooks_enabled": False, "plans_enabled": False}
    async with running_service(create_enforcement_app, one_url, **options) as one, \
            running_service(create_enforcement_app, batch_url, **options) as batch:
        for svc in (one, batch):
            svc.runtime.clock = Clock()
            created = await svc.client.post("/api/v1/webhooks", headers=svc.auth("admin", sub="root"), json={
                "url": "https://hooks.example.org/a", "event_types": [ALERT_RAISED.type, ALERT_STATUS_CHANGED.type]})
            assert created.status_code == 201, created.text
        outcomes = [await one.runtime.consumers[0].process(record) for record in records]
        assert outcomes.count("applied") > 0.9 * len(items) and "dead_lettered" not in outcomes
        await apply_in_fetches(batch.runtime.consumers[0], records, seed)
        expected, got = await state(one.runtime), await state(batch.runtime)
    assert len(expected["alerts"]) > 10 and len(expected["deliveries"]) >= len(expected["alerts"])
    assert {a["kind"] for a in expected["alerts"]} >= {"filling_records_missing", "expired_cylinder_filled"}
    for name in expected:
        assert len(got[name]) == len(expected[name]), name
        for row_got, row_expected in zip(got[name], expected[name], strict=True):
            assert row_got == row_expected, name
