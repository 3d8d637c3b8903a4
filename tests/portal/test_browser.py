"""The public pages in a real browser: Debian's headless chromium driven by Playwright, on a
phone-sized viewport with JavaScript off (the pages must work without it). The portal and a real
registry run in this process; uvicorn serves the started portal on a free port for the browser.
Screenshots are kept under ``SAFEGRID_TEST_ARTIFACTS`` (default ``var/test-artifacts``).

Skipped, saying why, when chromium is absent, unless ``SAFEGRID_TEST_BROWSER_REQUIRED=1``
(``.ci/run`` sets it and installs chromium), where its absence fails the run."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from shared.contracts import enforcement, scoring
from shared.contracts.portal import REPORT_SUBMITTED
from tests.portal.support import UNIT, alert_raised, score
from tests.portal.test_map import UNITS as MAP_UNITS
from tests.portal.test_map import city as map_city
from tests.portal.test_public import registered

CHROMIUM = os.environ.get("SAFEGRID_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("SAFEGRID_TEST_BROWSER_REQUIRED") == "1"
ARTIFACTS = Path(os.environ.get("SAFEGRID_TEST_ARTIFACTS", "var/test-artifacts")) / "portal"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True,
         "locale": "zh-CN", "java_script_enabled": False}


@pytest.fixture(scope="module")
def chromium_path() -> str:
    if shutil.which(CHROMIUM) or Path(CHROMIUM).exists():
        return CHROMIUM
    reason = f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
    if REQUIRED:
        pytest.fail(f"the browser tests are required here (SAFEGRID_TEST_BROWSER_REQUIRED=1): {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def served(public) -> AsyncIterator[str]:  # type: ignore[no-untyped-def]
    """The already started portal app over real HTTP (its lifespan stays the test's)."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(public.svc.app, host="127.0.0.1", port=port, lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def phone(chromium_path: str) -> AsyncIterator[object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        context = await browser.new_context(**PHONE)
        try:
            yield await context.new_page()
        finally:
            await context.close()
            await browser.close()


async def _shot(page, name: str, *, full_page: bool = True) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page, timeout=10_000)


async def test_the_qr_page_reads_well_on_a_phone_without_javascript(public, registry, served, phone):
    tokens = await registered(public, registry)
    await public.deliver(scoring.SCORE_UPDATED, score("B"))
    response = await phone.goto(f"{served}/q/{tokens['unit']}")
    assert response.status == 200
    assert await phone.locator("h1").inner_text() == "东港区某街道液化气站"
    assert await phone.locator(".badge.g-B").inner_text() == "B"
    assert "一般风险" in await phone.locator("#grade-h + .grade").inner_text()
    assert await phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    await _shot(phone, "qr-unit-phone")
    await phone.goto(f"{served}/q/{tokens['lift']}")
    assert await phone.locator("a.phone").get_attribute("href") == "tel:96333"
    await _shot(phone, "qr-lift-phone")
    missing = await phone.goto(f"{served}/q/{'n' * 32}")
    assert missing.status == 404 and "未找到该二维码信息" in await phone.locator("h1").inner_text()


async def test_a_rating_and_a_report_round_trip_through_the_forms(public, registry, served, phone):
    tokens = await registered(public, registry, lift=False)
    await phone.goto(f"{served}/q/{tokens['unit']}")
    await phone.locator("input[name=stars][value='4']").check()
    await phone.locator("#comment").fill("充装规范，工作人员持证上岗")
    await phone.locator("#rate button[type=submit]").click()
    assert "感谢您的评价" in await phone.locator("#rate .notice").inner_text()
    regulator = public.auth("regulator", jurisdiction="371102")
    [pending] = (await public.client.get("/api/v1/ratings", params={"status": "pending"}, headers=regulator)).json()[
        "items"]
    assert (await public.client.post(f"/api/v1/ratings/{pending['id']}/approve", headers=regulator)).status_code == 200
    await phone.reload()
    assert "充装规范" in await phone.locator("#rating-h + p + p").inner_text()

    await phone.locator("#category").select_option("gas_leak")
    await phone.locator("#description").fill("站外闻到液化气味")
    await phone.locator("#report button[type=submit]").click()
    assert await phone.locator("h1").inner_text() == "已受理"
    await _shot(phone, "report-received-phone")
    [event] = await public.outbox(REPORT_SUBMITTED.type)
    assert event["key"] == UNIT
    await public.deliver(enforcement.ALERT_RAISED, alert_raised("AL-B", event["attributes"]["id"]))
    await phone.reload()
    assert await phone.locator("h1").inner_text() == "处理中"


