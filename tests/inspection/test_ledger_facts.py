"""What ingest remembers of cylinders and operators (ledger/facts.py): a change the projection
applies is seen by the next batch, on every replica; a change that bypasses the projection only
after the entry's time to live; the least recently used enterprise goes first."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from services.inspection.ledger.facts import LedgerFactsCache
from services.inspection.main import create_app
from shared.contracts import inspection as events
from shared.contracts import registry
from shared.testing.services import running_service
from tests.inspection.conftest import QUIET
from tests.inspection.support import TODAY, Clock, Inspection, at, cylinder, fill, operator

pytestmark = pytest.mark.postgres

ANOMALY = events.FILLING_ANOMALY_DETECTED.type
EXPIRED = (TODAY - timedelta(days=1)).isoformat()


async def station(inspection: Inspection, uscc: str) -> None:
    await inspection.station(uscc, cylinders={"C001": {}}, operators={"P-0001": date(2029, 1, 1)})


async def anomalies_of(inspection: Inspection, uscc: str, minute: int, number: str = "C001") -> list[str]:
    """The anomaly kinds raised by one fill of ``number`` at 10:``minute`` today."""
    before = len(await inspection.outbox(ANOMALY, uscc))
    response = await inspection.upload([fill(uscc, number, filled_at=at(TODAY, 10, minute))])
    assert response.status_code == 201 and response.json()["stored"] == 1, response.text
    return [e["data"]["kind"] for e in (await inspection.outbox(ANOMALY, uscc))[before:]]


def expired_cylinder(uscc: str) -> tuple[Any, dict[str, Any]]:
    data = cylinder(uscc, "C001", revision=2)
    data["next_inspection_date"] = EXPIRED
    return registry.GAS_CYLINDER_UPDATED, data


def expired_operator(uscc: str) -> tuple[Any, dict[str, Any]]:
    return registry.OPERATOR_UPDATED, operator(uscc, "P-0001", revision=2, valid_until=TODAY - timedelta(days=1))


def removed(kind: str, item_id: str) -> Any:
    spec = registry.GAS_CYLINDER_REMOVED if kind == "cylinder" else registry.OPERATOR_REMOVED
    return lambda uscc: (spec, {"uscc": uscc, "item_id": item_id.format(uscc[-6:]), "revision": 2,
                                "reason": "deleted"})


@pytest.mark.parametrize(("change", "kind"), [
    (expired_cylinder, "expired_cylinder"),
    (removed("cylinder", "CYL-{}-0"), "unknown_cylinder"),
    (expired_operator, "operator_uncertified"),
    (removed("operator", "OP-{}-0"), "operator_uncertified"),
], ids=["cylinder-updated", "cylinder-removed", "operator-updated", "operator-removed"])
async def test_a_ledger_change_is_seen_by_the_next_batch(inspection, usccs, change, kind):
    uscc = usccs()
    await station(inspection, uscc)
    assert await anomalies_of(inspection, uscc, 0) == []  # the facts are remembered now
    spec, data = change(uscc)
    assert await inspection.deliver(spec, data) == "applied"
    assert await anomalies_of(inspection, uscc, 5) == [kind]


async def test_a_cylinder_registered_after_it_was_unknown_is_known_to_the_next_batch(inspection, usccs):
    uscc = usccs()
    await station(inspection, uscc)
    assert await anomalies_of(inspection, uscc, 0, "C002") == ["unknown_cylinder"]  # its absence is remembered
    assert await inspection.deliver(registry.GAS_CYLINDER_REGISTERED, cylinder(uscc, "C002", 1)) == "applied"
    assert await anomalies_of(inspection, uscc, 5, "C002") == []


async def test_a_change_one_replica_applies_is_seen_by_the_other(database_url, usccs):
    uscc = usccs()
    clock = Clock()
    async with running_service(create_app, database_url, **QUIET) as one, \
            running_service(create_app, database_url, **QUIET) as other:
        one.runtime.clock = other.runtime.clock = clock
        uploading, consuming = Inspection(one, clock), Inspection(other, clock)
        await station(consuming, uscc)
        assert await anomalies_of(uploading, uscc, 0) == []
        spec, data = expired_cylinder(uscc)
        assert await consuming.deliver(spec, data) == "applied"
        assert await anomalies_of(uploading, uscc, 5) == ["expired_cylinder"]


class Ticking:
    """A monotonic clock for the cache that tests move."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def swap_cache(inspection: Inspection, capacity: int, ttl: float) -> Ticking:
    ticking = Ticking()
    resources = inspection.runtime.resources
    object.__setattr__(resources, "ledger_facts", LedgerFactsCache(capacity, ttl, clock=ticking))
    return ticking


async def bypass_expiry(inspection: Inspection, uscc: str) -> None:
    """The cylinder's inspection date changed by a writer that leaves the stamp alone (a pod of the
    release before this one)."""
    await inspection.sql("UPDATE ledger_cylinders SET next_inspection_date = :day WHERE uscc = :uscc",
                         day=date.fromisoformat(EXPIRED), uscc=uscc)


async def test_a_change_that_bypasses_the_stamp_is_seen_once_the_entry_expires(inspection, usccs):
    uscc = usccs()
    ticking = swap_cache(inspection, capacity=1000, ttl=60)
    await station(inspection, uscc)
    assert await anomalies_of(inspection, uscc, 0) == []
    await bypass_expiry(inspection, uscc)
    ticking.now = 59
    assert await anomalies_of(inspection, uscc, 5) == []  # still remembered: the cache answers
    ticking.now = 61
    assert await anomalies_of(inspection, uscc, 10) == ["expired_cylinder"]


async def test_the_least_recently_used_enterprise_is_dropped_first(inspection, usccs):
    first, second, third = usccs(0), usccs(1), usccs(2)
    swap_cache(inspection, capacity=4, ttl=3600)  # two enterprises' cylinder and operator each
    for uscc in (first, second, third):
        await station(inspection, uscc)
    assert await anomalies_of(inspection, first, 0) == []
    assert await anomalies_of(inspection, second, 0) == []
    assert await anomalies_of(inspection, first, 1) == []  # first used last: second is the oldest
    assert await anomalies_of(inspection, third, 0) == []  # over capacity: second dropped
    for uscc in (first, second):
        await bypass_expiry(inspection, uscc)
    assert await anomalies_of(inspection, first, 2) == []
    assert await anomalies_of(inspection, second, 1) == ["expired_cylinder"]


@pytest.mark.parametrize("capacity", [0, 1], ids=["capacity-0", "smaller-than-the-enterprise"])
async def test_nothing_is_remembered_past_the_capacity(inspection, usccs, capacity):
    uscc = usccs()
    swap_cache(inspection, capacity=capacity, ttl=3600)  # the station has a cylinder and an operator: 2
    await station(inspection, uscc)
    assert await anomalies_of(inspection, uscc, 0) == []
    await bypass_expiry(inspection, uscc)
    assert await anomalies_of(inspection, uscc, 5) == ["expired_cylinder"]  # read again, not remembered
