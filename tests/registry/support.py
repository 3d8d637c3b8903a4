"""Support for the registry's tests: USCCs with valid check digits, request bodies, and readers
of the service's outbox (what it published, without a broker)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from services.registry.domain.uscc import make_uscc
from services.registry.models import Enterprise, platform
from shared.locality import business_today
from shared.testing.services import RunningService

CITY, DONGGANG, LANSHAN, WULIAN, JUXIAN = "371100", "371102", "371103", "371121", "371122"
HEADLINE_USCC = "91371102MA3C5K0X1Q"
HEADLINE_GRID = "371102003001"  # where (35.42, 119.52) falls in the packaged tree
LANSHAN_POINT = {"lat": 35.12, "lon": 119.30}
VALIDATION = "https://safegrid.dev/problems/validation"
ALL_IN_PLACE = dict.fromkeys((
    "safety_organization", "responsible_persons", "management_system", "emergency_plan", "emergency_drills",
    "training", "risk_control_mechanism", "hazard_investigation_mechanism"), True)


def uscc(n: int, district: str = DONGGANG) -> str:
    """The n-th test USCC registered in ``district``, with its correct check digit."""
    return make_uscc(f"91{district}MA{n:07d}")


def today() -> date:
    return business_today()


def days(n: int) -> str:
    return (business_today() + timedelta(days=n)).isoformat()


def enterprise_body(**overrides: Any) -> dict[str, Any]:
    """The headline chain's step-1 body (contract.md §5), overridable."""
    body: dict[str, Any] = {
        "uscc": HEADLINE_USCC, "name": "东港区某街道液化气站", "jurisdiction_code": DONGGANG,
        "address": "山东省日照市东港区某街道1号", "location": {"lat": 35.42, "lon": 119.52},
        "venue_type": "other", "kinds": ["gas_filling"], "general_credit_grade": "B",
        "management": dict(ALL_IN_PLACE),
    }
    body.update(overrides)
    return body


def admin(svc: RunningService) -> dict[str, str]:
    return svc.auth("admin")


def regulator(svc: RunningService, jurisdiction: str = DONGGANG) -> dict[str, str]:
    return svc.auth("regulator", jurisdiction=jurisdiction)


def enterprise_user(svc: RunningService, code: str) -> dict[str, str]:
    return svc.auth("enterprise", enterprise=code)


async def register(svc: RunningService, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    response = await svc.client.post("/api/v1/enterprises", json=enterprise_body(**overrides),
                                     headers=headers or admin(svc))
    assert response.status_code == 201, response.text
    return response.json()


async def add_equipment(svc: RunningService, code: str, headers: dict[str, str] | None = None,
                        **body: Any) -> dict[str, Any]:
    payload = {"category": "3000", "registration_no": None, "status": "in_use", "next_inspection_due": days(200),
               **body}
    response = await svc.client.post(f"/api/v1/enterprises/{code}/equipment", json=payload,
                                     headers=headers or admin(svc))
    assert response.status_code == 201, response.text
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    """The problem document of a failed request, after checking its status and media type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def error_fields(response: httpx.Response, status: int = 422) -> list[str]:
    return [e["field"] for e in problem(response, status).get("errors", [])]


async def published(svc: RunningService, event: str | None = None, subject: str | None = None) -> list[Any]:
    """Outbox rows (what the relay will publish), oldest first; ``event`` is short:
    "enterprise.registered" stands for safegrid.registry.enterprise.registered.v1. Without
    ``event``, the jurisdiction tree's own events (the seeded grids' inspectors) are left out."""
    outbox = platform.outbox
    statement = select(outbox).order_by(outbox.c.id)
    if event:
        statement = statement.where(outbox.c.event_type == f"safegrid.registry.{event}.v1")
    else:
        statement = statement.where(outbox.c.topic != "registry.jurisdictions")
    if subject:
        statement = statement.where(outbox.c.key == subject)
    async with svc.runtime.session_factory() as session:
        return list((await session.execute(statement)).all())


def types_of(rows: list[Any]) -> list[str]:
    return [row.event_type.removeprefix("safegrid.registry.").removesuffix(".v1") for row in rows]


async def count_enterprises(svc: RunningService) -> int:
    async with svc.runtime.session_factory() as session:
        return int((await session.execute(select(func.count()).select_from(Enterprise))).scalar_one())
