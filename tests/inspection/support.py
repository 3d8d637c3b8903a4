"""Support for the inspection service's tests: a settable clock, registry events delivered
through the real consumer runner (the runner's ``process`` takes a Kafka record, no broker
needed), readers of the outbox, and builders of the registry snapshots and filling records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text

from services.inspection.models import platform
from shared.contracts import registry
from shared.events.spec import EventSpec
from shared.testing.clock import SettableClock
from shared.testing.events import consumer_record
from shared.testing.services import RunningService

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)
CITY, DONGGANG, LANSHAN = "371100", "371102", "371103"


class Clock(SettableClock):
    """The service's clock, at ``at`` on ``today`` unless a test moves it."""

    def __init__(self, today: date = TODAY, at: time = time(12, 0)) -> None:
        super().__init__(today, at)


def at(day: date, hour: int = 10, minute: int = 0, second: int = 0) -> str:
    """An RFC 3339 moment of business time."""
    return datetime.combine(day, time(hour, minute, second), tzinfo=SHANGHAI).isoformat()


@dataclass
class Inspection:
    """A running inspection service with its clock, and what tests do to it."""

    svc: RunningService
    clock: Clock

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.svc.client

    @property
    def runtime(self):  # type: ignore[no-untyped-def]
        return self.svc.runtime

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        return self.svc.auth(role, **claims)

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin", sub="root")

    @property
    def city(self) -> dict[str, str]:
        return self.auth("regulator", sub="city-officer", jurisdiction=CITY)

    def enterprise(self, uscc: str) -> dict[str, str]:
        return self.auth("enterprise", sub=f"user-{uscc}", enterprise=uscc)

    @property
    def scale(self) -> dict[str, str]:
        """A filling-scale system of the city, allowed to write records."""
        return self.auth("integrator", sub="scale-system", jurisdiction=CITY, scopes=["inspection:write"])

    async def deliver(self, spec: EventSpec[Any], data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Hand one event to the ledger consumer as the broker would; the outcome."""
        return await self.svc.runtime.consumers[0].process(consumer_record(spec, data, id=event_id))

    async def station(self, uscc: str, *, jurisdiction: str = DONGGANG, cylinders: dict[str, dict[str, Any]] | None
                      = None, operators: dict[str, date | None] | None = None, **fields: Any) -> None:
        """An LPG filling station in the ledger, with its cylinders (number -> fields) and
        operators (certificate -> valid until)."""
        assert await self.deliver(registry.ENTERPRISE_REGISTERED, station(uscc, jurisdiction=jurisdiction,
                                                                           **fields)) == "applied"
        for n, (number, extra) in enumerate((cylinders or {}).items()):
            await self.deliver(registry.GAS_CYLINDER_REGISTERED, cylinder(uscc, number, n, **extra))
        for n, (certificate, valid_until) in enumerate((operators or {}).items()):
            await self.deliver(registry.OPERATOR_REGISTERED, operator(uscc, certificate, n, valid_until))

    async def upload(self, records: list[dict[str, Any]], headers: dict[str, str] | None = None,
                     **kwargs: Any) -> Any:
        return await self.client.post("/api/v1/filling-records", json={"records": records},
                                      headers=headers or self.scale, **kwargs)

    async def cutoff(self, day: date, headers: dict[str, str] | None = None) -> Any:
        return await self.client.post("/api/v1/admin/cutoffs", json={"date": day.isoformat()},
                                      headers=headers or self.admin)

    async def verify(self, uscc: str) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/enterprises/{uscc}/chain/verify", headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def outbox(self, event_type: str | None = None, subject: str | None = None) -> list[dict[str, Any]]:
        table = platform.outbox
        query = select(table.c.event_id, table.c.event_type, table.c.key, table.c.attributes, table.c.data
                       ).order_by(table.c.id)
        if event_type:
            query = query.where(table.c.event_type == event_type)
        if subject:
            query = query.where(table.c.key == subject)
        async with self.runtime.session_factory() as session:
            return [dict(r) for r in (await session.execute(query)).mappings()]

    async def count(self, table: Any, *conditions: Any) -> int:
        async with self.runtime.session_factory() as session:
            return (await session.execute(select(func.count()).select_from(table).where(*conditions))).scalar_one()

    async def sql(self, statement: str, **params: Any) -> Any:
        """Run raw SQL in its own committed transaction (tampering, as an intruder would)."""
        async with self.runtime.session_factory() as session, session.begin():
            return await session.execute(text(statement), params)


# --- builders ---------------------------------------------------------------------------------

def station(uscc: str, revision: int = 1, *, jurisdiction: str = DONGGANG, **fields: Any) -> dict[str, Any]:
    data = {"uscc": uscc, "revision": revision, "name": f"液化气站{uscc[-4:]}", "jurisdiction_code": jurisdiction,
            "venue_type": "other", "kinds": ["gas_filling"], "location": {"lat": 35.42, "lon": 119.52}}
    data.update(fields)
    return registry.EnterpriseSnapshot.model_validate(data).model_dump(mode="json")


def cylinder(uscc: str, number: str, n: int = 0, revision: int = 1, *, next_inspection: date | None = date(2028, 1, 1),
             scrap: date | None = date(2034, 1, 1), status: str = "in_use") -> dict[str, Any]:
    return {"uscc": uscc, "cylinder_id": f"CYL-{uscc[-6:]}-{n}", "cylinder_no": number, "revision": revision,
            "medium": "LPG", "next_inspection_date": next_inspection.isoformat() if next_inspection else None,
            "scrap_date": scrap.isoformat() if scrap else None, "status": status}


def operator(uscc: str, certificate: str, n: int = 0, valid_until: date | None = date(2029, 1, 1),
             revision: int = 1, active: bool = True) -> dict[str, Any]:
    return {"uscc": uscc, "operator_id": f"OP-{uscc[-6:]}-{n}", "revision": revision, "certificate_no": certificate,
            "certificate_category": "P", "certificate_valid_until": valid_until.isoformat() if valid_until else None,
            "active": active}


def equipment(uscc: str, equipment_id: str, category: str = "3110", revision: int = 1,
              status: str = "in_use") -> dict[str, Any]:
    return {"uscc": uscc, "equipment_id": equipment_id, "revision": revision, "category": category,
            "registration_no": "梯11鲁L00001(20)", "status": status, "next_inspection_due": "2027-01-01"}


def fill(uscc: str, number: str = "C001", filled_at: str | None = None, **fields: Any) -> dict[str, Any]:
    """A clean filling record: a known cylinder, an operator with a valid certificate, checks passed."""
    record = {"enterprise_uscc": uscc, "cylinder_no": number, "medium": "LPG",
              "filled_at": filled_at or at(TODAY, 10), "pre_check_passed": True, "post_check_passed": True,
              "operator_cert_no": "P-0001", "filled_mass_kg": 14.5}
    record.update(fields)
    return record
