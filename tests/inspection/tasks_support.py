"""Support for the tests of tasks, hazards and photos: the service (jobs off, photos in a test
directory), its second consumer (the facts tasks target by), and builders of tasks and submissions."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.events.spec import EventSpec
from shared.testing.events import consumer_record
from tests.inspection.support import SHANGHAI, TODAY, Inspection, at

SPOT = "储罐区"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + os.urandom(64)
PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(64)
MATTERS = {"valve": {"text": "阀门无泄漏", "severity": "general"},
           "extinguisher": {"text": "灭火器在位有效", "severity": "major"}}


@dataclass
class Tasks(Inspection):
    async def deliver_facts(self, spec: EventSpec[Any], data: dict[str, Any]) -> str:
        """Hand one event to the task-facts consumer (key supervision, grade) as the broker would."""
        record = consumer_record(spec, data)
        consumer = next(c for c in self.runtime.consumers if c.subscription.name.endswith("tasks"))
        return await consumer.process(record)

    def user(self, uscc: str, sub: str | None = None) -> dict[str, str]:
        return self.auth("enterprise", sub=sub or f"user-{uscc}", enterprise=uscc)

    async def photo(self, uscc: str, data: bytes = JPEG, content_type: str = "image/jpeg") -> str:
        response = await self.client.post(f"/api/v1/enterprises/{uscc}/blobs", content=data,
                                          headers={**self.user(uscc), "Content-Type": content_type})
        assert response.status_code in (200, 201), response.text
        return response.json()["sha256"]

    async def issue(self, uscc: str, headers: dict[str, str] | None = None, **overrides: Any) -> str:
        response = await self.client.post("/api/v1/tasks", json=task_body(uscc, **overrides),
                                          headers=headers or self.city)
        assert response.status_code == 201, response.text
        [task_id] = response.json()["task_ids"]
        return task_id

    async def submit(self, task_id: str, uscc: str, body: dict[str, Any], headers: dict[str, str] | None = None,
                     **kwargs: Any) -> Any:
        return await self.client.post(f"/api/v1/tasks/{task_id}/submissions", json=body,
                                      headers={**(headers or self.user(uscc)), **kwargs.pop("extra_headers", {})},
                                      **kwargs)

    async def jobs(self, day: date | None = None) -> dict[str, Any]:
        response = await self.client.post("/api/v1/admin/task-jobs", json={"date": day.isoformat()} if day else {},
                                          headers=self.admin)
        assert response.status_code == 200, response.text
        return response.json()


def task_body(uscc: str, day: date = TODAY, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "日管控: 储罐区巡查", "target": {"enterprise_uscc": uscc},
        "window_start": at(day, 8), "duration_minutes": 600, "fence": {"radius_m": 200},
        "assignee": {"kind": "user", "id": f"user-{uscc}"},
        "scene": {"kind": "spot", "id": SPOT, "photo_required": True}, "matters": MATTERS}
    body.update(overrides)
    return body


def submission(photo: str | None, *, device: str | None = None, failed: tuple[str, ...] = (), **overrides: Any
               ) -> dict[str, Any]:
    body: dict[str, Any] = {
        "device_time": device or at(TODAY, 10), "location": {"lat": 35.42, "lon": 119.52}, "gps_accuracy_m": 8.0,
        "mock_location": False, "spot": SPOT, "photos": [photo] if photo else [],
        "results": {code: {"passed": code not in failed, "note": "漏气" if code in failed else ""}
                    for code in MATTERS}}
    body.update(overrides)
    return body


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(SHANGHAI)
