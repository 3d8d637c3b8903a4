"""Through real events on the broker: the platform's plumbing proof (registry → scoring), the
headline chain's step 5 read back from scoring.scores, duplicates and disorder, and a replay of
every topic into an empty database reproducing the same scores."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from services.scoring import models as tables
from services.scoring.domain import business_date
from services.scoring.main import create_app as create_scoring_app
from shared.contracts import inspection, registry
from shared.contracts.scoring import SCORE_UPDATED
from shared.events.envelope import OutgoingEvent, to_kafka
from shared.events.spec import EventSpec
from shared.testing import databases
from shared.testing.services import RunningService, eventually, running_service
from tests.scoring.support import enterprise, equipment, filling_station, missing_day

pytestmark = pytest.mark.broker


@asynccontextmanager
async def scoring_on(broker, database_url: str, group: str) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    """The scoring service consuming from the broker with its own consumer group."""
    async with running_service(
        create_scoring_app,
        database_url,
        broker.bootstrap_servers,
        projection_consumer=group,
        nightly_rescore_enabled=False,
        consumer_retry_backoff_s=0.05,
    ) as svc:
        yield svc


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[str]:
    """One database per module and backend: joining a consumer group on the embedded broker takes
    seconds, so the tests of this module share one running service and tell their events apart
    by USCC."""
    async with databases.fresh_database(request.param, tmp_path_factory.mktemp("scoring-broker")) as url:
        yield url


@pytest.fixture(scope="module")
async def svc(broker, database: str) -> AsyncIterator[RunningService]:  # type: ignore[no-untyped-def]
    group = f"projection-{uuid.uuid4().hex[:8]}"
    async with scoring_on(broker, database, group) as service:
        yield service


async def produce(bootstrap: str, events: list[tuple[EventSpec[Any], dict[str, Any]] | tuple[EventSpec[Any],
                                                                                          dict[str, Any], str]]
                  ) -> list[str]:
    """Put events on their topics in order (key = the USCC); returns their ids."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    ids = []
    try:
        for spec, data, *event_id in events:
            subject = data.get("uscc") or data["enterprise_uscc"]
            event = OutgoingEvent(type=spec.type, source=spec.source, subject=subject, data=data,
                                  **({"id": event_id[0]} if event_id else {}))
            message = to_kafka(event.attributes(), data, subject)
            await producer.send_and_wait(spec.topic, message.value, key=subject.encode(),
                                         headers=list(message.headers.items()))
            ids.append(event.id)
    finally:
        await producer.stop()
    return ids


async def scored(svc: RunningService, uscc: str, **expected: Any) -> dict[str, Any] | None:
    response = await svc.client.get(f"/api/v1/enterprises/{uscc}/score", headers=svc.auth("admin"))
    if response.status_code != 200:
        return None
    body = response.json()
    return body if all(body.get(k) == v for k, v in expected.items()) else None


def today() -> Any:
    return business_date(datetime.now(UTC))


async def test_a_registered_enterprise_appears_in_the_projection_and_gets_a_score(broker, svc, unique):
    uscc = f"{unique}01".ljust(18, "0")
    [event_id] = await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, enterprise(uscc))])

    score = await eventually(lambda: scored(svc, uscc), timeout_s=20, what="the enterprise to be scored")

    assert (score["score"], score["grade"], score["cause"]["event_id"]) == (0, "A", event_id)
    async with svc.runtime.session_factory() as session:
        profile = (await session.execute(select(tables.profiles).where(tables.profiles.c.uscc == uscc))).one()
    assert (profile.revision, profile.jurisdiction_code, profile.snapshot_event_id) == (1, "371102", event_id)


async def test_a_missing_records_event_yields_score_updated_on_scoring_scores_within_seconds(broker, svc, unique):
    uscc = f"{unique}02".ljust(18, "0")
    await produce(broker.bootstrap_servers, [
        (registry.ENTERPRISE_REGISTERED, filling_station(uscc)),
        (registry.EQUIPMENT_REGISTERED, equipment(uscc, registered=False, due=today() - timedelta(days=3)))])
    await eventually(lambda: scored(svc, uscc, score=59.0), timeout_s=20, what="the station at 59 (C)")
    started = time.monotonic()

    [missing_id] = await produce(broker.bootstrap_servers, [
        (inspection.FILLING_RECORDS_MISSING, missing_day(uscc, today() - timedelta(days=1)))])

    headers, data = await read_score_updated(broker.bootstrap_servers, uscc, missing_id)
    assert time.monotonic() - started < 10
    assert (headers["ce_causationid"], headers["ce_correlationid"]) == (missing_id, missing_id)
    assert headers["ce_type"] == SCORE_UPDATED.type and headers["ce_subject"] == uscc
    assert (data["grade"], data["previous_grade"], data["score"]) == ("D", "C", 62.0)
    assert (data["trigger_event_type"], data["kinds"]) == (inspection.FILLING_RECORDS_MISSING.type, ["gas_filling"])


