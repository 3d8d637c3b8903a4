"""Support for the portal's tests: a settable clock, event delivery through the real consumer
runner (no broker: the runner's ``process`` takes a Kafka record), registry's own outbox
forwarded to the portal as the broker would carry it, and builders of the events it reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiokafka.structs import ConsumerRecord
from sqlalchemy import select

from services.portal.models import platform
from services.registry.models import platform as registry_platform
from shared.contracts import registry
from shared.events.envelope import OutgoingEvent
from shared.events.spec import EventSpec
from shared.locality import level_of, parent_of
from shared.testing.clock import SettableClock
from shared.testing.events import raw_record
from shared.testing.services import RunningService

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)
DONGGANG = "371102"
UNIT = "91371102MA3C5K0X1Q"  # contract.md §5's headline enterprise
LIFT = "3110"  # 曳引驱动乘客电梯


class Clock(SettableClock):
    """The service's clock, at time(10) on TODAY unless a test moves it."""

    def __init__(self) -> None:
        super().__init__(TODAY, time(10))


def record(topic: str, key: str, attributes: dict[str, str], data: dict[str, Any]) -> ConsumerRecord:
    return raw_record(topic, key, attributes, data)


@dataclass
class Portal:
    svc: RunningService
    clock: Clock

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.svc.client

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        return self.svc.auth(role, **claims)

    async def deliver(self, spec: EventSpec[Any], data: dict[str, Any], *, event_id: str | None = None) -> str:
        """Hand one event to the consumer runner as the broker would; its outcome."""
        subject = data.get("uscc") or data.get("enterprise_uscc") or data.get("code") or ""  # code: a jurisdiction
        event = OutgoingEvent(type=spec.type, source=spec.source, subject=subject, data=data,
                              **({"id": event_id} if event_id else {}))
        return await self.svc.runtime.consumers[0].process(record(spec.topic, subject, event.attributes(), data))

    async def forward(self, source: RunningService) -> list[str]:
        """Every event in ``source``'s outbox (registry's), delivered to the portal in order."""
        table = registry_platform.outbox
        async with source.runtime.session_factory() as session:
            rows = (await session.execute(select(table.c.topic, table.c.key, table.c.attributes, table.c.data)
                                          .order_by(table.c.id))).all()
        return [await self.svc.runtime.consumers[0].process(record(r.topic, r.key, r.attributes, r.data))
                for r in rows]

    async def outbox(self, event_type: str | None = None) -> list[dict[str, Any]]:
        table = platform.outbox
        query = select(table.c.event_type, table.c.key, table.c.attributes, table.c.data).order_by(table.c.id)
        if event_type:
            query = query.where(table.c.event_type == event_type)
        async with self.svc.runtime.session_factory() as session:
            return [dict(r) for r in (await session.execute(query)).mappings()]


# --- event builders -------------------------------------------------------------------------

def enterprise(uscc: str = UNIT, revision: int = 1, **fields: Any) -> dict[str, Any]:
    data = {"uscc": uscc, "revision": revision, "name": "东港区某街道液化气站", "jurisdiction_code": DONGGANG,
            "venue_type": "other", "kinds": ["gas_filling"], "associations": ["日照市燃气协会"]}
    data.update(fields)
    return registry.EnterpriseSnapshot.model_validate(data).model_dump(mode="json")


def equipment(equipment_id: str, uscc: str = UNIT, revision: int = 1, *, category: str = "2300",
              due: date | None = TODAY + timedelta(days=100), status: str = "in_use") -> dict[str, Any]:
    return registry.EquipmentSnapshot(
        uscc=uscc, equipment_id=equipment_id, revision=revision, category=category, registration_no=f"R-{equipment_id}",
        status=status, next_inspection_due=due).model_dump(mode="json")  # type: ignore[arg-type]


def jurisdiction(code: str, name: str, revision: int = 1) -> dict[str, Any]:
    """A node of registry's tree as its ``jurisdiction.loaded`` announces it (level by the code's shape)."""
    return registry.JurisdictionSnapshot(code=code, revision=revision, name=name, level=level_of(code) or "city",
                                         parent_code=parent_of(code)).model_dump(mode="json")


def score(grade: str, uscc: str = UNIT, *, at: datetime | None = None) -> dict[str, Any]:
    return {"enterprise_uscc": uscc, "score": 55.0, "grade": grade, "raw_grade": grade,
            "model_version": "rizhao-2026.1",
            "computed_at": (at or datetime.combine(TODAY, time(9), tzinfo=SHANGHAI)).isoformat()}


def alert_raised(alert_id: str, cause_event_id: str, uscc: str = UNIT, *, kind: str = "public_report",
                 status: str = "raised") -> dict[str, Any]:
    return {"alert_id": alert_id, "enterprise_uscc": uscc, "kind": kind, "grade": "D", "action": "onsite_enforcement",
            "status": status, "correlation_id": cause_event_id, "cause_event_id": cause_event_id,
            "raised_at": datetime.combine(TODAY, time(10, 5), tzinfo=SHANGHAI).isoformat()}


def alert_status(alert_id: str, status: str, uscc: str = UNIT, *, minutes: int = 30) -> dict[str, Any]:
    return {"alert_id": alert_id, "enterprise_uscc": uscc, "status": status,
            "changed_at": (datetime.combine(TODAY, time(10, 5), tzinfo=SHANGHAI)
                           + timedelta(minutes=minutes)).isoformat()}
