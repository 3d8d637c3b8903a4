"""Fixtures of the tests of tasks, hazards and photos: the inspection service with its jobs off
(tests run them through POST /admin/task-jobs), photos in the test's own directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time

import pytest

from services.inspection.main import create_app as create_inspection_app
from shared.testing.services import running_service
from tests.inspection.conftest import QUIET
from tests.inspection.support import TODAY, Clock
from tests.inspection.tasks_support import Tasks


@pytest.fixture
async def tasks(database_url: str, tmp_path) -> AsyncIterator[Tasks]:  # type: ignore[no-untyped-def]
    clock = Clock(TODAY, time(12))
    async with running_service(create_inspection_app, database_url, **QUIET, task_jobs_enabled=False,
                               blob_dir=str(tmp_path / "blobs")) as svc:
        svc.runtime.clock = clock
        yield Tasks(svc, clock)
