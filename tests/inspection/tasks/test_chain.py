"""Submissions, hazards and evidence are sealed in the record chain: editing or deleting their rows
(as an intruder with database access would), or adding one no link sealed, is detected by
chain/verify, which names the link; an untouched chain verifies intact."""

from __future__ import annotations

import pytest

from tests.inspection.tasks.test_hazards import failed_submission

pytestmark = pytest.mark.postgres

TAMPERS = {
    "a submission's photo swapped": ("UPDATE task_submissions SET photos = '[\"{fake}\"]'", "task_submission"),
    "a submission's location moved": ("UPDATE task_submissions SET lat = 35.5, mock_location = :flag",
                                      "task_submission"),
    "a submission deleted": ("DELETE FROM task_submissions", "task_submission"),
    "a hazard's deadline moved": ("UPDATE hazards SET deadline_date = '2027-01-01'", "hazard"),
    "a hazard downgraded": ("UPDATE hazards SET severity = 'general'", "hazard"),
    "a hazard deleted": ("DELETE FROM hazards WHERE severity = 'major'", "hazard"),
    "evidence's photos replaced": ("UPDATE hazard_evidence SET photos = '[]'", "hazard_evidence"),
}


@pytest.mark.parametrize("case", TAMPERS)
async def test_tampering_with_self_inspection_rows_is_detected(tasks, usccs, case):
    uscc = usccs(0)
    body = await failed_submission(tasks, uscc)
    photo = await tasks.photo(uscc)
    sent = await tasks.client.post(f"/api/v1/hazards/{body['hazard_ids'][0]}/evidence", json={"photos": [photo]},
                                   headers=tasks.user(uscc))
    assert sent.status_code == 201
    assert (await tasks.verify(uscc))["intact"] is True
    statement, kind = TAMPERS[case]
    await tasks.sql(statement.format(fake="f" * 64) + f" WHERE enterprise_uscc = '{uscc}'"
                    if "WHERE" not in statement else statement + f" AND enterprise_uscc = '{uscc}'", flag=True)
    result = await tasks.verify(uscc)
    assert result["intact"] is False
    links = (await tasks.client.get(f"/api/v1/enterprises/{uscc}/chain/links", headers=tasks.admin)).json()["items"]
    broken = result["first_broken"]["sequence"]
    assert broken > len(links) or links[broken - 1]["kind"] == kind, result
