"""Support for the enforcement service's integration tests: a settable clock, event delivery
through the real consumer runner (no broker needed: the runner's ``process`` takes a Kafka
record), and builders for the events enforcement consumes, as registry, scoring and inspection
publish them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from services.enforcement.models import platform
from shared.contracts import inspection, registry
from shared.events.spec import EventSpec
from shared.testing.clock import SettableClock
from shared.testing.events import consumer_record, event_id_of
from shared.testing.services import RunningService

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)
CITY, DONGGANG, LANSHAN = "371100", "371102", "371103"
TOWNSHIP, GRID = "371102003", "371102003001"
INSPECTORS = [{"id": "insp-1", "name": "张伟"}, {"id": "insp-2", "name": "王军"}]


class Clock(SettableClock):
    """The service's clock, at time(21, 5) on TODAY unless a test moves it."""

    def __init__(self) -> None:
        super().__init__(TODAY, time(21, 5))


@dataclass
class Enforcement:
    svc: RunningService
    clock: Clock

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.svc.client

    def auth(self, role: str, **claims: Any) -> dict[str, str]:
        return self.svc.auth(role, **claims)

    def regulator(self, jurisdiction: str = DONGGANG, sub: str | None = None) -> dict[str, str]:
        return self.auth("regulator", jurisdiction=jurisdiction, sub=sub or f"reg-{jurisdiction}")

    @property
    def admin(self) -> dict[str, str]:
        return self.auth("admin", sub="root")

    async def deliver(self, spec: EventSpec[Any], data: dict[str, Any], *, event_id: str | None = None,
                      correlation_id: str | None = None) -> tuple[str, str]:
        """Hand one event to the consumer runner as the broker would; (outcome, event id)."""
        record = consumer_record(spec, data, id=event_id, correlation_id=correlation_id)
        return await self.svc.runtime.consumers[0].process(record), event_id_of(record)

    async def alerts(self, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/api/v1/alerts", params=params, headers=headers or self.admin)
        assert response.status_code == 200, response.text
        return response.json()["items"]

    async def alert(self, alert_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.get(f"/api/v1/alerts/{alert_id}", headers=headers or self.admin)
        assert response.status_code == 200, response.text
        return response.json()

    async def outbox(self, event_type: str | None = None) -> list[dict[str, Any]]:
        table = platform.outbox
        query = select(table.c.event_type, table.c.key, table.c.attributes, table.c.data).order_by(table.c.id)
        if event_type:
            query = query.where(table.c.event_type == event_type)
        async with self.svc.runtime.session_factory() as session:
            return [dict(r) for r in (await session.execute(query)).mappings()]


# --- event builders -------------------------------------------------------------------------

def enterprise(uscc: str, revision: int = 1, *, jurisdiction: str = DONGGANG, grid: str | None = GRID,
               **fields: Any) -> dict[str, Any]:
    data = {"uscc": uscc, "revision": revision, "name": f"液化气站{uscc[-4:]}", "jurisdiction_code": jurisdiction,
            "grid_code": grid, "venue_type": "other", "kinds": ["gas_filling"]}
    data.update(fields)
    return registry.EnterpriseSnapshot.model_validate(data).model_dump(mode="json")


def inspectors(grid: str = GRID, revision: int = 1, people: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return registry.GridInspectorsAssigned(
        grid_code=grid, revision=revision, inspectors=INSPECTORS if people is None else people,  # type: ignore[arg-type]
        assigned_at=datetime(2026, 1, 1, tzinfo=SHANGHAI)).model_dump(mode="json")


def score(uscc: str, grade: str, *, trigger: EventSpec[Any] | None = None, trigger_id: str | None = None,
          day: date | None = None, computed_at: datetime | None = None, points: float = 50.0) -> dict[str, Any]:
    """score.updated as scoring publishes it (trigger = the event that caused the rescoring)."""
    return {"enterprise_uscc": uscc, "score": points, "grade": grade, "raw_grade": grade,
            "previous_grade": None, "grade_changed": False, "model_version": "rizhao-2026.1",
            "computed_at": (computed_at or datetime.combine(TODAY, time(21, 0, 1), tzinfo=SHANGHAI)).isoformat(),
            "trigger_event_type": trigger.type if trigger else None, "trigger_event_id": trigger_id,
            "trigger_business_date": day.isoformat() if day else None, "jurisdiction_code": DONGGANG,
            "key_supervision": False, "kinds": ["gas_filling"]}


def missing(uscc: str, day: date = TODAY) -> dict[str, Any]:
    return {"enterprise_uscc": uscc, "business_date": day.isoformat(),
            "cutoff_at": datetime.combine(day, time(21, 0), tzinfo=SHANGHAI).isoformat()}


def arrived(uscc: str, day: date = TODAY, missing_id: str | None = None) -> dict[str, Any]:
    return inspection.FillingRecordsArrivedLate(
        enterprise_uscc=uscc, business_date=day, missing_event_id=missing_id, records=12,
        received_at=datetime.combine(day + timedelta(days=1), time(8), tzinfo=SHANGHAI)).model_dump(mode="json")


def anomaly(uscc: str, kind: str = "expired_cylinder", severity: str = "serious", record: str = "R1") -> dict[str, Any]:
    return inspection.FillingAnomalyDetected(
        enterprise_uscc=uscc, record_id=record, kind=kind, severity=severity, cylinder_no="CY-001",  # type: ignore[arg-type]
        filled_at=datetime.combine(TODAY, time(10), tzinfo=SHANGHAI)).model_dump(mode="json")


def corrected(uscc: str, cleared: dict[str, str], *, record: str = "R2", version: int = 2,
              original: str = "R1") -> dict[str, Any]:
    """filling_record.corrected clearing each kind of ``cleared`` (kind -> the version that raised it)."""
    return inspection.FillingRecordCorrected(
        enterprise_uscc=uscc, record_id=record, corrects_id=original, original_id=original, version=version,
        reason="the cylinder number was misread", changed=["cylinder_no"], anomalies=[],
        cleared=list(cleared), raised_by=cleared, business_date=TODAY,  # type: ignore[arg-type]
        corrected_at=datetime.combine(TODAY, time(11), tzinfo=SHANGHAI)).model_dump(mode="json")


def accident(uscc: str, accident_id: str = "ACC1") -> dict[str, Any]:
    return registry.AccidentReported(uscc=uscc, accident_id=accident_id, occurred_date=TODAY,
                                     severity="general").model_dump(mode="json")


def inspection_overdue(uscc: str, equipment_id: str = "EQ1") -> dict[str, Any]:
    return registry.EquipmentInspectionOverdue(uscc=uscc, equipment_id=equipment_id,
                                               next_inspection_due=TODAY - timedelta(days=1),
                                               detected_on=TODAY).model_dump(mode="json")


def certificate_expired(uscc: str) -> dict[str, Any]:
    return registry.OperatorCertificateExpired(uscc=uscc, operator_id="OP1", certificate_valid_until=TODAY,
                                               detected_on=TODAY).model_dump(mode="json")


def hazard_overdue(uscc: str) -> dict[str, Any]:
    return inspection.HazardOverdue(enterprise_uscc=uscc, hazard_id="HZ1", deadline_date=TODAY,
                                    detected_on=TODAY).model_dump(mode="json")


def maintenance_lapsed(uscc: str) -> dict[str, Any]:
    return inspection.MaintenanceLapsed(enterprise_uscc=uscc, equipment_id="LIFT1", category="3110",
                                        due_date=TODAY, detected_on=TODAY).model_dump(mode="json")
