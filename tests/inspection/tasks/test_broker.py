"""Through the real broker: a task issued, submitted with a failed item and closed leaves
task.issued, task.submitted and task.closed on inspection.tasks and hazard.raised on
inspection.hazards, keyed and subjected by the USCC, from the outbox relay."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from services.inspection.main import create_app as create_inspection_app
from shared.contracts import inspection as events
from shared.contracts import registry
from shared.testing.services import running_service
from tests.inspection.support import TODAY, Clock, at, station
from tests.inspection.tasks_support import Tasks, submission, task_body
from tests.inspection.test_broker import read_topic

pytestmark = [pytest.mark.broker, pytest.mark.postgres]


async def test_task_and_hazard_events_reach_the_broker(broker, database_url, unique, tmp_path):
    uscc = f"{unique}TKT".ljust(18, "0")
    async with running_service(create_inspection_app, database_url, broker.bootstrap_servers,
                               consumers_enabled=False, cutoff_enabled=False, maintenance_check_enabled=False,
                               task_jobs_enabled=False, blob_dir=str(tmp_path)) as svc:
        clock = Clock(TODAY, time(12))
        svc.runtime.clock = clock
        tasks = Tasks(svc, clock)
        await tasks.deliver(registry.ENTERPRISE_REGISTERED, station(uscc))
        response = await svc.client.post("/api/v1/tasks", json=task_body(uscc), headers=tasks.city)
        assert response.status_code == 201, response.text
        [task_id] = response.json()["task_ids"]
        photo = await tasks.photo(uscc)
        submitted = await tasks.submit(task_id, uscc, submission(photo, device=at(TODAY, 11), failed=("valve",)))
        assert submitted.status_code == 201, submitted.text
        [hazard_id] = submitted.json()["hazard_ids"]
        clock.set(TODAY + timedelta(days=3))
        assert [c["task_id"] for c in (await tasks.jobs())["tasks_closed"]] == [task_id]

        on_tasks = await read_topic(broker.bootstrap_servers, "inspection.tasks", uscc, {
            events.TASK_ISSUED.type, events.TASK_SUBMITTED.type, events.TASK_CLOSED.type})
        by_type = {e.type: e for e in on_tasks}
        assert by_type[events.TASK_CLOSED.type].data["completed"] is True
        assert by_type[events.TASK_SUBMITTED.type].data["hazards"] == 1
        [raised] = await read_topic(broker.bootstrap_servers, "inspection.hazards", uscc, {events.HAZARD_RAISED.type})
        assert raised.data["hazard_id"] == hazard_id and raised.source == "/safegrid/inspection"
        assert raised.data["deadline_date"] == (TODAY + timedelta(days=7)).isoformat()
