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
from sqlalchemy import text

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