async def test_the_map_draws_each_unit_in_its_grade_colour_and_filters(public, served, phone):
    await map_city(public)
    await phone.set_extra_http_headers(public.auth("regulator", jurisdiction="371100"))
    await phone.set_viewport_size({"width": 820, "height": 900})
    await phone.goto(f"{served}/api/v1/map.svg?cluster_px=0&width=800")
    fills = await phone.locator("circle[data-uscc]").evaluate_all("cs => cs.map(c => c.getAttribute('fill'))")
    assert sorted(fills) == ["#0b5cad", "#1a7f37", "#cf222e"]
    # Each unit's point lies in its own district's outline, and in no other, as the browser fills them.
    held = await phone.evaluate("""() => [...document.querySelectorAll('circle[data-uscc]')].map(c => [
        c.dataset.uscc, [...document.querySelectorAll('path.outline')].filter(o => o.isPointInFill(
            new DOMPoint(+c.getAttribute('cx'), +c.getAttribute('cy')))).map(o => o.dataset.code)])""")
    assert {uscc: codes for uscc, codes in held} == {uscc: [unit[0]] for uscc, unit in MAP_UNITS.items() if unit[2]}
    assert await phone.locator("text.outline-name").all_text_contents() == ["东港区", "岚山区"]
    await _shot(phone, "risk-map", full_page=False)  # an SVG document has no page to scroll
    await phone.goto(f"{served}/api/v1/map.svg?cluster_px=0&grade=D")
    assert await phone.locator("circle[data-uscc]").count() == 1
    await phone.goto(f"{served}/api/v1/map.svg")  # zoomed out: the two close units merge, showing the D
    assert await phone.locator("g.cluster.grade-D").count() == 1


async def test_labels_render_their_chinese_text_in_print_sizes(public, registry, phone):
    tokens = await registered(public, registry)
    regulator = public.auth("regulator", jurisdiction="371102")
    for kind, size in (("unit", "a6"), ("lift", "sticker")):
        svg = (await public.client.get(f"/api/v1/labels/{tokens[kind]}.svg", params={"size": size},
                                       headers=regulator)).text
        await phone.set_content(f"<!doctype html><body style='margin:0'>{svg}</body>")
        title = phone.locator("svg text").first
        box = await title.bounding_box()
        assert box and box["width"] > 20  # the title's glyphs were laid out (a missing font draws none)
        await _shot(phone, f"label-{kind}-{size}")


AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


@pytest.fixture
def axe_script() -> Path:
    if AXE.exists():
        return AXE
    reason = f"axe-core is not installed ({AXE}: make install runs npm ci)"
    if REQUIRED:
        pytest.fail(f"the browser tests are required here (SAFEGRID_TEST_BROWSER_REQUIRED=1): {reason}")
    pytest.skip(reason)


async def test_the_public_pages_have_no_serious_accessibility_violations(public, registry, served, chromium_path,
                                                                         axe_script):
    """axe-core (its WCAG 2.x A and AA rules) on each public page: no serious or critical finding."""
    from playwright.async_api import async_playwright

    tokens = await registered(public, registry)
    await public.deliver(scoring.SCORE_UPDATED, score("C"))
    receipt = (await public.client.post(f"/api/v1/public/qr/{tokens['unit']}/reports",
                                        json={"category": "other", "description": "护栏松动"})).json()["receipt"]
    pages = {"unit": f"/q/{tokens['unit']}", "lift": f"/q/{tokens['lift']}", "report": f"/r/{receipt}",
             "missing": f"/q/{'m' * 32}"}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
        context = await browser.new_context(**{**PHONE, "java_script_enabled": True})  # axe itself is a script
        page = await context.new_page()
        found = {}
        try:
            for name, path in pages.items():
                await page.goto(served + path)
                await page.add_script_tag(path=str(axe_script))
                result = await page.evaluate(
                    "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']})")
                found[name] = [(v["id"], v["impact"], len(v["nodes"])) for v in result["violations"]
                               if v["impact"] in ("serious", "critical")]
        finally:
            await context.close()
            await browser.close()
    assert found == {name: [] for name in pages}
