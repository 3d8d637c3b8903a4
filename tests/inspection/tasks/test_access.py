"""Who may do what with tasks: regulators issue within their own subtree and read it, the
enterprise reads and submits only its own, associations nothing, and a refusal changes nothing."""

from __future__ import annotations

import pytest

from services.inspection.models import Submission, Task, TaskTemplate
from tests.inspection.support import CITY, LANSHAN
from tests.inspection.tasks_support import MATTERS, SPOT, Tasks, submission, task_body

pytestmark = pytest.mark.postgres
OTHER = "91371102MA3C5K0X1Q"


def callers(tasks: Tasks, own: str) -> dict[str, dict[str, str]]:
    return {
        "admin": tasks.admin, "own enterprise": tasks.user(own), "other enterprise": tasks.user(OTHER),
        "city regulator": tasks.auth("regulator", jurisdiction=CITY),
        "district regulator": tasks.auth("regulator", jurisdiction="371102"),
        "other district regulator": tasks.auth("regulator", jurisdiction=LANSHAN),
        "reader integrator": tasks.auth("integrator", scopes=["inspection:read"]),
        "registry integrator": tasks.auth("integrator", scopes=["registry:read"]),
        "association": tasks.auth("association"),
    }


async def test_issuing_follows_role_and_jurisdiction_and_a_refusal_issues_nothing(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    got = {}
    for name, headers in callers(tasks, uscc).items():
        response = await tasks.client.post("/api/v1/tasks", json=task_body(uscc), headers=headers)
        got[name] = response.status_code
    assert got == {"admin": 201, "own enterprise": 403, "other enterprise": 403, "city regulator": 201,
                   "district regulator": 201, "other district regulator": 403, "reader integrator": 403,
                   "registry integrator": 403, "association": 403}
    assert await tasks.count(Task.__table__) == 3
    template = {"name": "周排查", "cycle": "weekly", "target": {"jurisdiction_code": "371102"},
                "scene": {"kind": "spot", "id": SPOT}, "matters": MATTERS}
    refused = await tasks.client.post("/api/v1/task-templates", json=template,
                                      headers=tasks.auth("regulator", jurisdiction=LANSHAN))
    assert refused.status_code == 403 and await tasks.count(TaskTemplate.__table__) == 0
    unknown = await tasks.client.post("/api/v1/tasks", json=task_body(OTHER), headers=tasks.city)
    assert unknown.status_code == 404


async def test_reading_and_submitting_follow_role_and_jurisdiction(tasks, usccs):
    uscc = usccs(0)
    await tasks.station(uscc)
    task_id = await tasks.issue(uscc)
    reads = {name: (await tasks.client.get(f"/api/v1/tasks/{task_id}", headers=h)).status_code
             for name, h in callers(tasks, uscc).items()}
    assert reads == {"admin": 200, "own enterprise": 200, "other enterprise": 403, "city regulator": 200,
                     "district regulator": 200, "other district regulator": 403, "reader integrator": 200,
                     "registry integrator": 403, "association": 403}
    listed = {name: len((await tasks.client.get("/api/v1/tasks", headers=h)).json().get("items", []))
              for name, h in callers(tasks, uscc).items() if name in (
                  "own enterprise", "other enterprise", "city regulator", "other district regulator")}
    assert listed == {"own enterprise": 1, "other enterprise": 0, "city regulator": 1, "other district regulator": 0}
    photo = await tasks.photo(uscc)
    for name in ("city regulator", "other enterprise", "association"):
        response = await tasks.submit(task_id, uscc, submission(photo), headers=callers(tasks, uscc)[name])
        assert response.status_code == 403, name
    assert await tasks.count(Submission.__table__) == 0
    assert (await tasks.client.get(f"/api/v1/tasks/{task_id}")).status_code == 401
    assert (await tasks.client.get("/api/v1/tasks/0000", headers=tasks.admin)).status_code == 404
