"""The portal's pure rules: what the public sees of a grade under each policy, inspection
validity, the sliding-window limits and their Retry-After, a report's status from its alert,
and GeoReport v2's XML form."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from xml.etree import ElementTree

import pytest

from services.portal.domain.grades import HIDDEN, MEANINGS, NOT_GRADED, inspection_valid, public_grade
from services.portal.domain.limits import SlidingWindow
from services.portal.domain.open311 import to_xml
from services.portal.domain.reports import status_from_alert

DAY = date(2026, 6, 15)


@pytest.mark.parametrize(("grade", "display", "letter", "label", "dated"), [
    ("A", "grade", "A", "低风险", True), ("D", "grade", "D", "高风险", True),
    ("C", "label", None, "较高风险", True), ("B", "hidden", None, HIDDEN[0], False),
    (None, "grade", None, NOT_GRADED[0], False), (None, "label", None, NOT_GRADED[0], False),
])
def test_the_policy_decides_what_of_the_grade_the_public_sees(grade, display, letter, label, dated):
    shown = public_grade(grade, DAY, display)
    assert (shown.grade, shown.label, shown.grade_date is not None) == (letter, label, dated)
    assert shown.meaning


def test_every_grade_has_a_plain_meaning():
    assert set(MEANINGS) == {"A", "B", "C", "D"} and all(label and meaning for label, meaning in MEANINGS.values())


@pytest.mark.parametrize(("status", "due", "valid"), [
    ("in_use", DAY, True), ("in_use", DAY + timedelta(days=1), True), ("in_use", DAY - timedelta(days=1), False),
    ("in_use", None, False), ("suspended", DAY + timedelta(days=9), False),
])
def test_inspection_validity(status, due, valid):
    assert inspection_valid(status, due, DAY) is valid


def test_a_sliding_window_refuses_past_its_limit_and_says_how_long_to_wait():
    window = SlidingWindow(limit=2, window_s=60)
    assert window.hit("a", 0) is None and window.hit("a", 10) is None
    assert window.hit("a", 20) == 40  # the first hit leaves the window at 60
    assert window.hit("b", 20) is None  # per client
    assert window.retry_after("a", 59.5) == 1  # never 0: Retry-After of at least a second
    assert window.hit("a", 60) is None and window.hit("a", 61) == 9


def test_a_sliding_window_forgets_the_stalest_clients_first():
    window = SlidingWindow(limit=1, window_s=60, max_clients=2)
    window.hit("a", 0), window.hit("b", 0), window.hit("c", 0)
    assert window.retry_after("a", 1) is None and window.retry_after("c", 1) == 59


@pytest.mark.parametrize(("alert", "report"), [
    ("raised", "in_progress"), ("dispatched", "in_progress"), ("acknowledged", "in_progress"),
    ("escalated", "in_progress"), ("resolved", "resolved"),
])
def test_a_report_follows_its_alert(alert, report):
    assert status_from_alert(alert) == report


def test_georeport_xml_names_each_list_item_as_the_specification_does():
    moment = datetime(2026, 6, 15, 10, 0)
    document = ElementTree.fromstring(to_xml("service_requests", [
        {"service_request_id": "1", "lat": None, "metadata": False, "requested_datetime": moment}]))
    assert document.tag == "service_requests"
    request = document.find("request")
    assert (request.find("service_request_id").text, request.find("lat").text, request.find("metadata").text,
            request.find("requested_datetime").text) == ("1", None, "false", moment.isoformat())
    definition = ElementTree.fromstring(to_xml("service_definition", {"attributes": [{"values": [{"key": "k"}]}]}))
    assert definition.find("attributes/attribute/values/value/key").text == "k"


def test_points_cluster_by_cell_and_show_their_riskiest_grade():
    from services.portal.domain.mapping import Point, cluster, frame_around

    points = [Point("a", 35.40, 119.50, "A"), Point("b", 35.4001, 119.5001, "D"), Point("c", 35.60, 119.70, None)]
    frame = frame_around(points, 400)
    assert frame.holds(35.5, 119.6) and not frame.holds(36.0, 119.6)
    grouped = sorted(cluster(points, frame, 24), key=lambda c: len(c.points))
    assert [(len(c.points), c.worst) for c in grouped] == [(1, None), (2, "D")]
    assert grouped[1].counts() == {"A": 1, "D": 1}
    assert len(cluster(points, frame, 0)) == 3  # no clustering
    x, y = frame.xy(35.60, 119.70)
    assert 0 < x <= 400 and 0 <= y < frame.height


def test_a_frame_draws_a_ring_in_pixels_and_knows_what_reaches_into_view():
    from services.portal.domain.mapping import Frame

    frame = Frame(119.0, 35.0, 120.0, 36.0, 400)
    foot = f"{frame.height}.0"
    assert frame.path([(119.0, 36.0), (120.0, 35.0), (119.0, 35.0)]) == f"M0.0 0.0L400.0 {foot}L0.0 {foot}Z"
    assert frame.path([]) == "" and frame.span_m == pytest.approx(111_320 * math.cos(math.radians(35.5)))
    assert frame.overlaps([(118.5, 35.5), (119.1, 35.6)]) and not frame.overlaps([(120.1, 35.5), (121.0, 35.6)])
    assert not frame.overlaps([])


@pytest.mark.parametrize("size", ["a6", "sticker"])
def test_a_label_fits_its_text_between_the_code_and_its_foot(size):
    from services.portal.domain.labels import SIZES_MM, layout, place, wrap

    box = layout(size)
    names = wrap("东港区某街道液化气站东港区某街道液化气站", 9, 2) + ["曳引驱动乘客电梯", "梯11鲁L00001(20)"]
    lines = place(box, names, wrap("扫码查看该单位信用风险等级与设备检验状态", 13, 2), "96333")
    ys = [line.y for line in lines]
    assert ys == sorted(ys) and ys[0] > box.code_y + box.code_size and ys[-1] <= SIZES_MM[size][1] - box.margin
    assert lines[-1].text == "电梯困人请拨 96333" and lines[-2].y < lines[-1].y - lines[-1].size
    assert wrap("一二三四五", 2, 2) == ["一二", "三…"]


@pytest.mark.parametrize("size", ["a6", "sticker"])
def test_a_composed_label_merges_each_rows_modules_inside_the_quiet_zone(size):
    from services.portal.domain.labels import QUIET_MODULES, compose, module_runs, modules_path

    matrix = [[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]]
    assert module_runs(matrix) == [(0, 0, 2), (0, 3, 1), (2, 0, 1), (2, 2, 2), (3, 0, 4)]
    label = compose(size, "一企一码", "某单位", ["某单位"], ["扫码查看"], None, matrix)
    box, module = label.box, label.box.code_size / (4 + 2 * QUIET_MODULES)
    quiet = QUIET_MODULES * module
    assert len(label.modules) == 5 and all(h == module for _, _, _, h in label.modules)
    assert min(x for x, _, _, _ in label.modules) == box.code_x + quiet
    assert max(x + w for x, _, w, _ in label.modules) == pytest.approx(box.code_x + box.code_size - quiet)
    assert max(y + h for _, y, _, h in label.modules) == pytest.approx(box.code_y + box.code_size - quiet)
    assert modules_path(label).count("z") == 5 and [line.role for line in label.lines] == ["name", "note"]


def test_the_page_cache_ages_out_drops_a_units_entries_and_stays_bounded():
    from services.portal.domain.cache import TtlCache

    cache = TtlCache(ttl_s=30, max_items=2)
    cache.put("t1", "U1", "page 1", now=0)
    cache.put("t2", "U2", "page 2", now=0)
    assert cache.get("t1", now=29) == "page 1" and cache.get("t1", now=30) is None
    cache.put("t3", "U2", "page 3", now=1)
    cache.put("t4", "U1", "page 4", now=1)  # over two: the oldest (t2) goes
    assert cache.get("t2", now=2) is None and cache.get("t4", now=2) == "page 4"
    cache.drop_tag("U2")
    assert cache.get("t3", now=2) is None and cache.get("t4", now=2) == "page 4"
    off = TtlCache(ttl_s=0)
    off.put("t", "U", "page", now=0)
    assert off.get("t", now=0) is None
