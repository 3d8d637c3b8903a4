"""Through the real broker: an LPG station registered by a registry event reaches inspection's
ledger; the cut-off finds no records and filling_records.missing leaves on inspection.records
with subject and key = the USCC; records arriving late follow it, caused by the same chain."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from services.inspection.main import create_app as create_inspection_app
from shared.contracts import inspection as events
from shared.contracts import registry
from shared.events.envelope import ReceivedEvent
from shared.testing.services import eventually, running_service
from tests.inspection.support import TODAY, Clock, at, fill, station
from tests.scoring.test_broker import produce

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


async def read_topic(bootstrap: str, topic: str, subject: str, want: set[str]) -> list[ReceivedEvent]:
    """Every event of the types ``want`` about ``subject`` on ``topic``, read from the start."""
    # No group: a probe needs no partitions assigned, and the embedded broker holds a join for seconds.
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    found: list[ReceivedEvent] = []
    try:
        async def probe() -> list[ReceivedEvent]:
            for records in (await consumer.getmany(timeout_ms=300)).values():
                for r in records:
                    event = ReceivedEvent.from_kafka(r.headers, r.key, r.value, topic=r.topic)
                    if event.subject == subject and event.type in want:
                        found.append(event)
            return found if {e.type for e in found} >= want else []

        return await eventually(probe, timeout_s=20, what=f"{sorted(want)} about {subject} on {topic}")
    finally:
        await consumer.stop()


async def test_a_station_registered_in_registry_is_found_missing_on_the_broker(broker, database_url, unique):
    uscc = f"{unique}LPG".ljust(18, "0")
    clock = Clock(TODAY, time(8))
    async with running_service(create_inspection_app, database_url, broker.bootstrap_servers,
                               ledger_consumer=f"ledger-{unique.lower()}", cutoff_enabled=False,
                               maintenance_check_enabled=False, consumer_retry_backoff_s=0.05) as svc:
        svc.runtime.clock = clock
        [registered] = await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, station(uscc))])
        admin = svc.auth("admin")

        async def in_ledger() -> Any:
            response = await svc.client.get(f"/api/v1/enterprises/{uscc}/closed-days", headers=admin)
            return response.status_code == 200

        await eventually(in_ledger, timeout_s=30, what="the station in inspection's ledger")
        clock.moment = clock.moment.replace(hour=21)
        response = await svc.client.post("/api/v1/admin/cutoffs", json={"date": TODAY.isoformat()}, headers=admin)
        assert response.status_code == 200, response.text
        [listed] = [m for m in response.json()["missing"] if m["enterprise_uscc"] == uscc]

        [missing] = await read_topic(broker.bootstrap_servers, "inspection.records", uscc,
                                     {events.FILLING_RECORDS_MISSING.type})
        assert missing.id == listed["event_id"] and missing.source == "/safegrid/inspection"
        assert missing.data["enterprise_uscc"] == uscc and missing.data["business_date"] == TODAY.isoformat()

        clock.moment += timedelta(hours=12)
        late = await svc.client.post("/api/v1/filling-records", headers=admin,
                                     json={"records": [fill(uscc, "C001", at(TODAY, 20))]})
        assert late.status_code == 201 and late.json()["stored"] == 1
        arrived = await read_topic(broker.bootstrap_servers, "inspection.records", uscc,
                                   {events.FILLING_RECORDS_ARRIVED_LATE.type, events.FILLING_ANOMALY_DETECTED.type})
        [arrival] = [e for e in arrived if e.type == events.FILLING_RECORDS_ARRIVED_LATE.type]
        assert arrival.data["missing_event_id"] == missing.id
        assert registered  # the registry event's id: what the ledger row was built from
