"""The daily ledger job: overdue inspections and expired certificates, once per item per date."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from services.registry.domain.dates import years_before
from services.registry.jobs import daily_job
from shared.testing.services import eventually
from tests.registry.support import (
    HEADLINE_USCC,
    add_equipment,
    admin,
    days,
    published,
    register,
    regulator,
    today,
)

HEADLINE = f"/api/v1/enterprises/{HEADLINE_USCC}"


async def _operator(registry, number: str, valid_until: str, active: bool = True) -> str:  # type: ignore[no-untyped-def]
    response = await registry.client.post(f"{HEADLINE}/operators", json={
        "name": "张伟", "certificate_no": number, "certificate_category": "P", "certificate_valid_until": valid_until,
        "active": active}, headers=admin(registry))
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def _run(registry, on: date | None = None) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = await registry.client.post("/api/v1/admin/daily-job", json={"date": on.isoformat()} if on else {},
                                          headers=admin(registry))
    assert response.status_code == 200, response.text
    return response.json()


async def test_overdue_and_expired_are_published_once_per_due_date(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    overdue = await add_equipment(registry, HEADLINE_USCC, registration_no="梯-A", next_inspection_due=days(-1))
    due_today = await add_equipment(registry, HEADLINE_USCC, registration_no="梯-B", next_inspection_due=days(0))
    await add_equipment(registry, HEADLINE_USCC, registration_no="梯-C", next_inspection_due=days(-5),
                        status="suspended")
    unregistered = await add_equipment(registry, HEADLINE_USCC, registration_no=None, next_inspection_due=days(-3))
    expired = await _operator(registry, "P-1", days(-1))
    later = await _operator(registry, "P-2", days(10))
    await _operator(registry, "P-3", days(-2), active=False)

    result = await _run(registry)
    assert result["date"] == today().isoformat()
    assert sorted(result["inspections_overdue"]) == sorted([overdue["id"], unregistered["id"]])
    assert result["certificates_expired"] == [expired]
    assert await _run(registry) == {"date": today().isoformat(), "inspections_overdue": [],
                                    "certificates_expired": [], "key_supervision_released": []}
    events = await published(registry, "equipment.inspection_overdue")
    assert sorted(row.data["equipment_id"] for row in events) == sorted([overdue["id"], unregistered["id"]])
    assert {row.data["detected_on"] for row in events} == {today().isoformat()}
    assert {row.key for row in events} == {HEADLINE_USCC} and {row.topic for row in events} == {"registry.equipment"}
    expired_events = await published(registry, "operator.certificate_expired")
    assert [(row.data["operator_id"], row.data["certificate_valid_until"]) for row in expired_events] == [
        (expired, days(-1))]

    inspection = await registry.client.post(f"/api/v1/equipment/{overdue['id']}/inspections", json={
        "inspected_date": days(0), "result": "passed", "next_due_date": days(10)}, headers=admin(registry))
    assert inspection.status_code == 201
    later_run = await _run(registry, today() + timedelta(days=11))
    assert sorted(later_run["inspections_overdue"]) == sorted([overdue["id"], due_today["id"]])  # a new due date
    assert later_run["certificates_expired"] == [later]
    assert len(await published(registry, "equipment.inspection_overdue")) == 4
    for not_a_date in ("someday", 0, 1_767_225_600, "1767225600", True):  # numbers are not Unix time here
        response = await registry.client.post("/api/v1/admin/daily-job", json={"date": not_a_date},
                                              headers=admin(registry))
        assert problem_status(response) == 422, not_a_date
        assert [e["field"] for e in response.json()["errors"]] == ["date"]


def problem_status(response) -> int:  # type: ignore[no-untyped-def]
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.status_code


async def test_accident_key_supervision_lapses_after_three_years(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    occurred = today() - timedelta(days=10)
    response = await registry.client.post(f"{HEADLINE}/accidents", json={"occurred_date": occurred.isoformat()},
                                          headers=regulator(registry))
    assert response.status_code == 201
    lapse = occurred + timedelta(days=3 * 366)
    while years_before(lapse - timedelta(days=1), 3) >= occurred:  # the first day three years have passed
        lapse -= timedelta(days=1)
    assert (await _run(registry, lapse - timedelta(days=1)))["key_supervision_released"] == []
    assert (await _run(registry, lapse))["key_supervision_released"] == [HEADLINE_USCC]
    assert (await _run(registry, lapse))["key_supervision_released"] == []
    changes = await published(registry, "enterprise.key_supervision_changed")
    assert [row.data["key_supervision"] for row in changes] == [True, False]
    unit = (await registry.client.get(HEADLINE, headers=admin(registry))).json()
    assert unit["key_supervision"] is False and unit["last_accident_date"] == occurred.isoformat()


async def test_the_background_job_catches_up_at_start(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    unit = await add_equipment(registry, HEADLINE_USCC, next_inspection_due=days(-1))
    registry.runtime.settings.daily_job_enabled = True
    stop = asyncio.Event()
    task = asyncio.create_task(daily_job(registry.runtime, stop))
    try:
        rows = await eventually(lambda: published(registry, "equipment.inspection_overdue"), timeout_s=5,
                                what="the background job's overdue event")
        assert [row.data["equipment_id"] for row in rows] == [unit["id"]]
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=5)
    assert task.done() and task.exception() is None