async def read_score_updated(bootstrap: str, uscc: str, cause_id: str) -> tuple[dict[str, str], dict[str, Any]]:
    consumer = AIOKafkaConsumer("scoring.scores", bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[tuple[dict[str, str], dict[str, Any]]] = []
    try:
        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for r in records:
                    headers = {k: v.decode() for k, v in r.headers}
                    if (r.key or b"").decode() == uscc and headers.get("ce_causationid") == cause_id \
                            and headers.get("ce_type") == SCORE_UPDATED.type:
                        found.append((headers, json.loads(r.value)))
            return bool(found)
        await eventually(arrived, timeout_s=10, what="score.updated on scoring.scores")
    finally:
        await consumer.stop()
    return found[0]


async def test_duplicates_and_disorder_on_the_broker_end_in_the_right_state(broker, svc, unique):
    uscc = f"{unique}03".ljust(18, "0")
    day = today()
    await produce(broker.bootstrap_servers, [
        (registry.ENTERPRISE_UPDATED, enterprise(uscc, 2, general_credit_grade="C")),
        (registry.ENTERPRISE_REGISTERED, enterprise(uscc, 1, general_credit_grade="A")),
        (inspection.HAZARD_RECTIFIED, {"hazard_id": "H1", "enterprise_uscc": uscc,
                                       "rectified_date": (day - timedelta(days=2)).isoformat()}),
        (inspection.HAZARD_RAISED, {"hazard_id": "H1", "enterprise_uscc": uscc,
                                    "deadline_date": (day - timedelta(days=1)).isoformat()}),
    ])
    await eventually(lambda: _hazard_raised(svc, uscc), timeout_s=20, what="the hazard to be raised")
    await eventually(lambda: scored(svc, uscc, score=7.0), timeout_s=20, what="revision 2 to be scored")
    # Topics interleave freely, so the duplicate goes out once the enterprise is known: then each
    # application leaves a history row that names its event.
    duplicate_id = f"dup-{unique}"
    [_, _, marker] = await produce(broker.bootstrap_servers, [  # one key, one partition: in this order
        (inspection.FILLING_RECORDS_MISSING, missing_day(uscc, day - timedelta(days=3)), duplicate_id),
        (inspection.FILLING_RECORDS_MISSING, missing_day(uscc, day - timedelta(days=3)), duplicate_id),
        (inspection.FILLING_RECORDS_MISSING, missing_day(uscc, day - timedelta(days=2)))])

    await eventually(lambda: _history_has(svc, uscc, marker), timeout_s=20, what="the marker to be applied")

    score = await scored(svc, uscc)
    assert score is not None
    lines = {line["indicator"]: line for line in score["breakdown"]}
    assert lines["G0.general_credit_grade"]["points"] == 7, "the newer snapshot (revision 2) holds"
    assert "G3.hazards_past_deadline" not in lines, "rectified before its deadline, whatever the arrival order"
    assert lines["G5.missing_filling_records"]["points"] == 6
    assert await _history_count(svc, uscc, duplicate_id) == 1, "the duplicate was applied once"


async def _history_count(svc: RunningService, uscc: str, trigger_id: str) -> int:
    async with svc.runtime.session_factory() as session:
        rows = await session.execute(select(tables.history.c.id).where(
            tables.history.c.uscc == uscc, tables.history.c.trigger_event_id == trigger_id))
        return len(rows.all())


async def _history_has(svc: RunningService, uscc: str, trigger_id: str) -> bool:
    return await _history_count(svc, uscc, trigger_id) > 0


async def _hazard_raised(svc: RunningService, uscc: str) -> bool:
    async with svc.runtime.session_factory() as session:
        query = select(tables.hazards.c.deadline_date).where(tables.hazards.c.uscc == uscc)
        row = (await session.execute(query)).first()
        return row is not None and row.deadline_date is not None


async def test_replaying_every_topic_into_an_empty_database_reproduces_the_scores(
        broker, svc, database, unique, tmp_path: Path):
    day = today()
    usccs = [f"{unique}1{n}".ljust(18, "0") for n in range(4)]
    events: list[Any] = [
        (registry.ENTERPRISE_REGISTERED, enterprise(usccs[0])),
        (registry.ENTERPRISE_REGISTERED, filling_station(usccs[1])),
        (registry.EQUIPMENT_REGISTERED, equipment(usccs[1], registered=False, due=day - timedelta(days=9))),
        (inspection.FILLING_RECORDS_MISSING, missing_day(usccs[1], day - timedelta(days=1))),
        (registry.ENTERPRISE_REGISTERED, enterprise(usccs[2], venue_type="school", general_credit_grade=None)),
        (registry.OPERATOR_REGISTERED, {"uscc": usccs[2], "operator_id": "OP1", "revision": 1}),
        (inspection.FILLING_RECORDS_MISSING, missing_day(usccs[3], day - timedelta(days=4))),
        (registry.ENTERPRISE_REGISTERED, enterprise(usccs[3], 1, general_credit_grade="B")),
        (registry.ENTERPRISE_UPDATED, enterprise(usccs[3], 2, general_credit_grade="D")),
    ]
    await produce(broker.bootstrap_servers, events)
    await eventually(lambda: _all_scored(svc, usccs), timeout_s=20, what="all four scored")
    first = await _scores(svc, usccs)

    kind = "sqlite" if database.startswith("sqlite") else "postgres"
    async with databases.fresh_database(kind, tmp_path, f"replay-{unique}") as replay_url, \
            scoring_on(broker, replay_url, f"replay-{unique}") as replay:
        await eventually(lambda: _scores_match(replay, usccs, first), timeout_s=30,
                         what="the replay to reach the same scores")
        assert await _scores(replay, usccs) == first
    assert [(score, grade) for score, grade, _ in first.values()] == [(0, "A"), (62, "D"), (16, "A"), (13, "A")]


async def _all_scored(svc: RunningService, usccs: list[str]) -> bool:
    scores = await _scores(svc, usccs)
    return len(scores) == len(usccs) and scores[usccs[3]][0] == 13.0 and scores[usccs[1]][1] == "D"


async def _scores(svc: RunningService, usccs: list[str]) -> dict[str, tuple[float, str, list[str]]]:
    found = {}
    for uscc in usccs:
        body = await scored(svc, uscc)
        if body is not None:
            found[uscc] = (body["score"], body["grade"], sorted(line["indicator"] for line in body["breakdown"]))
    return found


async def _scores_match(svc: RunningService, usccs: list[str], expected: dict[str, Any]) -> bool:
    return await _scores(svc, usccs) == expected


async def test_an_event_scoring_cannot_read_goes_to_the_dlq_and_the_next_one_is_applied(broker, svc, unique):
    uscc = f"{unique}04".ljust(18, "0")
    await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, enterprise(uscc))])
    await eventually(lambda: scored(svc, uscc), timeout_s=20, what="the enterprise to be scored")

    [poison, good] = await produce(broker.bootstrap_servers, [  # one key, one partition: in this order
        (registry.EQUIPMENT_REGISTERED, equipment(uscc, "E1", category="23000")),
        (registry.EQUIPMENT_REGISTERED, equipment(uscc, "E2", registered=False))])

    score = await eventually(lambda: _with_evidence(svc, uscc, good), timeout_s=20, what="the good event applied")
    assert score["cause"]["event_id"] == good
    dead = await _read_dlq(broker.bootstrap_servers, "registry.equipment.dlq", uscc)
    assert dead["ce_id"] == poison and "not a 4-digit catalogue code" in dead["x-dlq-reason"]


async def _with_evidence(svc: RunningService, uscc: str, event_id: str) -> dict[str, Any] | None:
    body = await scored(svc, uscc)
    return body if body and any(event_id in line["evidence"] for line in body["breakdown"]) else None


async def _read_dlq(bootstrap: str, topic: str, uscc: str) -> dict[str, str]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
    await consumer.start()
    found: list[dict[str, str]] = []
    try:
        async def arrived() -> bool:
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend({k: v.decode() for k, v in r.headers} for r in records
                             if (r.key or b"").decode() == uscc)
            return bool(found)
        await eventually(arrived, timeout_s=10, what=f"a dead letter on {topic}")
    finally:
        await consumer.stop()
    return found[0]
