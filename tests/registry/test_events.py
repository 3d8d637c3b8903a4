"""Events leave through the outbox to the real broker as CloudEvents (contract.md §4)."""

from __future__ import annotations

import json
import uuid

import pytest
from aiokafka import AIOKafkaConsumer

from services.registry.domain.uscc import make_uscc
from services.registry.main import create_app as create_registry_app
from shared.testing.services import eventually, running_service
from tests.registry.support import add_equipment, enterprise_body

pytestmark = pytest.mark.broker


def fresh_uscc() -> str:
    """The broker lives for the whole session: each run registers a code no other run used."""
    digits = str(uuid.uuid4().int)[:7]
    return make_uscc(f"91371102MB{digits}")


async def test_registration_reaches_the_broker_as_a_cloudevent(database_url: str, broker) -> None:  # type: ignore[no-untyped-def]
    code = fresh_uscc()
    async with running_service(
        create_registry_app, database_url, broker.bootstrap_servers, daily_job_enabled=False, log_level="WARNING"
    ) as svc:
        response = await svc.client.post(
            "/api/v1/enterprises", json=enterprise_body(uscc=code), headers=svc.auth("regulator", jurisdiction="371102")
        )
        assert response.status_code == 201, response.text
        await add_equipment(svc, code)

        consumer = AIOKafkaConsumer("registry.enterprises", "registry.equipment",
                                    bootstrap_servers=broker.bootstrap_servers, auto_offset_reset="earliest",
                                    enable_auto_commit=False, group_id=None)
        await consumer.start()
        found: dict[str, object] = {}
        try:
            async def arrived() -> bool:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        headers = {name: value.decode() for name, value in record.headers}
                        if headers.get("ce_subject") == code:
                            found[headers["ce_type"]] = (record, headers)
                return len(found) == 2

            await eventually(arrived, timeout_s=20, what="the registry's events on the broker")
        finally:
            await consumer.stop()

    record, headers = found["safegrid.registry.enterprise.registered.v1"]  # type: ignore[misc]
    assert record.topic == "registry.enterprises" and record.key == code.encode()
    assert headers["ce_specversion"] == "1.0" and headers["ce_source"] == "/safegrid/registry"
    assert uuid.UUID(headers["ce_id"]) and headers["ce_time"] and headers["ce_traceparent"].startswith("00-")
    assert headers["ce_correlationid"] == headers["ce_id"]  # the first event of its chain
    assert headers["content-type"] == "application/json"
    data = json.loads(record.value)
    assert data["uscc"] == code and data["revision"] == 1 and data["kinds"] == ["gas_filling"]
    assert "contacts" not in data
    equipment, equipment_headers = found["safegrid.registry.equipment.registered.v1"]  # type: ignore[misc]
    assert equipment.topic == "registry.equipment" and equipment.key == code.encode()
    assert json.loads(equipment.value)["category"] == "3000"
