"""`safegrid scoring rebuild`: the service's topics replayed from the start into an empty
database through its own consumer group, on a broker of the test's own (so that the topics hold
this test's events only); a second rebuild is refused, and the live service started on the
rebuilt database continues from where the rebuild ended."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import func, select

from services.scoring import models as tables
from services.scoring.main import create_app as create_scoring_app
from shared.contracts import registry
from shared.events.kafka import ensure_topics
from shared.observability import metrics
from shared.testing.services import SESSION_TIMEOUT_MS, eventually, running_service
from tests.scoring.support import enterprise
from tests.scoring.test_broker import produce

pytestmark = pytest.mark.broker

CONSUMER = "projection"  # the service's own group name: the rebuild and the live service share it


def rebuild(database_url: str, bootstrap: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SAFEGRID_SCORING_DATABASE_URL": database_url, "SAFEGRID_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
           "SAFEGRID_SCORING_PROJECTION_CONSUMER": CONSUMER, "SAFEGRID_ENVIRONMENT": "test", "COLUMNS": "200",
           # the short session of the in-process services: the live group's join after the rebuild waits on it
           "SAFEGRID_KAFKA_SESSION_TIMEOUT_MS": str(SESSION_TIMEOUT_MS)}
    return subprocess.run([sys.executable, "-m", "services.cli", "scoring", "rebuild"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


async def projected(svc, usccs: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with svc.runtime.session_factory() as session:
        rows = (await session.execute(select(tables.profiles.c.uscc, tables.profiles.c.revision)
                                      .where(tables.profiles.c.uscc.in_(usccs)))).all()
    return {row.uscc: row.revision for row in rows}


def outcomes(outcome: str) -> float:
    """Events the scoring consumers of this process counted with ``outcome``."""
    return sum(sample.value for family in metrics.consumer_events.collect() for sample in family.samples
               if sample.name.endswith("_total") and sample.labels.get("service") == "scoring"
               and sample.labels.get("outcome") == outcome)


async def test_a_rebuild_replays_the_topics_into_an_empty_database_once(empty_database_url, broker_factory, unique):
    broker = broker_factory()
    await ensure_topics(broker.bootstrap_servers)
    usccs = [f"{unique}{i:02d}".ljust(18, "0") for i in range(6)]
    snapshots = [(registry.ENTERPRISE_REGISTERED, enterprise(uscc)) for uscc in usccs]
    snapshots += [(registry.ENTERPRISE_UPDATED, enterprise(usccs[0], 2, name="改名后"))]
    await produce(broker.bootstrap_servers, snapshots)

    first = rebuild(empty_database_url, broker.bootstrap_servers)
    assert first.returncode == 0, first.stderr
    assert "rebuilt: 7 events read (7 applied)" in first.stderr, first.stderr

    second = rebuild(empty_database_url, broker.bootstrap_servers)
    assert second.returncode == 1
    assert "refused" in second.stderr and "already holds 7 applied events" in second.stderr, second.stderr

    late = f"{unique}99".ljust(18, "0")
    duplicates = outcomes("duplicate")
    async with running_service(create_scoring_app, empty_database_url, broker.bootstrap_servers,
                               projection_consumer=CONSUMER, nightly_rescore_enabled=False) as svc:
        assert await projected(svc, usccs) == {uscc: 2 if uscc == usccs[0] else 1 for uscc in usccs}
        await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, enterprise(late))])
        await eventually(lambda: projected(svc, [late]), timeout_s=30, what="the live service to apply a new event")
        async with svc.runtime.session_factory() as session:
            inbox = (await session.execute(select(func.count()).select_from(tables.platform.inbox))).scalar_one()
    assert inbox == 8
    assert outcomes("duplicate") == duplicates  # the live group went on from the rebuild's offsets: none read again


async def test_a_rebuild_is_refused_while_the_service_consumes_with_its_group(sqlite_database_url, tmp_path,
                                                                               broker_factory, unique):
    """A running replica would take part of the partitions and apply their events to its own
    database: the rebuild would end with holes."""
    broker = broker_factory()
    await ensure_topics(broker.bootstrap_servers)
    uscc = f"{unique}01".ljust(18, "0")
    await produce(broker.bootstrap_servers, [(registry.ENTERPRISE_REGISTERED, enterprise(uscc))])
    async with running_service(create_scoring_app, sqlite_database_url, broker.bootstrap_servers,
                               projection_consumer=CONSUMER, nightly_rescore_enabled=False) as svc:
        await eventually(lambda: projected(svc, [uscc]), timeout_s=30, what="the service to consume")
        refused = rebuild(f"sqlite+aiosqlite:///{tmp_path / 'rebuilt.db'}", broker.bootstrap_servers)
    assert refused.returncode == 1
    assert "refused" in refused.stderr and "member" in refused.stderr, refused.stderr
