"""The public pages a scan opens, against a real registry in process: 一企一码 shows the unit, its
grade as the policy allows with its meaning, equipment by category with inspection validity; 风险防控码
shows one piece with 96333 for lifts; never personal data; unknown and revoked tokens get the same
friendly 404, probing gets 429 with Retry-After, and a code seen before survives registry being down."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from services.portal.models import EnterpriseRow, QrTokenRow
from services.portal.projection.service import record_score
from services.portal.qr.schemas import PublicView
from shared.context import unit_of_work
from shared.contracts import scoring
from tests.portal.support import DONGGANG, LIFT, TODAY, UNIT, score

ENTERPRISE = {
    "uscc": UNIT, "name": "东港区某街道液化气站", "jurisdiction_code": DONGGANG, "address": "东港区某街道1号",
    "location": {"lat": 35.42, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
    "contacts": [{"name": "王秘密", "role": "安全总监", "phone": "13800000000"}]}


async def registered(public, registry, *, lift: bool = True) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The unit (and a lift) in registry, its events forwarded to the portal; the tokens."""
    admin = registry.auth("admin")
    assert (await registry.client.post("/api/v1/enterprises", json=ENTERPRISE, headers=admin)).status_code == 201
    tokens = {"unit": (await registry.client.get(f"/api/v1/enterprises/{UNIT}/qr", headers=admin)).json()["token"]}
    pieces = [("2300", "容3LC鲁L00123(23)", TODAY + timedelta(days=90)), ("2300", None, TODAY - timedelta(days=1))]
    if lift:
        pieces.append((LIFT, "梯11鲁L00001(20)", TODAY + timedelta(days=30)))
    for category, number, due in pieces:
        response = await registry.client.post(f"/api/v1/enterprises/{UNIT}/equipment", headers=admin, json={
            "category": category, "registration_no": number, "next_inspection_due": due.isoformat(),
            "last_maintenance_date": (TODAY - timedelta(days=3)).isoformat()})
        assert response.status_code == 201, response.text
        if category == LIFT:
            tokens["lift"] = (await registry.client.get(f"/api/v1/equipment/{response.json()['id']}/qr",
                                                        headers=admin)).json()["token"]
    assert set(await public.forward(registry)) == {"applied", "ignored"}  # ignored: events the portal skips
    return tokens


