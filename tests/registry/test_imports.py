"""Bulk import: cell parsing and mappings (pure), then CSV and XLSX files through the API on
SQLite and PostgreSQL: good rows in, bad rows reported, re-runs idempotent."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook

from services.registry.imports.mapping import EXAMPLE_MAPPING, MappingError, parse_mapping
from services.registry.imports.readers import read_sheets
from services.registry.imports.rows import CellError, as_bool, as_date, as_list, parse_row
from tests.registry.support import (
    HEADLINE_USCC,
    LANSHAN,
    admin,
    count_enterprises,
    days,
    enterprise_user,
    error_fields,
    problem,
    published,
    register,
    regulator,
    types_of,
    uscc,
)

# --- cells, mappings, readers (no database) -----------------------------------------------------


@pytest.mark.parametrize(("cell", "expected"), [
    ("2026-03-01", date(2026, 3, 1)), ("2026/3/1", date(2026, 3, 1)), ("2026.03.01", date(2026, 3, 1)),
    ("2026年3月1日", date(2026, 3, 1)), ("20260301", date(2026, 3, 1)), (datetime(2026, 3, 1, 8, 0), date(2026, 3, 1)),
])
def test_dates_in_the_spellings_city_exports_use(cell: object, expected: date) -> None:
    assert as_date(cell) == expected


@pytest.mark.parametrize("cell", ["2026-02-30", "next week", "3/1/2026"])
def test_impossible_dates_are_cell_errors(cell: str) -> None:
    with pytest.raises(CellError):
        as_date(cell)


def test_yes_no_and_lists() -> None:
    assert [as_bool(v) for v in ("是", "否", "有", "无", "TRUE", "0", 1, True)] == [True, False, True, False, True,
                                                                                  False, True, True]
    with pytest.raises(CellError):
        as_bool("maybe")
    assert as_list("gas_filling；boiler、elevator, ropeway") == ["gas_filling", "boiler", "elevator", "ropeway"]


def test_a_row_parses_only_the_columns_present() -> None:
    values, errors = parse_row("enterprises", {"uscc": " 91371102ma3c5k0x1q ", "lat": "35.42", "address": "",
                                               "training": "", "emergency_plan": "否", "sandbox": "maybe"})
    assert values == {"uscc": "91371102MA3C5K0X1Q", "lat": 35.42, "address": None, "emergency_plan": False}
    assert errors == [("sandbox", "'maybe' is not yes/no (是/否, true/false, 1/0)")]
    values, _ = parse_row("equipment", {"uscc": HEADLINE_USCC, "category": 3000.0, "next_inspection_due": "2027/1/1"})
    assert values["category"] == "3000" and values["next_inspection_due"] == date(2027, 1, 1)


def test_the_example_mapping_loads_and_bad_mappings_are_refused() -> None:
    mapping = parse_mapping(EXAMPLE_MAPPING.read_text(encoding="utf-8"))
    enterprises = mapping.for_kind("enterprises")
    assert enterprises.field_of(" 统一社会信用代码 ") == "uscc" and enterprises.field_of("uscc") == "uscc"
    assert enterprises.field_of("备注") is None
    assert enterprises.translate("venue_type", "学校") == "school"
    assert mapping.kind_of_sheet("设备") == "equipment" and mapping.kind_of_sheet("operators") == "operators"
    assert mapping.kind_of_headers(["姓名", "证书编号", "有效期至"]) == "operators"
    for text, message in (("- a list", "must be a YAML mapping"), ("vehicles: {}", "unknown section"),
                          ("equipment: {columns: {设备: colour}}", "'colour' is not a field of equipment"),
                          ("[unclosed", "not YAML")):
        with pytest.raises(MappingError, match=message):
            parse_mapping(text)


WRONGLY_SHAPED_MAPPINGS = [  # (the YAML, the path the refusal names)
    ("enterprises: [1, 2]", "mapping.enterprises"),
    ("enterprises: {columns: [a]}", "mapping.enterprises.columns"),
    ("enterprises: {values: {name: [x]}}", "mapping.enterprises.values.name"),
    ("enterprises: {columns: {a: [x]}}", "mapping.enterprises.columns.a"),
    ("enterprises: {columns: {a: {b: c}}}", "mapping.enterprises.columns.a"),
    ("enterprises: {values: {venue_type: {学校: [school]}}}", "mapping.enterprises.values.venue_type.学校"),
    ("enterprises: {sheet: [使用单位]}", "mapping.enterprises.sheet"),
    ("enterprises: {colums: {a: name}}", "mapping.enterprises.colums"),
    ("equipment: {columns: {设备: colour}}", "mapping.equipment.columns.设备"),
    ("enterprises: {values: {colour: {a: b}}}", "mapping.enterprises.values.colour"),
    ("vehicles: {}", "mapping.vehicles"),
]


@pytest.mark.parametrize(("text", "path"), WRONGLY_SHAPED_MAPPINGS)
def test_a_wrongly_shaped_mapping_is_refused_naming_its_path(text: str, path: str) -> None:
    with pytest.raises(MappingError) as refused:
        parse_mapping(text)
    assert refused.value.field == path, refused.value


def test_scalar_headers_and_spellings_in_a_mapping_are_read_as_text() -> None:
    mapping = parse_mapping("enterprises: {columns: {2024: name}, values: {sandbox: {1: true}}}")
    assert mapping.for_kind("enterprises").field_of(2024) == "name"
    assert mapping.for_kind("enterprises").translate("sandbox", "1") is True


# The shapes the review found crashing, and one unknown section: refused before any database work.
SHAPES_THROUGH_THE_ENTRY_POINTS = WRONGLY_SHAPED_MAPPINGS[:4] + WRONGLY_SHAPED_MAPPINGS[-1:]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("text", "path"), SHAPES_THROUGH_THE_ENTRY_POINTS)
async def test_a_wrongly_shaped_mapping_part_is_a_422_naming_its_path(  # type: ignore[no-untyped-def]
        registry, text: str, path: str) -> None:
    response = await registry.client.post("/api/v1/imports", headers=admin(registry), files={
        "file": ("a.csv", to_csv(["uscc", "name"], [[HEADLINE_USCC, "某单位"]]), "text/csv"),
        "mapping": ("m.yaml", text.encode(), "application/yaml")})
    assert response.status_code == 422, response.text
    assert problem(response, 422)["errors"][0]["field"] == path, response.text
    assert await count_enterprises(registry) == 0


def test_csv_readers_accept_gb18030_and_semicolons() -> None:
    content = "统一社会信用代码;单位名称\r\n91371102MA3C5K0X1Q;东港区某街道液化气站\r\n\r\n".encode("gb18030")
    [sheet] = read_sheets(content, "csv")
    assert sheet.headers == ["统一社会信用代码", "单位名称"]
    assert list(sheet.rows) == [(2, ["91371102MA3C5K0X1Q", "东港区某街道液化气站"])]


# --- through the API ------------------------------------------------------------------------------

ENTERPRISE_HEADERS = ["uscc", "name", "jurisdiction_code", "lat", "lon", "venue_type", "kinds",
                      "general_credit_grade", "emergency_plan", "contact_name", "contact_phone"]


def enterprise_rows() -> list[list[str]]:
    return [
        [HEADLINE_USCC, "东港区某街道液化气站", "371102", "35.42", "119.52", "other", "gas_filling", "B", "是",
         "王经理", "13800000000"],
        [uscc(1), "日照市第一小学", "371102", "35.50", "119.20", "school", "elevator;boiler", "A", "否", "", ""],
        ["91371102MA3C5K0X1A", "校验位错误", "371102", "", "", "other", "", "", "", "", ""],
        [uscc(2), "坐标越界", "371102", "36.50", "119.52", "other", "", "", "", "", ""],
        [HEADLINE_USCC, "重复行", "371102", "", "", "other", "", "", "", "", ""],
        [uscc(3), "不明场所", "371102", "", "", "casino", "", "", "", "", ""],
        [uscc(4, LANSHAN), "岚山某机械厂", LANSHAN, "35.12", "119.30", "other", "lifting", "C", "", "", ""],
    ]


def to_csv(headers: list[str], rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headers)
    writer.writerows(rows)
    return buffer.getvalue().encode()


async def post_csv(registry, content: bytes, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return await registry.client.post("/api/v1/imports", content=content, params={"filename": "ledger.csv"},
                                      headers={**(headers or admin(registry)), "content-type": "text/csv"})


async def test_csv_rows_are_validated_reported_and_upserted(registry) -> None:  # type: ignore[no-untyped-def]
    content = to_csv(ENTERPRISE_HEADERS, enterprise_rows())
    response = await post_csv(registry, content)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["status"] == "completed" and result["kinds"] == ["enterprises"]
    assert {k: result["counts"][k] for k in ("rows", "inserted", "updated", "unchanged", "rejected")} == {
        "rows": 7, "inserted": 3, "updated": 0, "unchanged": 0, "rejected": 4}
    assert [(e["row"], e["field"]) for e in result["errors"]] == [
        (4, "uscc"), (5, "location"), (6, "uscc"), (7, "venue_type")]
    assert "repeats row 2" in result["errors"][2]["message"]

    report = await registry.client.get(result["report_url"], headers=admin(registry))
    assert report.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(report.text)))
    assert lines[0] == ["sheet", "row", "field", "message"] and [line[1] for line in lines[1:]] == ["4", "5", "6", "7"]
    assert problem(await registry.client.get(result["report_url"], headers=regulator(registry)), 403)

    school = (await registry.client.get(f"/api/v1/enterprises/{uscc(1)}", headers=admin(registry))).json()
    assert school["kinds"] == ["boiler", "elevator"] and school["key_supervision"] is True
    assert school["grid_code"].startswith("371102004") and school["management"]["emergency_plan"]["in_place"] is False
    headline = (await registry.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}", headers=admin(registry))).json()
    assert headline["contacts"] == [{"name": "王经理", "role": None, "phone": "13800000000"}]
    assert len(await published(registry, "enterprise.registered")) == 3

    again = (await post_csv(registry, content)).json()
    assert {k: again["counts"][k] for k in ("inserted", "updated", "unchanged", "rejected", "events")} == {
        "inserted": 0, "updated": 0, "unchanged": 3, "rejected": 4, "events": 0}
    assert len(await published(registry)) == 3

    rows = enterprise_rows()
    rows[1][1] = "日照市第一实验小学"
    rows[1][8] = "是"
    changed = (await post_csv(registry, to_csv(ENTERPRISE_HEADERS, rows))).json()
    assert changed["counts"]["updated"] == 1 and changed["counts"]["unchanged"] == 2
    assert types_of(await published(registry, subject=uscc(1))) == [
        "enterprise.registered", "enterprise.updated", "enterprise.management_facts_changed"]
    renamed = (await registry.client.get(f"/api/v1/enterprises/{uscc(1)}", headers=admin(registry))).json()
    assert renamed["name"] == "日照市第一实验小学" and renamed["revision"] == 3
    assert renamed["management"]["emergency_plan"]["in_place"] is True


def legacy_workbook(bad_equipment_category: str = "压力容器X") -> bytes:
    """A legacy city export: Chinese headers, Chinese spellings, Excel dates and numbers."""
    book = Workbook()
    units = book.active
    units.title = "使用单位"
    units.append(["统一社会信用代码", "单位名称", "所属辖区代码", "纬度", "经度", "场所类型", "单位类别", "应急预案",
                  "备注"])
    units.append([HEADLINE_USCC, "东港区某街道液化气站", 371102, 35.42, 119.52, "其他", "气瓶充装", "是", "示例"])
    units.append([uscc(1), "日照市第一小学", 371102, None, None, "学校", "电梯使用、锅炉使用", "否", None])
    equipment = book.create_sheet("设备")
    equipment.append(["使用单位信用代码", "设备类别代码", "使用登记证编号", "设备代码", "设备状态", "下次检验日期"])
    equipment.append([HEADLINE_USCC, "气瓶", "容3LC鲁L00123(23)", None, "在用", datetime(2027, 3, 1)])
    equipment.append([uscc(1), "电梯", None, "EQ-0001", "在用", "2027/6/30"])
    equipment.append([uscc(1), bad_equipment_category, "梯-9", None, "在用", "2027-01-01"])
    equipment.append([uscc(9), "电梯", "梯-10", None, "在用", "2027-01-01"])
    operators = book.create_sheet("作业人员")
    operators.append(["使用单位信用代码", "姓名", "身份证号", "证书编号", "作业项目代号", "有效期至"])
    operators.append([HEADLINE_USCC, "李强", "11010519491231002X", "TSP-1", "P", date(2028, 12, 31)])
    operators.append([HEADLINE_USCC, "王芳", "110105194912310021", "TSP-2", "P", "2028-12-31"])
    operators.append([uscc(1), "赵磊", None, None, "A", "2028-12-31"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


async def post_workbook(registry, content: bytes):  # type: ignore[no-untyped-def]
    files = {"file": ("台账.xlsx", content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
             "mapping": ("mapping.yaml", EXAMPLE_MAPPING.read_bytes(), "application/yaml")}
    return await registry.client.post("/api/v1/imports", files=files, headers=admin(registry))


async def test_an_xlsx_in_chinese_headers_loads_through_the_mapping(registry) -> None:  # type: ignore[no-untyped-def]
    response = await post_workbook(registry, legacy_workbook())
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["filename"] == "台账.xlsx" and result["kinds"] == ["enterprises", "equipment", "operators"]
    by_kind = {kind: (c["inserted"], c["rejected"]) for kind, c in result["counts_by_kind"].items()}
    assert by_kind == {"enterprises": (2, 0), "equipment": (2, 2), "operators": (1, 2)}
    assert [(e["sheet"], e["row"], e["field"]) for e in result["errors"]] == [
        ("设备", 4, "category"), ("设备", 5, "uscc"), ("作业人员", 3, "id_number"), ("作业人员", 4, "certificate_no")]

    school = (await registry.client.get(f"/api/v1/enterprises/{uscc(1)}", headers=admin(registry))).json()
    assert school["venue_type"] == "school" and school["kinds"] == ["boiler", "elevator"]
    equipment = (await registry.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}/equipment",
                                           headers=admin(registry))).json()["items"]
    assert [(e["category"], e["registration_no"], e["next_inspection_due"]) for e in equipment] == [
        ("2300", "容3LC鲁L00123(23)", "2027-03-01")]
    operators = (await registry.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}/operators",
                                           headers=admin(registry))).json()["items"]
    assert [(o["name"], o["has_id_number"]) for o in operators] == [("李强", True)]
    events = len(await published(registry))
    assert events == 5

    again = (await post_workbook(registry, legacy_workbook())).json()
    assert again["counts"]["inserted"] == 0 and again["counts"]["unchanged"] == 5 and again["counts"]["events"] == 0
    assert len(await published(registry)) == events
    fixed = (await post_workbook(registry, legacy_workbook(bad_equipment_category="电梯"))).json()
    assert fixed["counts_by_kind"]["equipment"]["inserted"] == 1


async def test_imports_are_for_supervisors_within_their_scope(registry) -> None:  # type: ignore[no-untyped-def]
    content = to_csv(ENTERPRISE_HEADERS, enterprise_rows()[:2])
    assert problem(await post_csv(registry, content, enterprise_user(registry, HEADLINE_USCC)), 403)
    assert problem(await post_csv(registry, content, registry.auth("integrator", scopes=["registry:read"])), 403)
    outsider = (await post_csv(registry, content, regulator(registry, LANSHAN))).json()
    assert outsider["counts"]["rejected"] == 2 and {e["field"] for e in outsider["errors"]} == {"jurisdiction_code"}
    assert await count_enterprises(registry) == 0

    client, headers = registry.client, admin(registry)
    wrong_type = await client.post("/api/v1/imports", content=b"GIF89a", headers={**headers,
                                                                                 "content-type": "image/gif"})
    assert problem(wrong_type, 415)
    assert error_fields(await client.post("/api/v1/imports", content=b"", headers={
        **headers, "content-type": "text/csv"})) == ["file"]
    bad_mapping = await client.post("/api/v1/imports", headers=headers, files={
        "file": ("a.csv", content, "text/csv"), "mapping": ("m.yaml", b"vehicles: {}", "application/yaml")})
    assert error_fields(bad_mapping) == ["mapping.vehicles"]
    no_key = await post_csv(registry, to_csv(["name", "jurisdiction_code", "venue_type"], [["x", "371102", "other"]]))
    assert [(e["row"], e["field"]) for e in no_key.json()["errors"]] == [(1, "uscc")]
    equipment = await client.post("/api/v1/imports", params={"kind": "equipment"}, headers={
        **headers, "content-type": "text/csv"}, content=to_csv(["uscc", "category", "registration_no",
                                                                "last_inspection_date", "next_inspection_due"],
                                                               [[uscc(1), "3000", "梯-1", days(5), days(300)]]))
    assert [e["field"] for e in equipment.json()["errors"]] == ["uscc"]  # the enterprise does not exist yet


async def test_a_declaration_behind_a_newer_patrol_finding_is_stored_once(registry) -> None:  # type: ignore[no-untyped-def]
    headers = ["uscc", "name", "jurisdiction_code", "emergency_plan"]
    await post_csv(registry, to_csv(headers, [[HEADLINE_USCC, "液化气站", "371102", "否"]]))
    soon = (datetime.now(UTC) + timedelta(minutes=4)).isoformat()  # within the allowed clock skew
    observed = await registry.client.post(f"/api/v1/enterprises/{HEADLINE_USCC}/management/observations",
                                          json={"facts": {"emergency_plan": True}, "observed_at": soon},
                                          headers=admin(registry))
    assert observed.status_code == 201
    events = len(await published(registry))
    declared = (await post_csv(registry, to_csv(headers, [[HEADLINE_USCC, "液化气站", "371102", "是"]]))).json()
    assert declared["counts"]["updated"] == 1 and declared["counts"]["events"] == 0  # the finding still stands
    again = (await post_csv(registry, to_csv(headers, [[HEADLINE_USCC, "液化气站", "371102", "是"]]))).json()
    assert again["counts"]["unchanged"] == 1 and len(await published(registry)) == events
    history = (await registry.client.get(f"/api/v1/enterprises/{HEADLINE_USCC}/management",
                                         headers=admin(registry))).json()["history"]
    assert [(h["source"], h["facts"]) for h in history] == [
        ("observed", {"emergency_plan": True}), ("declared", {"emergency_plan": True}),
        ("declared", {"emergency_plan": False})]


@pytest.mark.parametrize(("bad_cell", "says"), [
    ("x" * 131_073, "longer than"),  # over the csv module's field limit
    ("a\x00b", "NUL"),
], ids=["field-over-the-csv-limit", "nul-byte"])
async def test_a_csv_the_reader_cannot_parse_is_a_422_naming_the_row_and_imports_nothing(
        registry, bad_cell, says) -> None:  # type: ignore[no-untyped-def]
    rows = enterprise_rows()[:3]
    rows[1][1] = bad_cell  # the second data row: row 3 of the file
    response = await post_csv(registry, to_csv(ENTERPRISE_HEADERS, rows))
    assert error_fields(response) == ["file"], response.text
    detail = response.json()["detail"]
    assert says in detail and "row 3" in detail, detail
    assert await count_enterprises(registry) == 0


async def test_a_csv_whose_header_the_reader_cannot_parse_is_a_422(registry) -> None:  # type: ignore[no-untyped-def]
    response = await post_csv(registry, to_csv(["uscc", "x" * 131_073], [["1", "2"]]))
    assert error_fields(response) == ["file"], response.text
    assert "row 1" in response.json()["detail"]


@pytest.mark.parametrize("content", [b"{}", b"\xe5\x90\x8d\xe5\xad\x97,\xe5\x9c\xb0\xe5\x9d\x80\n1,2\n"],
                         ids=["not-a-table", "headers-of-no-field"])
@pytest.mark.parametrize("kind", [None, "enterprises"])
async def test_a_file_whose_header_names_no_known_column_is_a_422_and_records_no_run(
        registry, content, kind) -> None:  # type: ignore[no-untyped-def]
    response = await registry.client.post("/api/v1/imports", content=content,
                                          params={"filename": "ledger.csv", **({"kind": kind} if kind else {})},
                                          headers={**admin(registry), "content-type": "text/csv"})
    assert error_fields(response) == ["file"], response.text
    assert "names a column" in response.json()["detail"]
    assert await count_enterprises(registry) == 0


async def test_a_mapping_part_that_is_not_utf8_is_a_422_naming_the_mapping(registry) -> None:  # type: ignore[no-untyped-def]
    files = {"file": ("ledger.csv", to_csv(ENTERPRISE_HEADERS, enterprise_rows()[:2]), "text/csv"),
             "mapping": ("mapping.yaml", b"\x89PNG\r\n\x1a\n", "application/yaml")}
    response = await registry.client.post("/api/v1/imports", files=files, headers=admin(registry))
    assert error_fields(response) == ["mapping"], response.text
    assert await count_enterprises(registry) == 0


async def test_a_multipart_body_without_a_file_part_is_a_422_naming_the_file(registry) -> None:  # type: ignore[no-untyped-def]
    response = await registry.client.post("/api/v1/imports", files={"kind": (None, b"enterprises")},
                                          headers=admin(registry))
    assert error_fields(response) == ["file"], response.text


async def test_an_operator_moved_by_import_leaves_the_old_enterprise_first(registry) -> None:  # type: ignore[no-untyped-def]
    """The certificate number matches an operator of another enterprise: operator.removed on the
    old owner's key (moved_to, the move's new revision), then the snapshot under the new owner
    with that same revision; an unchanged re-run publishes nothing."""
    old_owner, new_owner = HEADLINE_USCC, uscc(7)
    await register(registry)
    await register(registry, uscc=new_owner, name="岚山区某机械厂", kinds=[], location=None)
    created = await registry.client.post(f"/api/v1/enterprises/{old_owner}/operators", headers=admin(registry),
                                         json={"name": "王强", "certificate_no": "鲁LQ20000001",
                                               "certificate_category": "Q2", "certificate_valid_until": days(400)})
    operator = created.json()
    before = len(await published(registry))
    moved = await post_csv(registry, to_csv(["uscc", "name", "certificate_no"], [[new_owner, "王强", "鲁LQ20000001"]]))
    assert moved.json()["counts"]["updated"] == 1, moved.text
    events = (await published(registry))[before:]
    assert [(types_of([e])[0], e.key) for e in events] == [("operator.removed", old_owner),
                                                          ("operator.updated", new_owner)]
    removed, snapshot = events[0].data, events[1].data
    assert removed == {"uscc": old_owner, "item_id": operator["id"], "revision": 2, "reason": "moved",
                       "moved_to": new_owner, "cylinder_no": None}
    assert (snapshot["uscc"], snapshot["operator_id"], snapshot["revision"]) == (new_owner, operator["id"], 2)
    now = (await registry.client.get(f"/api/v1/operators/{operator['id']}", headers=admin(registry))).json()
    assert (now["uscc"], now["revision"]) == (new_owner, 2)
    again = await post_csv(registry, to_csv(["uscc", "name", "certificate_no"], [[new_owner, "王强", "鲁LQ20000001"]]))
    assert again.json()["counts"]["unchanged"] == 1 and len(await published(registry)) == before + 2
