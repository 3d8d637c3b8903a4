"""Support for the scoring service's integration tests: a settable clock, event delivery through
the real consumer runner (no broker needed: the runner's `process` takes a Kafka record), readers
of the outbox and audit log, and builders for the events scoring consumes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from services.scoring.models import platform
from shared.contracts import registry
from shared.contracts.common import MANAGEMENT_KEYS
from shared.events.spec import EventSpec
from shared.testing.clock import SettableClock
from shared.testing.events import consumer_record, event_id_of
from shared.testing.services import RunningService

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)
NOON = time(12, 0)
CITY, DONGGANG, LANSHAN = "371100", "371102", "371103"


class Clock(SettableClock):
    """The service's clock, at noon on ``today`` unless a test moves it."""

    def __init__(self, today: date = TODAY) -> None:
        super().__init__(today, NOON)


@dataclass
class Scoring:
    """A running scoring service with its clock, and what tests do to it."""

    svc: RunningService
    clock: Clock

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.svc.client

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        return self.svc.auth(role, **claims)

    @property
    def city(self) -> dict[str, str]:
        return self.auth("regulator", sub="city-officer", jurisdiction=CITY)

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin", sub="root")

    async def deliver(self, spec: EventSpec[Any], data: dict[str, Any] | Any, *, event_id: str | None = None,
                      correlation_id: str | None = None) -> tuple[str, str]:
        """Hand one event to the service's consumer runner as the broker would; (outcome, event id)."""
        if hasattr(data, "model_dump"):
            data = data.model_dump(mode="json")
        record = consumer_record(spec, data, id=event_id, correlation_id=correlation_id)
        outcome = await self.svc.runtime.consumers[0].process(record)
        return outcome, event_id_of(record)

    async def score(self, uscc: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/enterprises/{uscc}/score", headers=headers or self.city)
        assert response.status_code == 200, response.text
        return response.json()

    async def rescore_all(self) -> dict[str, Any]:
        response = await self.client.post("/api/v1/admin/rescore", headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def outbox(self, event_type: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        table = platform.outbox
        query = select(table.c.event_type, table.c.key, table.c.attributes, table.c.data).order_by(table.c.id)
        if event_type:
            query = query.where(table.c.event_type == event_type)
        if subject:
            query = query.where(table.c.key == subject)
        async with self.svc.runtime.session_factory() as session:
            return [dict(r) for r in (await session.execute(query)).mappings()]

    async def count(self, table: Any, *conditions: Any) -> int:
        async with self.svc.runtime.session_factory() as session:
            return (await session.execute(select(func.count()).select_from(table).where(*conditions))).scalar_one()

    async def audit(self, action: str) -> list[dict[str, Any]]:
        table = platform.audit_log
        async with self.svc.runtime.session_factory() as session:
            rows = await session.execute(select(table).where(table.c.action == action).order_by(table.c.id))
            return [dict(r) for r in rows.mappings()]


# --- event builders -------------------------------------------------------------------------

def management(in_place: bool = True, *, missing: tuple[str, ...] = (), at: datetime | None = None) -> dict[str, Any]:
    at = at or datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)
    return {key: {"in_place": in_place, "source": "declared", "as_of": at.isoformat()}
            for key in MANAGEMENT_KEYS if key not in missing}


def enterprise(uscc: str, revision: int = 1, *, jurisdiction: str = DONGGANG, **fields: Any) -> dict[str, Any]:
    """A clean enterprise by default: general credit A, every management fact in place → grade A."""
    data = {"uscc": uscc, "revision": revision, "name": f"企业{uscc[-4:]}", "jurisdiction_code": jurisdiction,
            "venue_type": "other", "kinds": [], "general_credit_grade": "A", "management": management()}
    data.update(fields)
    return registry.EnterpriseSnapshot.model_validate(data).model_dump(mode="json")


def filling_station(uscc: str, revision: int = 1, **fields: Any) -> dict[str, Any]:
    """A gas filling station at a railway station, national grade D, no management fact declared:
    10 + 15 + 8 + 6 (venue, kind) + 6 = 45 points, grade C."""
    return enterprise(uscc, revision, venue_type="station", kinds=["gas_filling"], general_credit_grade="D",
                      management={}, **fields)


def equipment(uscc: str, equipment_id: str = "EQ1", revision: int = 1, *, registered: bool = True,
              status: str = "in_use", due: date | None = date(2027, 1, 1), category: str = "2300") -> dict[str, Any]:
    return {"uscc": uscc, "equipment_id": equipment_id, "revision": revision, "category": category,
            "registration_no": "容3LC鲁L00123(23)" if registered else None, "status": status,
            "next_inspection_due": due.isoformat() if due else None}


def missing_day(uscc: str, day: date) -> dict[str, Any]:
    return {"enterprise_uscc": uscc, "business_date": day.isoformat(),
            "cutoff_at": datetime.combine(day, time(21, 0), tzinfo=SHANGHAI).isoformat()}


async def d_grade_station(scoring: Scoring, uscc: str) -> None:
    """Registered with unregistered, overdue equipment: 59 points (C); one missing day makes D."""
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, filling_station(uscc))
    await scoring.deliver(registry.EQUIPMENT_REGISTERED,
                          equipment(uscc, registered=False, due=scoring.clock.days_ago(10)))