async def test_the_unit_page_shows_grade_meaning_equipment_and_no_personal_data(public, registry):
    tokens = await registered(public, registry)
    await public.deliver(scoring.SCORE_UPDATED, score("C"))
    page = await public.client.get(f"/q/{tokens['unit']}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for shown in ("东港区某街道液化气站", "较高风险", "评定日期：2026-06-15", "1 / 2", "我要评价", "我要反映问题"):
        assert shown in html, shown
    for secret in ("王秘密", "13800000000", "<script", UNIT):
        assert secret not in html, secret
    body = (await public.client.get(f"/api/v1/public/qr/{tokens['unit']}")).json()
    assert body["grade"] == {"display": "grade", "grade": "C", "label": "较高风险", "grade_date": "2026-06-15",
                             "meaning": body["grade"]["meaning"]}
    assert {c["category"]: (c["count"], c["inspection_valid"]) for c in body["equipment_by_category"]} == {
        "2300": (2, 1), LIFT: (1, 1)}
    assert body["rating"] == {"average": None, "count": 0} and "王秘密" not in str(body)


async def test_the_lift_page_shows_its_inspection_and_96333(public, registry):
    tokens = await registered(public, registry)
    body = (await public.client.get(f"/api/v1/public/qr/{tokens['lift']}")).json()
    assert body["kind"] == "equipment" and body["emergency_phone"] == "96333"
    assert body["equipment"]["registration_no"] == "梯11鲁L00001(20)" and body["equipment"]["inspection_valid"]
    assert body["equipment"]["last_maintenance_date"] == (TODAY - timedelta(days=3)).isoformat()
    assert body["grade"]["label"] == "暂未评级"  # no score yet: said plainly
    html = (await public.client.get(f"/q/{tokens['lift']}")).text
    assert 'href="tel:96333"' in html and "风险防控码" in html


@pytest.mark.parametrize(("display", "letter", "label"), [("label", None, "较高风险"), ("hidden", None, "不公开")])
async def test_the_policy_decides_what_of_the_grade_is_public(public, registry, display, letter, label):
    tokens = await registered(public, registry, lift=False)
    await public.deliver(scoring.SCORE_UPDATED, score("C"))
    public.svc.runtime.settings.public_grade_display = display
    grade = (await public.client.get(f"/api/v1/public/qr/{tokens['unit']}")).json()["grade"]
    assert (grade["grade"], grade["label"]) == (letter, label)
    assert "badge g-C" not in (await public.client.get(f"/q/{tokens['unit']}")).text


async def test_revoked_and_unknown_tokens_get_the_same_friendly_404(public, registry):
    tokens = await registered(public, registry, lift=False)
    assert (await public.client.get(f"/q/{tokens['unit']}")).status_code == 200
    revoke = await registry.client.delete(f"/api/v1/enterprises/{UNIT}/qr", headers=registry.auth("admin"))
    assert revoke.status_code == 204
    assert (await public.client.get(f"/q/{tokens['unit']}")).status_code == 200  # trusted for qr_recheck_s
    public.clock.advance(seconds=public.svc.runtime.settings.qr_recheck_s + 1)
    for token in (tokens["unit"], "x" * 32, "not a token!"):
        page = await public.client.get(f"/q/{token}")
        assert page.status_code == 404 and "未找到该二维码信息" in page.text, token
    problem = await public.client.get(f"/api/v1/public/qr/{tokens['unit']}")
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"


async def test_probing_tokens_is_throttled_with_retry_after(public, registry):
    tokens = await registered(public, registry, lift=False)
    limit = public.svc.runtime.settings.probe_misses_per_window
    for n in range(limit):
        assert (await public.client.get(f"/api/v1/public/qr/{'p' * 30}{n:02d}")).status_code == 404
    refused = await public.client.get(f"/api/v1/public/qr/{tokens['unit']}")  # even a good one, from here
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    page = await public.client.get(f"/q/{tokens['unit']}")
    assert page.status_code == 429 and "访问过于频繁" in page.text and page.headers["retry-after"]
    public.clock.advance(seconds=public.svc.runtime.settings.probe_window_s)
    assert (await public.client.get(f"/api/v1/public/qr/{tokens['unit']}")).status_code == 200


async def test_a_code_seen_before_resolves_while_registry_is_down(public, registry):
    tokens = await registered(public, registry, lift=False)
    assert (await public.client.get(f"/q/{tokens['unit']}")).status_code == 200
    public.svc.runtime.resources.registry_transport = httpx.MockTransport(lambda r: httpx.Response(503))
    public.clock.advance(days=1)
    assert (await public.client.get(f"/q/{tokens['unit']}")).status_code == 200
    unseen = await public.client.get(f"/api/v1/public/qr/{'u' * 32}")
    assert unseen.status_code == 503 and unseen.headers["retry-after"]


@pytest.mark.parametrize("size", ["a6", "sticker"])
async def test_a_regulator_prints_labels_with_the_name_the_code_and_96333_for_lifts(public, registry, size):
    from xml.etree import ElementTree

    tokens = await registered(public, registry)
    regulator = public.auth("regulator", jurisdiction=DONGGANG)
    unit = await public.client.get(f"/api/v1/labels/{tokens['unit']}.svg", params={"size": size}, headers=regulator)
    assert unit.status_code == 200 and unit.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(unit.content)
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert texts[0] == "一企一码" and "东港区某街道" in "".join(texts) and "电梯困人请拨 96333" in texts
    assert root.get("width") == ("105.0mm" if size == "a6" else "60.0mm")
    lift = await public.client.get(f"/api/v1/labels/{tokens['lift']}.svg", params={"size": size}, headers=regulator)
    lift_texts = [t.text for t in ElementTree.fromstring(lift.content).iter("{http://www.w3.org/2000/svg}text")]
    assert lift_texts[0] == "风险防控码" and "梯11鲁L00001(20)" in lift_texts
    elsewhere = public.auth("regulator", jurisdiction="371103")
    assert (await public.client.get(f"/api/v1/labels/{tokens['unit']}.svg", headers=elsewhere)).status_code == 403
    assert (await public.client.get(f"/api/v1/labels/{tokens['unit']}.svg")).status_code == 401


def _pdf(content: bytes) -> tuple[list[float], bytes, list[str], int]:
    """What a PDF label holds, read without a PDF library: the page's MediaBox, its objects
    (the fonts), the strings its content shows (UCS-2 through the CID font) and how many
    rectangles it fills."""
    import base64
    import re
    import zlib

    [box] = re.findall(rb"/MediaBox \[ ?([\d. ]+?) ?\]", content)
    shown, rectangles = [], 0
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", content, re.S):
        data, header = match.group(1).strip(), content[content.rfind(b"obj", 0, match.start()):match.start()]
        for name in re.findall(rb"/(ASCII85Decode|FlateDecode)", header):
            data = base64.a85decode(data, adobe=True) if name == b"ASCII85Decode" else zlib.decompress(data)
        rectangles += len(re.findall(rb" re\b", data))
        for literal in re.findall(rb"\(((?:\\.|[^\\()])*)\) Tj", data, re.S):
            raw = re.sub(rb"\\([0-7]{1,3}|.)", lambda m: bytes([int(m[1], 8)]) if m[1][:1].isdigit() else {
                b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}.get(m[1], m[1]), literal, flags=re.S)
            shown.append(raw.decode("utf-16-be"))
    return [float(v) for v in box.split()], content, shown, rectangles


def _runs(url: str) -> int:
    """The dark runs of a row (neighbours merged) in the code of ``url``: the rectangles a label fills."""
    import segno

    return sum(1 for row in segno.make_qr(url, error="m").matrix for col, cell in enumerate(row)
               if cell and (col == 0 or not row[col - 1]))


@pytest.mark.parametrize("size", ["a6", "sticker"])
async def test_a_regulator_prints_labels_as_pdf_in_the_cid_font_at_the_labels_size(public, registry, size):
    tokens = await registered(public, registry)
    regulator = public.auth("regulator", jurisdiction=DONGGANG)
    points = [v * 72 / 25.4 for v in {"a6": (105.0, 148.0), "sticker": (60.0, 80.0)}[size]]
    base = public.svc.runtime.settings.public_base_url.rstrip("/")
    unit = await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf", params={"size": size}, headers=regulator)
    assert unit.status_code == 200 and unit.headers["content-type"] == "application/pdf"
    assert unit.content.startswith(b"%PDF-") and unit.content.rstrip().endswith(b"%%EOF")
    box, document, texts, rectangles = _pdf(unit.content)
    assert box == [0, 0, pytest.approx(points[0], abs=1e-3), pytest.approx(points[1], abs=1e-3)]
    assert b"/BaseFont /STSong-Light" in document and b"/Encoding /UniGB-UCS2-H" in document
    assert b"/FontFile" not in document  # nothing embedded: the reader supplies the font
    assert texts[0] == "一企一码" and "东港区某街道" in "".join(texts) and texts[-1] == "电梯困人请拨 96333"
    assert any(t.startswith("扫码查看") for t in texts)
    assert rectangles == _runs(f"{base}/q/{tokens['unit']}")  # the code of its page, run by run
    lift = await public.client.get(f"/api/v1/labels/{tokens['lift']}.pdf", params={"size": size}, headers=regulator)
    _, _, lift_texts, lift_rectangles = _pdf(lift.content)
    assert lift_texts[0] == "风险防控码" and "梯11鲁L00001(20)" in lift_texts and "电梯困人请拨 96333" in lift_texts
    assert lift_rectangles == _runs(f"{base}/q/{tokens['lift']}")


async def test_a_pdf_label_names_no_lift_line_without_lifts_and_answers_as_the_svg_does(public, registry):
    tokens = await registered(public, registry, lift=False)
    regulator = public.auth("regulator", jurisdiction=DONGGANG)
    unit = await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf", headers=regulator)
    texts = _pdf(unit.content)[2]
    assert texts[0] == "一企一码" and not any("96333" in t for t in texts)
    assert (await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf")).status_code == 401
    elsewhere = public.auth("regulator", jurisdiction="371103")
    assert (await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf", headers=elsewhere)).status_code == 403
    enterprise = public.auth("enterprise", enterprise=ENTERPRISE["uscc"])
    assert (await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf", headers=enterprise)).status_code == 403
    unknown = await public.client.get(f"/api/v1/labels/{'u' * 32}.pdf", headers=regulator)
    assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"
    bad = await public.client.get(f"/api/v1/labels/{tokens['unit']}.pdf", params={"size": "a4"}, headers=regulator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "size"


async def test_a_page_served_from_memory_follows_a_new_grade_at_once(public, registry):
    tokens = await registered(public, registry, lift=False)
    path = f"/api/v1/public/qr/{tokens['unit']}"
    assert (await public.client.get(path)).json()["grade"]["grade"] is None
    public.svc.runtime.resources.registry_transport = httpx.MockTransport(lambda r: httpx.Response(503))
    await public.deliver(scoring.SCORE_UPDATED, score("D"))  # the consumer drops the cached page
    assert (await public.client.get(path)).json()["grade"]["grade"] == "D"


async def test_a_remembered_code_is_answered_without_the_database_and_follows_the_read_model(public, registry,
                                                                                           monkeypatch):
    tokens = await registered(public, registry, lift=False)
    path = f"/api/v1/public/qr/{tokens['unit']}"
    first = await public.client.get(path)
    assert PublicView.model_validate_json(first.content).grade.grade is None
    runtime = public.svc.runtime
    sessions = runtime.session_factory

    def no_database():  # type: ignore[no-untyped-def]
        raise AssertionError("a remembered code opened a unit of work")

    monkeypatch.setattr(runtime, "session_factory", no_database)
    again = await public.client.get(path)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["content-type"] == "application/json"
    assert again.headers["cache-control"] == "public, max-age=30"
    monkeypatch.setattr(runtime, "session_factory", sessions)
    await public.deliver(scoring.SCORE_UPDATED, score("B"))  # the read model changed: the bytes are dropped
    assert PublicView.model_validate_json((await public.client.get(path)).content).grade.grade == "B"


async def test_a_remembered_page_is_rendered_once_and_follows_a_new_grade(public, registry, monkeypatch):
    tokens = await registered(public, registry, lift=False)
    path, runtime = f"/q/{tokens['unit']}", public.svc.runtime
    await public.deliver(scoring.SCORE_UPDATED, score("C"))
    first = await public.client.get(path)
    assert first.status_code == 200 and "badge g-C" in first.text
    templates = runtime.resources.templates

    def not_again():  # type: ignore[no-untyped-def]
        raise AssertionError("a remembered page was rendered again, or opened a unit of work")

    monkeypatch.setattr(templates, "get_template", lambda _name: not_again())
    monkeypatch.setattr(runtime, "session_factory", not_again)
    again = await public.client.get(path)
    assert again.status_code == 200 and again.content == first.content
    monkeypatch.undo()
    await public.deliver(scoring.SCORE_UPDATED, score("D"))  # the entry, and its page, are dropped
    assert "badge g-D" in (await public.client.get(path)).text


async def test_lookups_of_a_code_that_aged_out_read_the_read_model_once(public, registry, monkeypatch):
    tokens = await registered(public, registry, lift=False)
    runtime, path = public.svc.runtime, f"/api/v1/public/qr/{tokens['unit']}"
    first = await public.client.get(path)
    public.clock.advance(seconds=runtime.settings.page_cache_s + 1)  # aged out: not remembered any more
    sessions, opened = runtime.session_factory, []

    def counted():  # type: ignore[no-untyped-def]
        opened.append(1)
        return sessions()

    monkeypatch.setattr(runtime, "session_factory", counted)
    answers = await asyncio.gather(*(public.client.get(path) for _ in range(8)))
    assert [a.status_code for a in answers] == [200] * 8 and {a.content for a in answers} == {first.content}
    assert len(opened) == 1
    opened.clear()
    public.clock.advance(seconds=runtime.settings.page_cache_s + 1)
    pages = await asyncio.gather(*(public.client.get(f"/q/{tokens['unit']}") for _ in range(4)))
    assert [p.status_code for p in pages] == [200] * 4 and len({p.content for p in pages}) == 1
    unknown = await asyncio.gather(*(public.client.get(f"/api/v1/public/qr/{'u' * 32}") for _ in range(3)))
    assert [u.status_code for u in unknown] == [404] * 3  # a failure is each waiter's own


async def test_a_remembered_code_still_counts_every_lookup_per_client_json_and_page(public, registry):
    tokens = await registered(public, registry, lift=False)
    path, settings = f"/api/v1/public/qr/{tokens['unit']}", public.svc.runtime.settings
    public.svc.runtime.resources.limits.lookups.limit = limit = min(settings.lookups_per_minute, 5)
    for _ in range(limit):  # the first resolves and remembers it; the rest are answered from memory
        assert (await public.client.get(path)).status_code == 200
    refused = await public.client.get(path)
    assert refused.status_code == 429 and refused.headers["content-type"] == "application/problem+json"
    assert 0 < int(refused.headers["retry-after"]) <= 60
    page = await public.client.get(f"/q/{tokens['unit']}")
    assert page.status_code == 429 and "访问过于频繁" in page.text and page.headers["retry-after"]
    settings.trust_forwarded_for = True
    other = {"X-Forwarded-For": "203.0.113.9, 10.0.0.1"}
    answered = await public.client.get(path, headers=other)
    assert answered.status_code == 200 and answered.headers["x-request-id"]
    page = await public.client.get(f"/q/{tokens['unit']}?rated=0&rated=1", headers=other)  # the last one counts
    assert page.status_code == 200 and "感谢您的评价" in page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "public, max-age=60"
    invalid = await public.client.get(f"/api/v1/public/qr/{'a' * 8}")  # too short: the declared 422
    assert invalid.status_code == 422 and invalid.json()["errors"][0]["field"] == "token"
    public.clock.advance(seconds=60)
    assert (await public.client.get(path)).status_code == 200


async def test_a_scan_while_a_new_grade_commits_does_not_keep_the_old_one(portal):
    runtime = portal.svc.runtime
    if runtime.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one transaction at a time (BEGIN IMMEDIATE): the scan would wait for the commit")
    async with unit_of_work(runtime) as ctx:
        ctx.session.add(EnterpriseRow(uscc=UNIT, revision=1, name="某液化气站", jurisdiction_code=DONGGANG,
                                      kinds=["gas_filling"], key_supervision=False, operating=True))
        ctx.session.add(QrTokenRow(token="t" * 32, kind="enterprise", uscc=UNIT, name="某液化气站", revoked=False,
                                   checked_at=portal.clock()))
    path = f"/api/v1/public/qr/{'t' * 32}"
    assert (await portal.client.get(path)).json()["grade"]["grade"] is None
    async with unit_of_work(runtime) as ctx:
        await record_score(ctx, scoring.ScoreUpdated.model_validate(score("D")))  # drops the page, not committed
        # A scan in between reads what is committed (no grade yet) and remembers it...
        assert (await portal.client.get(path)).json()["grade"]["grade"] is None
    # ...until the grade's commit drops it again.
    assert (await portal.client.get(path)).json()["grade"]["grade"] == "D"
