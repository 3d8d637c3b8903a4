"""``safegrid registry ...``: the commands run against the configured database (SQLite or
PostgreSQL), in a worker thread because each command runs its own event loop."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.cli import app
from services.registry.main import create_app as create_registry_app
from shared.testing.services import running_service
from tests.registry.support import HEADLINE_USCC, admin, published
from tests.registry.test_imports import SHAPES_THROUGH_THE_ENTRY_POINTS, legacy_workbook


async def invoke(database_url: str, *args: str):  # type: ignore[no-untyped-def]
    env = {"SAFEGRID_REGISTRY_DATABASE_URL": database_url, "SAFEGRID_LOG_LEVEL": "WARNING"}
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env, catch_exceptions=False)


async def test_import_daily_job_and_demo_from_the_command_line(empty_database_url: str, tmp_path: Path) -> None:
    database_url = empty_database_url  # the CLI migrates it itself
    workbook, report, mapping = tmp_path / "台账.xlsx", tmp_path / "errors.csv", tmp_path / "mapping.yaml"
    workbook.write_bytes(legacy_workbook())
    printed = await invoke(database_url, "example-mapping")
    assert printed.exit_code == 0 and "统一社会信用代码: uscc" in printed.stdout
    mapping.write_text(printed.stdout, encoding="utf-8")

    result = await invoke(database_url, "import", str(workbook), "--mapping", str(mapping), "--report", str(report))
    assert result.exit_code == 1, result.output  # some rows were rejected
    rows = list(csv.reader(report.open(encoding="utf-8")))
    assert rows[0] == ["sheet", "row", "field", "message"] and len(rows) == 5
    assert ("设备", "4", "category") in {(r[0], r[1], r[2]) for r in rows[1:]}
    rerun = await invoke(database_url, "import", str(workbook), "--mapping", str(mapping), "--report", str(report))
    assert "0 events queued" in rerun.output

    job = await invoke(database_url, "daily-job", "--date", "2029-01-01")
    assert job.exit_code == 0 and "2029-01-01: 2 inspections overdue, 1 certificates expired" in job.output
    assert "2029-01-01: 0 inspections overdue, 0 certificates expired" in (
        await invoke(database_url, "daily-job", "--date", "2029-01-01")).output
    refused = await invoke(database_url, "demo", "--enterprises", "20")
    assert refused.exit_code == 1 and "already holds enterprises" in refused.output
    assert (await invoke(database_url, "demo", "--if-empty")).exit_code == 0  # what the dev runner calls
    bad_date = await invoke(database_url, "daily-job", "--date", "01/01/2029")
    assert bad_date.exit_code == 2

    async with running_service(
        create_registry_app, database_url, daily_job_enabled=False, relay_enabled=False, log_level="WARNING"
    ) as svc:
        unit = await svc.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}", headers=admin(svc))
        assert unit.status_code == 200 and unit.json()["kinds"] == ["gas_filling"]
        assert len(await published(svc, "equipment.inspection_overdue")) == 2
        runs = await svc.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}/equipment", headers=admin(svc))
        assert len(runs.json()["items"]) == 1


async def test_a_jurisdiction_file_loads_and_a_broken_one_is_refused(empty_database_url: str, tmp_path: Path) -> None:
    database_url = empty_database_url  # the CLI migrates it itself
    tree = tmp_path / "tree.yaml"
    tree.write_text("""jurisdictions:
- code: '371100'
  name: 日照市
  level: city
  bounds: {min_lat: 35.05, max_lat: 36.05, min_lon: 118.58, max_lon: 119.65}
  children:
  - code: '371199'
    name: 开发区
    level: district
    bounds: {min_lat: 35.3, max_lat: 35.4, min_lon: 119.3, max_lon: 119.4}
""", encoding="utf-8")
    loaded = await invoke(database_url, "jurisdictions", "load", str(tree))
    assert loaded.exit_code == 0 and "loaded 2 jurisdictions" in loaded.output
    broken = tmp_path / "broken.yaml"
    broken.write_text(tree.read_text(encoding="utf-8").replace("max_lat: 35.4", "max_lat: 37.0"), encoding="utf-8")
    refused = await invoke(database_url, "jurisdictions", "load", str(broken))
    assert refused.exit_code == 2 and "bounds are not inside 371100" in refused.output
    async with running_service(
        create_registry_app, database_url, daily_job_enabled=False, relay_enabled=False, log_level="WARNING"
    ) as svc:
        district = await svc.client.get("/api/v1/jurisdictions/371199", headers=admin(svc))
        assert district.json()["name"] == "开发区" and district.json()["parent_code"] == "371100"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("text", "path"), SHAPES_THROUGH_THE_ENTRY_POINTS)
async def test_a_wrongly_shaped_mapping_file_is_a_message_and_exit_1(database_url: str, tmp_path: Path,
                                                                      text: str, path: str) -> None:
    ledger, mapping = tmp_path / "ledger.csv", tmp_path / "mapping.yaml"
    ledger.write_text(f"uscc,name\n{HEADLINE_USCC},某单位\n", encoding="utf-8")
    mapping.write_text(text, encoding="utf-8")
    result = await asyncio.to_thread(CliRunner().invoke, app, ["import", str(ledger), "--mapping", str(mapping)],
                                     env={"SAFEGRID_REGISTRY_DATABASE_URL": database_url,
                                          "SAFEGRID_LOG_LEVEL": "WARNING"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert path in result.output and "Traceback" not in result.output
