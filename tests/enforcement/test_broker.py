"""Through real events on the embedded broker: the headline chain with the real scoring service
in-process (a D-grade LPG station's missing records → scoring's score.updated → one on-site
enforcement alert correlated to the missing-records event, published on enforcement.alerts),
and the rule by grade from score.updated as scoring publishes it, redelivered and out of order."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from services.enforcement.main import create_app as create_enforcement_app
from services.scoring.main import create_app as create_scoring_app
from shared.contracts import inspection, portal, registry, scoring
from shared.contracts.enforcement import ALERT_RAISED
from shared.locality import business_date
from shared.testing import databases
from shared.testing.services import RunningService, eventually, running_service
from tests.enforcement.support import (
    GRID,
    INSPECTORS,
    accident,
    anomaly,
    certificate_expired,
    hazard_overdue,
    inspection_overdue,
    inspectors,
    maintenance_lapsed,
    missing,
    score,
)
from tests.scoring.support import equipment, filling_station
from tests.scoring.test_broker import produce

pytestmark = pytest.mark.broker


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def databases_pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                         ) -> AsyncIterator[tuple[str, str]]:
    async with databases.fresh_database(request.param, tmp_path_factory.mktemp("enf")) as enforcement_db, \
            databases.fresh_database(request.param, tmp_path_factory.mktemp("sco")) as scoring_db:
        yield enforcement_db, scoring_db


@pytest.fixture(scope="module")
async def platform(broker, databases_pair) -> AsyncIterator[tuple[RunningService, RunningService]]:  # type: ignore[no-untyped-def]
    """Enforcement and scoring, each with a fresh consumer group on the shared broker."""
    enforcement_db, scoring_db = databases_pair
    suffix = uuid.uuid4().hex[:8]
    async with running_service(create_scoring_app, scoring_db, broker.bootstrap_servers,
                               projection_consumer=f"projection-{suffix}", nightly_rescore_enabled=False,
                               consumer_retry_backoff_s=0.05, log_level="WARNING") as scoring_svc, \
            running_service(create_enforcement_app, enforcement_db, broker.bootstrap_servers,
                            alerts_consumer=f"alerts-{suffix}", sla_sweep_enabled=False, webhooks_enabled=False,
                            plans_enabled=False, consumer_retry_backoff_s=0.05, log_level="WARNING") as enforcement_svc:
        yield enforcement_svc, scoring_svc


async def alerts_of(svc: RunningService, uscc: str) -> list[dict[str, Any]]:
    response = await svc.client.get("/api/v1/alerts", params={"enterprise": uscc}, headers=svc.auth("admin"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


def today() -> Any:
    return business_date(datetime.now(UTC))


async def test_the_headline_a_d_grade_station_missing_records_gets_one_onsite_enforcement_alert(broker, platform,
                                                                                                  unique):
    enforcement_svc, scoring_svc = platform
    uscc = f"{unique}01".ljust(18, "0")
    bootstrap = broker.bootstrap_servers
    await produce(bootstrap, [
        (registry.ENTERPRISE_REGISTERED, filling_station(uscc, grid_code=GRID)),
        (registry.EQUIPMENT_REGISTERED, equipment(uscc, registered=False, due=today() - timedelta(days=3)))])
    await produce_grid(bootstrap, inspectors(revision=1))

    async def scored_c() -> bool:
        response = await scoring_svc.client.get(f"/api/v1/enterprises/{uscc}/score",
                                                headers=scoring_svc.auth("admin"))
        return response.status_code == 200 and response.json()["grade"] == "C"
    await eventually(scored_c, timeout_s=30, what="the station scored C")

    day = today() - timedelta(days=1)
    [missing_id] = await produce(bootstrap, [(inspection.FILLING_RECORDS_MISSING, missing(uscc, day))])
    [alert] = await eventually(lambda: alerts_of(enforcement_svc, uscc), timeout_s=20, what="the alert")

    assert (alert["kind"], alert["grade"], alert["action"], alert["correlation_id"]) == (
        "filling_records_missing", "D", "onsite_enforcement", missing_id)
    assert alert["status"] in ("raised", "dispatched") and alert["business_date"] == day.isoformat()

    # redelivered: the same missing-records event again changes nothing anywhere
    await produce(bootstrap, [(inspection.FILLING_RECORDS_MISSING, missing(uscc, day), missing_id)])
    [again] = await eventually(lambda: alerts_of(enforcement_svc, uscc), timeout_s=10, what="the alert")
    assert (again["id"], again["merged_events"]) == (alert["id"], 1)
    dispatched = await eventually(lambda: _status(enforcement_svc, alert["id"], "dispatched"), timeout_s=10,
                                  what="dispatch to the grid's inspectors")
    assert dispatched["assignees"] == INSPECTORS

    headers, data = await read_alert_raised(bootstrap, uscc)
    assert (headers["ce_correlationid"], data["correlation_id"], data["action"]) == (
        missing_id, missing_id, "onsite_enforcement")


async def _status(svc: RunningService, alert_id: str, status: str) -> dict[str, Any] | None:
    body = (await svc.client.get(f"/api/v1/alerts/{alert_id}", headers=svc.auth("admin"))).json()
    return body if body["status"] == status else None


async def produce_grid(bootstrap: str, data: dict[str, Any]) -> None:
    from aiokafka import AIOKafkaProducer

    from shared.events.envelope import OutgoingEvent, to_kafka

    spec = registry.GRID_INSPECTORS_ASSIGNED
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        event = OutgoingEvent(type=spec.type, source=spec.source, subject=data["grid_code"], data=data)
        message = to_kafka(event.attributes(), data, data["grid_code"])
        await producer.send_and_wait(spec.topic, message.value, key=data["grid_code"].encode(),
                                     headers=list(message.headers.items()))
    finally:
        await producer.stop()


async def read_alert_raised(bootstrap: str, uscc: str) -> tuple[dict[str, str], dict[str, Any]]:
    consumer = AIOKafkaConsumer("enforcement.alerts", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[tuple[dict[str, str], dict[str, Any]]] = []
    try:
        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if (r.key or b"").decode() == uscc and headers.get("ce_type") == ALERT_RAISED.type:
                        found.append((headers, json.loads(r.value)))
            return bool(found)
        await eventually(arrived, timeout_s=15, what="alert.raised on enforcement.alerts")
    finally:
        await consumer.stop()
    return found[0]


@pytest.mark.parametrize(("grade", "action"), [("A", "warning"), ("B", "warning"), ("C", "online_patrol"),
                                                ("D", "onsite_enforcement")])
async def test_score_updated_on_the_broker_raises_by_grade_in_either_order_and_once(broker, platform, unique,
                                                                                    grade, action):
    enforcement_svc, _ = platform
    uscc = f"{unique}{grade}2".ljust(18, "0")
    day = today()
    missing_id = str(uuid.uuid4())
    caused = score(uscc, grade, trigger=inspection.FILLING_RECORDS_MISSING, trigger_id=missing_id, day=day)
    # the rescoring first (scoring.scores), then the cut-off's event (inspection.records), then both again
    [score_id] = await produce(broker.bootstrap_servers, [(scoring.SCORE_UPDATED, caused)])
    await produce(broker.bootstrap_servers, [(inspection.FILLING_RECORDS_MISSING, missing(uscc, day), missing_id),
                                             (scoring.SCORE_UPDATED, caused, score_id)])

    [alert] = await eventually(lambda: alerts_of(enforcement_svc, uscc), timeout_s=20, what="the alert")
    assert (alert["grade"], alert["action"], alert["correlation_id"]) == (grade, action, missing_id)
    # a second rescoring of the same day (a new event) merges into the same alert
    await produce(broker.bootstrap_servers, [(scoring.SCORE_UPDATED, caused)])

    async def merged() -> list[dict[str, Any]] | None:
        found = await alerts_of(enforcement_svc, uscc)
        return found if found and found[0]["merged_events"] == 2 else None
    assert len(await eventually(merged, timeout_s=20, what="the merge")) == 1


async def test_a_completed_patrol_and_an_opened_case_reach_scoring_through_the_broker(broker, platform, unique):
    """patrol.completed leaves through the outbox and relay; scoring turns the marks into the score
    at once (all of 三落实/三到位/双机制 observed in place), then case.opened counts in G6."""
    enforcement_svc, scoring_svc = platform
    uscc = f"{unique}P3".ljust(18, "0")
    regulator = enforcement_svc.auth("regulator", jurisdiction="371102", sub="insp-1")
    await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, filling_station(uscc, grid_code=GRID))])

    async def score_now() -> float | None:
        response = await scoring_svc.client.get(f"/api/v1/enterprises/{uscc}/score", headers=scoring_svc.auth("admin"))
        return response.json()["score"] if response.status_code == 200 else None
    before = await eventually(score_now, timeout_s=30, what="the station scored")

    async def started() -> dict[str, Any] | None:
        response = await enforcement_svc.client.post("/api/v1/patrols", json={
            "enterprise_uscc": uscc, "mode": "online", "inspectors": INSPECTORS[:1]}, headers=regulator)
        return response.json() if response.status_code == 201 else None
    patrol = await eventually(started, timeout_s=30, what="enforcement knows the station")
    for item in range(1, 13):
        marked = await enforcement_svc.client.put(f"/api/v1/patrols/{patrol['id']}/items/{item}",
                                                  json={"mark": "pass"}, headers=regulator)
        assert marked.status_code == 200, marked.text
    done = await enforcement_svc.client.post(f"/api/v1/patrols/{patrol['id']}/complete", json={}, headers=regulator)
    assert done.status_code == 200, done.text

    async def lowered() -> float | None:
        now = await score_now()
        return now if now is not None and now < before else None
    after_patrol = await eventually(lowered, timeout_s=30, what="scoring applied the patrol")

    opened = await enforcement_svc.client.post("/api/v1/cases", json={
        "enterprise_uscc": uscc, "offence_code": "SESL-85-1", "source": {"kind": "report", "id": "RPT-9"},
        "summary": "records not kept"}, headers=regulator)
    assert opened.status_code == 201, opened.text

    async def raised() -> float | None:
        now = await score_now()
        return now if now is not None and now > after_patrol else None
    assert await eventually(raised, timeout_s=30, what="scoring counted the case") == after_patrol + 5


async def held_grade(svc: RunningService, uscc: str) -> str | None:
    from sqlalchemy import select

    from services.enforcement.models import EnterpriseRow

    async with svc.runtime.session_factory() as session:
        return (await session.execute(select(EnterpriseRow.grade).where(EnterpriseRow.uscc == uscc))).scalar()


# Every other rule of the policy (rizhao-alerts-2026.1), each at a grade that tells its action apart
RULES = [
    ("filling_anomaly", "C", "online_patrol", inspection.FILLING_ANOMALY_DETECTED,
     lambda u: anomaly(u, kind="night_fill", severity="general")),
    ("expired_cylinder_filled", "A", "onsite_enforcement", inspection.FILLING_ANOMALY_DETECTED, anomaly),
    ("scrapped_cylinder_filled", "B", "onsite_enforcement", inspection.FILLING_ANOMALY_DETECTED,
     lambda u: anomaly(u, kind="scrapped_cylinder")),
    ("accident", "A", "onsite_enforcement", registry.ACCIDENT_REPORTED, accident),
    ("equipment_inspection_overdue", "D", "onsite_enforcement", registry.EQUIPMENT_INSPECTION_OVERDUE,
     inspection_overdue),
    ("operator_certificate_expired", "B", "warning", registry.OPERATOR_CERTIFICATE_EXPIRED, certificate_expired),
    ("hazard_overdue", "C", "online_patrol", inspection.HAZARD_OVERDUE, hazard_overdue),
    ("maintenance_lapsed", "A", "warning", inspection.MAINTENANCE_LAPSED, maintenance_lapsed),
    ("public_report", "C", "onsite_enforcement", portal.REPORT_SUBMITTED,
     lambda u: {"report_id": "RPT-1", "enterprise_uscc": u, "category": "gas_leak", "description": "闻到异味",
                "submitted_at": "2026-06-15T18:00:00+08:00"}),
]


@pytest.mark.parametrize(("kind", "grade", "action", "spec", "build"), RULES, ids=[r[0] for r in RULES])
async def test_each_other_rule_raises_its_action_from_real_events_once_however_often_redelivered(
        broker, platform, unique, kind, grade, action, spec, build):
    enforcement_svc, _ = platform
    uscc = f"{unique}R{[r[0] for r in RULES].index(kind)}".ljust(18, "0")
    await produce(broker.bootstrap_servers, [(scoring.SCORE_UPDATED, score(uscc, grade,
                                                                           trigger=registry.ENTERPRISE_REGISTERED))])
    await eventually(lambda: _is(held_grade(enforcement_svc, uscc), grade), timeout_s=20, what="the grade")
    cause = build(uscc)
    [cause_id] = await produce(broker.bootstrap_servers, [(spec, cause)])
    await produce(broker.bootstrap_servers, [(spec, cause, cause_id), (spec, cause)])  # redelivered, reported again

    async def merged() -> list[dict[str, Any]] | None:
        found = await alerts_of(enforcement_svc, uscc)
        return found if found and found[0]["merged_events"] == 2 else None
    [alert] = await eventually(merged, timeout_s=20, what="one alert, merged once")
    assert (alert["kind"], alert["grade"], alert["action"], alert["cause_event_id"]) == (kind, grade, action, cause_id)


async def _is(value: Any, expected: Any) -> bool:
    return await value == expected
