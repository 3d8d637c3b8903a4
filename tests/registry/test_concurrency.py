"""Read-modify-write on PostgreSQL: an import that read a row must not overwrite a PATCH that
committed before the import wrote it, and a revision must never name two different snapshots.

The interleaving is deterministic: the import is held between its read and its write (the
importer's ``rows_read`` hook) while a PATCH is sent; the hook lets the import go on once the
PATCH either committed (the defect: the import then writes its stale copy) or is waiting for
the import's row lock (the fix)."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy import event, text

from services.registry.imports.loader import Importer
from services.registry.imports.mapping import Mapping
from services.registry.imports.readers import read_sheets
from services.registry.imports.service import assign_kinds
from shared.auth import Principal
from shared.testing.services import RunningService
from tests.registry.support import HEADLINE_USCC, add_equipment, admin, published, register

POSTGRES_ONLY = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
IMPORTER = Principal(sub="test:importer", role="admin")
AGGREGATE_ID = {"enterprise": "uscc", "equipment": "equipment_id", "operator": "operator_id"}


async def _waiting_on_a_lock(svc: RunningService) -> bool:
    async with svc.runtime.engine.connect() as connection:
        waiting = await connection.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))
        return bool(waiting.scalar_one())


async def _import_with_a_patch_inside(svc: RunningService, csv_text: str, kind: str, patch_url: str,
                                      patch_body: dict[str, Any]) -> httpx.Response:
    """Import ``csv_text``, sending the PATCH after the import read its rows and before it writes."""
    patch: asyncio.Task[httpx.Response] | None = None

    async def send_patch_inside_the_window(_: str) -> None:
        nonlocal patch
        if patch is not None:
            return
        patch = asyncio.create_task(svc.client.patch(patch_url, json=patch_body,
                                                     headers={**admin(svc), "If-Match": "*"}))
        async with asyncio.timeout(20):
            while not patch.done() and not await _waiting_on_a_lock(svc):
                await asyncio.sleep(0.02)

    sheets = read_sheets(csv_text.encode(), "csv", name="csv")
    assigned, errors = assign_kinds(sheets, Mapping(), kind)
    assert not errors
    importer = Importer(svc.runtime, IMPORTER, rows_read=send_patch_inside_the_window)
    result = await importer.run(assigned)
    assert not result.errors and result.counts[kind].updated == 1, result
    assert patch is not None
    return await patch


async def _one_snapshot_per_revision(svc: RunningService, aggregate: str) -> None:
    snapshots: dict[tuple[str, int], set[str]] = defaultdict(set)
    for row in await published(svc):
        event = row.event_type.split(".")
        if event[2] == aggregate and AGGREGATE_ID[aggregate] in row.data and event[3] != "removed":
            key = (row.data[AGGREGATE_ID[aggregate]], row.data["revision"])
            snapshots[key].add(json.dumps(row.data, sort_keys=True))
    reused = {key: data for key, data in snapshots.items() if len(data) > 1}
    assert not reused, f"revisions naming two different snapshots: {reused}"


@POSTGRES_ONLY
async def test_an_enterprise_import_does_not_overwrite_a_patch_made_while_it_ran(registry: RunningService) -> None:
    await register(registry)
    response = await _import_with_a_patch_inside(
        registry, f"uscc,name\n{HEADLINE_USCC},东港区导入后的液化气站\n", "enterprises",
        f"/api/v1/enterprises/{HEADLINE_USCC}", {"address": "PATCH 写入的地址"})
    assert response.status_code == 200, response.text
    final = (await registry.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}", headers=admin(registry))).json()
    assert final["address"] == "PATCH 写入的地址", "the PATCH was lost"
    assert final["name"] == "东港区导入后的液化气站"
    await _one_snapshot_per_revision(registry, "enterprise")


@POSTGRES_ONLY
async def test_an_equipment_import_does_not_overwrite_a_patch_made_while_it_ran(registry: RunningService) -> None:
    await register(registry)
    equipment = await add_equipment(registry, HEADLINE_USCC, registration_no="梯11鲁L00001(20)", place="一号楼")
    response = await _import_with_a_patch_inside(
        registry, f"uscc,category,registration_no,place\n{HEADLINE_USCC},3000,梯11鲁L00001(20),二号楼\n",
        "equipment", f"/api/v1/equipment/{equipment['id']}", {"name": "PATCH 写入的名称"})
    assert response.status_code == 200, response.text
    final = (await registry.client.get(f"/api/v1/equipment/{equipment['id']}", headers=admin(registry))).json()
    assert final["name"] == "PATCH 写入的名称", "the PATCH was lost"
    assert final["place"] == "二号楼"
    await _one_snapshot_per_revision(registry, "equipment")


@POSTGRES_ONLY
async def test_an_operator_import_does_not_overwrite_a_patch_made_while_it_ran(registry: RunningService) -> None:
    await register(registry)
    created = await registry.client.post(f"/api/v1/enterprises/{HEADLINE_USCC}/operators", headers=admin(registry),
                                         json={"name": "张三", "certificate_no": "鲁LP0000001",
                                               "certificate_category": "P", "certificate_valid_until": "2030-01-01"})
    assert created.status_code == 201, created.text
    operator = created.json()
    response = await _import_with_a_patch_inside(
        registry, f"uscc,name,certificate_no\n{HEADLINE_USCC},张三丰,鲁LP0000001\n", "operators",
        f"/api/v1/operators/{operator['id']}", {"active": False})
    assert response.status_code == 200, response.text
    final = (await registry.client.get(f"/api/v1/operators/{operator['id']}", headers=admin(registry))).json()
    assert final["active"] is False, "the PATCH was lost"
    assert final["name"] == "张三丰"
    await _one_snapshot_per_revision(registry, "operator")


@POSTGRES_ONLY
async def test_concurrent_first_reads_of_a_qr_code_issue_one_token(registry: RunningService) -> None:
    await register(registry)
    url = f"/api/v1/enterprises/{HEADLINE_USCC}/qr"
    responses = await asyncio.gather(*(registry.client.get(url, headers=admin(registry)) for _ in range(6)))
    assert [r.status_code for r in responses] == [200] * 6, [r.text for r in responses]
    assert len({r.json()["token"] for r in responses}) == 1


@POSTGRES_ONLY
async def test_concurrent_reissues_leave_exactly_one_active_token(registry: RunningService) -> None:
    await register(registry)
    url = f"/api/v1/enterprises/{HEADLINE_USCC}/qr"
    responses = await asyncio.gather(*(registry.client.post(url + "/reissue", headers=admin(registry))
                                       for _ in range(4)))
    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    current = (await registry.client.get(url, headers=admin(registry))).json()["token"]
    resolved = [await registry.client.get(f"/api/v1/public/qr/{r.json()['token']}") for r in responses]
    assert [r.status_code for r in resolved].count(200) == 1
    assert current in {r.json()["token"] for r in responses}


# --- equipment imports that name the same rows by different keys --------------------------------

CROSSING_HEADERS = "uscc,category,registration_no,equipment_code,place\n"


async def _database_errors(svc: RunningService) -> list[str]:
    """Every SQLSTATE the service's engine raises from now on (a real listener, not a mock)."""
    seen: list[str] = []

    def record(context: Any) -> None:
        seen.append(str(getattr(context.original_exception, "sqlstate", None)))

    event.listen(svc.runtime.engine.sync_engine, "handle_error", record)
    return seen


