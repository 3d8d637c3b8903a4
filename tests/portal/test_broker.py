"""The headline chain's step 7 (contract.md §5) on the embedded broker, every part real and in
process: registry registers the enterprise and relays its event, scoring grades it, the portal's
consumer builds its read model from both topics, and the URL registry gives opens the public page
with the name and the grade; then a report's event leaves the portal through its outbox relay."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from services.portal.main import create_app as create_portal_app
from services.registry.domain.uscc import make_uscc
from services.registry.main import create_app as create_registry_app
from services.scoring.main import create_app as create_scoring_app
from shared.contracts import registry as registry_events
from shared.contracts.portal import REPORT_SUBMITTED
from shared.testing.databases import sqlite_url
from shared.testing.services import eventually, running_service
from tests.portal.test_public import ENTERPRISE

pytestmark = pytest.mark.broker


async def test_the_qr_url_registry_gives_opens_the_unit_with_its_grade(broker, tmp_path, unique):
    bootstrap, suffix = broker.bootstrap_servers, uuid.uuid4().hex[:8]
    # a unit of its own: the worker's broker holds every earlier test's events, the headline unit's too
    uscc = make_uscc(f"913711{unique}000")
    enterprise = {**ENTERPRISE, "uscc": uscc}
    async with running_service(create_registry_app, sqlite_url(tmp_path, "registry"), bootstrap,
                               daily_job_enabled=False, log_level="WARNING") as registry, \
            running_service(create_scoring_app, sqlite_url(tmp_path, "scoring"), bootstrap,
                            projection_consumer=f"projection-{suffix}", nightly_rescore_enabled=False,
                            log_level="WARNING") as scoring, \
            running_service(create_portal_app, sqlite_url(tmp_path, "portal"), bootstrap,
                            read_model_consumer=f"read-model-{suffix}", consumer_retry_backoff_s=0.05,
                            log_level="WARNING") as portal:
        portal.runtime.resources.registry_transport = httpx.ASGITransport(app=registry.app)
        admin = registry.auth("admin")
        assert (await registry.client.post("/api/v1/enterprises", json=enterprise, headers=admin)).status_code == 201
        qr = (await registry.client.get(f"/api/v1/enterprises/{uscc}/qr", headers=admin)).json()
        path = httpx.URL(qr["url"]).path
        assert path == f"/q/{qr['token']}"

        async def graded() -> dict | None:  # type: ignore[type-arg]
            body = (await portal.client.get(f"/api/v1/public/qr/{qr['token']}")).json()
            return body if body.get("grade", {}).get("grade") else None

        # both consumers start from the topics' beginning: a loaded worker's broker holds a backlog
        # polled once a second: a token lookup counts against the client's limit (120 a minute)
        body = await eventually(graded, timeout_s=90, interval_s=1.0, what="the portal showing scoring's grade")
        score = (await scoring.client.get(f"/api/v1/enterprises/{uscc}/score", headers=scoring.auth("admin"))).json()
        assert (body["name"], body["grade"]["grade"]) == (ENTERPRISE["name"], score["grade"])
        page = await portal.client.get(path)
        assert page.status_code == 200 and ENTERPRISE["name"] in page.text and f"badge g-{score['grade']}" in page.text

        # No group: a probe needs no partitions assigned, and the embedded broker holds a join for seconds.
        consumer = AIOKafkaConsumer(REPORT_SUBMITTED.topic, bootstrap_servers=bootstrap, group_id=None,
                                    auto_offset_reset="earliest")
        await consumer.start()
        try:
            made = await portal.client.post(f"/api/v1/public/qr/{qr['token']}/reports",
                                            json={"category": "gas_leak", "description": "有异味"})
            assert made.status_code == 201
            found = None
            while found is None:
                batch = await consumer.getmany(timeout_ms=10_000)
                assert batch, "the report's event did not reach portal.reports"
                for record in (r for records in batch.values() for r in records):
                    data = json.loads(record.value)
                    if data.get("report_id") == made.json()["report_id"]:
                        found = record
            assert found.key == uscc.encode()
            assert dict(found.headers)["ce_type"] == REPORT_SUBMITTED.type.encode()
        finally:
            await consumer.stop()


async def test_a_report_goes_to_enforcement_and_its_status_page_follows_the_alert(broker, tmp_path, unique):
    """The round trip: a report on the unit's page → portal.reports → enforcement raises the
    public_report alert (the unit is D: on-site enforcement) → enforcement.alerts → the receipt's
    page says 处理中; the regulator resolves it → 已办结. The D grade is put on scoring.scores as
    scoring would publish it (a D needs months of history that scoring is not the subject of here)."""
    from services.enforcement.main import create_app as create_enforcement_app
    from shared.contracts import scoring as scoring_events
    from tests.enforcement.support import score
    from tests.enforcement.test_broker import _is, held_grade
    from tests.scoring.test_broker import produce

    bootstrap, suffix = broker.bootstrap_servers, uuid.uuid4().hex[:8]
    uscc = make_uscc(f"913711{unique}001")
    async with running_service(create_registry_app, sqlite_url(tmp_path, "registry"), bootstrap,
                               daily_job_enabled=False, log_level="WARNING") as registry, \
            running_service(create_enforcement_app, sqlite_url(tmp_path, "enforcement"), bootstrap,
                            alerts_consumer=f"alerts-{suffix}", sla_sweep_enabled=False, webhooks_enabled=False,
                            plans_enabled=False, consumer_retry_backoff_s=0.05, log_level="WARNING") as enforcement, \
            running_service(create_portal_app, sqlite_url(tmp_path, "portal"), bootstrap,
                            read_model_consumer=f"read-model-{suffix}", consumer_retry_backoff_s=0.05,
                            log_level="WARNING") as portal:
        portal.runtime.resources.registry_transport = httpx.ASGITransport(app=registry.app)
        admin = registry.auth("admin")
        made = await registry.client.post("/api/v1/enterprises", json={**ENTERPRISE, "uscc": uscc}, headers=admin)
        assert made.status_code == 201, made.text
        token = (await registry.client.get(f"/api/v1/enterprises/{uscc}/qr", headers=admin)).json()["token"]
        d_grade = score(uscc, "D", trigger=registry_events.ENTERPRISE_REGISTERED,
                        computed_at=datetime.now(UTC))
        await produce(bootstrap, [(scoring_events.SCORE_UPDATED, d_grade)])

        await eventually(lambda: _is(held_grade(enforcement, uscc), "D"), timeout_s=60, interval_s=0.5,
                         what="enforcement holding the D grade")
        report = await portal.client.post(f"/api/v1/public/qr/{token}/reports",
                                          json={"category": "gas_leak", "description": "闻到液化气味"})
        assert report.status_code == 201, report.text
        receipt = report.json()["receipt"]

        async def status_is(expected: str):  # type: ignore[no-untyped-def]
            body = (await portal.client.get(f"/api/v1/public/reports/{receipt}")).json()
            return body if body["status"] == expected else None

        await eventually(lambda: status_is("in_progress"), timeout_s=60, interval_s=1.0, what="处理中")
        alerts = (await enforcement.client.get("/api/v1/alerts", params={"enterprise": uscc},
                                               headers=enforcement.auth("admin"))).json()["items"]
        [alert] = [a for a in alerts if a["kind"] == "public_report"]
        assert alert["action"] == "onsite_enforcement"
        resolved = await enforcement.client.post(f"/api/v1/alerts/{alert['id']}/resolve",
                                                 json={"note": "现场核查，已整改"}, headers=enforcement.auth("admin"))
        assert resolved.status_code == 200, resolved.text
        body = await eventually(lambda: status_is("resolved"), timeout_s=60, interval_s=1.0, what="已办结")
        assert body["status_label"] == "已办结"
        page = await portal.client.get(f"/r/{receipt}")
        assert page.status_code == 200 and "已办结" in page.text