async def _locks_waited(svc: RunningService, count: int) -> None:
    async with asyncio.timeout(20):
        while True:
            async with svc.runtime.engine.connect() as connection:
                waiting = (await connection.execute(text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"))).scalar_one()
            if waiting >= count:
                return
            await asyncio.sleep(0.02)


def _equipment_importer(svc: RunningService, csv_text: str, hook: Any = None) -> Any:
    assigned, errors = assign_kinds(read_sheets(csv_text.encode(), "csv", name="csv"), Mapping(), "equipment")
    assert not errors
    return Importer(svc.runtime, IMPORTER, rows_read=hook).run(assigned)


async def _two_crossed_pieces_of_equipment(svc: RunningService) -> tuple[dict[str, Any], dict[str, Any]]:
    await register(svc)
    x = await add_equipment(svc, HEADLINE_USCC, registration_no="梯11鲁L00001(20)", equipment_code="X-1", place="甲")
    y = await add_equipment(svc, HEADLINE_USCC, registration_no="梯11鲁L00002(20)", equipment_code="Y-1", place="甲")
    return x, y


@POSTGRES_ONLY
async def test_equipment_imports_naming_rows_by_crossed_keys_queue_instead_of_deadlocking(
        registry: RunningService) -> None:
    """File 1 names X by number and Y by code, file 2 Y by number and X by code. A third
    transaction holds Y so that file 2 queues for Y first and file 1 takes X meanwhile: locking by
    number, then by code, the two then wait on each other (40P01); locking the union of the rows
    in id order, they queue."""
    x, y = await _two_crossed_pieces_of_equipment(registry)
    file_1 = CROSSING_HEADERS + (f"{HEADLINE_USCC},3000,{x['registration_no']},,乙\n"
                                 f"{HEADLINE_USCC},3000,,{y['equipment_code']},乙\n")
    file_2 = CROSSING_HEADERS + (f"{HEADLINE_USCC},3000,{y['registration_no']},,丙\n"
                                 f"{HEADLINE_USCC},3000,,{x['equipment_code']},丙\n")
    errors = await _database_errors(registry)
    reached_write: list[str] = []

    async def note(_: str) -> None:
        reached_write.append("write")

    async with registry.runtime.engine.connect() as blocker:
        await blocker.execute(text("SELECT id FROM equipment WHERE id = :id FOR UPDATE"), {"id": y["id"]})
        second = asyncio.create_task(_equipment_importer(registry, file_2, note))
        await _locks_waited(registry, 1)  # file 2 queues for Y behind the blocker
        first = asyncio.create_task(_equipment_importer(registry, file_1, note))
        await _locks_waited(registry, 2)  # file 1 holds what it could and waits too
        await blocker.rollback()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    assert "40P01" not in errors, f"the two imports deadlocked: {errors}"
    # Which file commits first is the database's choice (and a blank key cell clears that key, so
    # the later file may find fewer rows); either way both files load whole.
    assert all(not r.errors and r.counts["equipment"].rejected == 0 for r in results), results
    assert len(reached_write) == 2, "a chunk was read twice: it was retried"
    await _one_snapshot_per_revision(registry, "equipment")


@POSTGRES_ONLY
async def test_an_import_chunk_chosen_as_a_deadlock_victim_is_retried(registry: RunningService) -> None:
    """Another writer locks Y, the import locks X and waits for Y, the writer then asks for X:
    PostgreSQL aborts the import's transaction (40P01), and its chunk is run again once the writer
    is done, instead of failing the import."""
    x, y = await _two_crossed_pieces_of_equipment(registry)
    first_id, second_id = sorted([x["id"], y["id"]])
    errors = await _database_errors(registry)
    content = CROSSING_HEADERS + "".join(f"{HEADLINE_USCC},3000,{e['registration_no']},,乙\n" for e in (x, y))
    async with registry.runtime.engine.connect() as writer:
        await writer.execute(text("SET deadlock_timeout = '30s'"))  # the import's backend detects it first
        await writer.execute(text("SELECT id FROM equipment WHERE id = :id FOR UPDATE"), {"id": second_id})
        running = asyncio.create_task(_equipment_importer(registry, content))
        await _locks_waited(registry, 1)  # the import holds the first row and waits for the second
        await writer.execute(text("SELECT id FROM equipment WHERE id = :id FOR UPDATE"), {"id": first_id})
        await writer.execute(text("UPDATE equipment SET place = '丁' WHERE id = :id"), {"id": first_id})
        await writer.commit()
    result = await running
    assert "40P01" in errors, f"no deadlock was provoked: {errors}"
    assert not result.errors and result.counts["equipment"].updated == 2, result
    final = (await registry.client.get(f"/api/v1/equipment/{first_id}", headers=admin(registry))).json()
    assert final["place"] == "乙"
