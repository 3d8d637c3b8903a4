"""Ratings and reports from the public, against a real registry: comments moderated before they
are shown (and only then counted), per-client limits answering 429 with Retry-After, oversized
or malformed input refused with nothing stored, each write's event in the outbox with it, and a
report's receipt page following the alert enforcement raised for it. Both as JSON and as the
plain HTML forms a phone without JavaScript posts."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from services.portal.models import Rating, Report
from shared.contracts import enforcement
from shared.contracts.portal import RATING_MODERATED, RATING_SUBMITTED, REPORT_SUBMITTED
from tests.portal.support import UNIT, alert_raised, alert_status
from tests.portal.test_public import registered

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


async def _count(public, model) -> int:  # type: ignore[no-untyped-def]
    async with public.svc.runtime.session_factory() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def test_a_comment_is_shown_and_counted_only_once_approved(public, registry):
    token = (await registered(public, registry, lift=False))["unit"]
    plain = await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 4})
    assert plain.status_code == 201 and plain.json()["status"] == "approved"
    said = await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 1, "comment": "钢瓶乱放"})
    assert said.status_code == 201 and said.json()["status"] == "pending"
    view = (await public.client.get(f"/api/v1/public/qr/{token}")).json()
    assert view["rating"] == {"average": 4.0, "count": 1} and view["comments"] == []

    regulator = public.auth("regulator", jurisdiction="371102", sub="reg-1")
    queue = await public.client.get("/api/v1/ratings", params={"status": "pending"}, headers=regulator)
    assert [(r["comment"], r["unit_name"]) for r in queue.json()["items"]] == [("钢瓶乱放", "东港区某街道液化气站")]
    elsewhere = public.auth("regulator", jurisdiction="371103", sub="reg-2")
    assert (await public.client.get("/api/v1/ratings", headers=elsewhere)).json()["items"] == []
    rating_id = said.json()["rating_id"]
    assert (await public.client.post(f"/api/v1/ratings/{rating_id}/approve", headers=elsewhere)).status_code == 403
    assert (await public.client.post(f"/api/v1/ratings/{rating_id}/approve",
                                     headers=public.auth("enterprise", enterprise=UNIT))).status_code == 403
    approved = await public.client.post(f"/api/v1/ratings/{rating_id}/approve", headers=regulator)
    assert approved.status_code == 200 and approved.json()["moderated_by"] == "reg-1"
    again = await public.client.post(f"/api/v1/ratings/{rating_id}/reject", headers=regulator)
    assert again.status_code == 409 and again.json()["current_status"] == "approved"

    view = (await public.client.get(f"/api/v1/public/qr/{token}")).json()
    assert view["rating"] == {"average": 2.5, "count": 2} and view["comments"][0]["comment"] == "钢瓶乱放"
    assert "钢瓶乱放" in (await public.client.get(f"/q/{token}")).text
    assert [e["data"]["stars"] for e in await public.outbox(RATING_SUBMITTED.type)] == [4, 1]
    moderated = await public.outbox(RATING_MODERATED.type)
    assert [(e["key"], e["data"]["decision"], e["data"]["comment"]) for e in moderated] == [
        (UNIT, "approved", "钢瓶乱放")]


@pytest.mark.parametrize(("body", "field"), [
    ({"stars": 6}, "stars"), ({"stars": 0}, "stars"), ({"stars": "five"}, "stars"), ({}, "stars"),
    ({"stars": 3, "comment": "长" * 501}, "comment"), ({"stars": 3, "name": "张三"}, "name"),
])
async def test_a_malformed_rating_is_refused_naming_its_field_and_stores_nothing(public, registry, body, field):
    token = (await registered(public, registry, lift=False))["unit"]
    refused = await public.client.post(f"/api/v1/public/qr/{token}/ratings", json=body)
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [field]
    assert await _count(public, Rating) == 0 and await public.outbox(RATING_SUBMITTED.type) == []


async def test_ratings_and_reports_are_limited_per_client_with_retry_after(public, registry):
    token = (await registered(public, registry, lift=False))["unit"]
    settings = public.svc.runtime.settings
    for _ in range(settings.ratings_per_hour):
        assert (await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 5})).status_code == 201
    refused = await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 5})
    assert refused.status_code == 429 and 0 < int(refused.headers["retry-after"]) <= 3600
    form = await public.client.post(f"/q/{token}/ratings", data={"stars": "5"})
    assert form.status_code == 429 and "访问过于频繁" in form.text
    assert await _count(public, Rating) == settings.ratings_per_hour
    other = {"X-Forwarded-For": "203.0.113.9"}  # another client, once the portal trusts its proxy
    settings.trust_forwarded_for = True
    ok = await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 5}, headers=other)
    assert ok.status_code == 201
    public.clock.advance(hours=1)
    assert (await public.client.post(f"/api/v1/public/qr/{token}/ratings", json={"stars": 5})).status_code == 201


async def test_the_rating_form_works_without_javascript(public, registry):
    token = (await registered(public, registry, lift=False))["unit"]
    posted = await public.client.post(f"/q/{token}/ratings", data={"stars": "3", "comment": "服务不错"})
    assert posted.status_code == 303 and posted.headers["location"] == f"/q/{token}?rated=1#rate"
    assert "感谢您的评价" in (await public.client.get(posted.headers["location"])).text
    bad = await public.client.post(f"/q/{token}/ratings", data={"stars": "9"})
    assert bad.status_code == 422 and "请选择 1 至 5 分" in bad.text
    assert await _count(public, Rating) == 1


async def test_a_report_with_a_photo_gets_a_receipt_whose_page_follows_enforcement(public, registry):
    token = (await registered(public, registry, lift=False))["unit"]
    posted = await public.client.post(f"/q/{token}/reports", data={
        "category": "gas_leak", "description": "站内有液化气异味", "lat": "35.42", "lon": "119.52"},
        files={"photo": ("p.png", PNG, "image/png")})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/r/")
    receipt = posted.headers["location"].removeprefix("/r/")
    page = await public.client.get(posted.headers["location"])
    assert page.status_code == 200 and "已受理" in page.text and "已上传" in page.text
    [event] = await public.outbox(REPORT_SUBMITTED.type)
    assert event["key"] == UNIT and event["data"]["location"] == {"lat": 35.42, "lon": 119.52}
    assert event["data"]["category"] == "gas_leak" and len(event["data"]["photo_sha256"]) == 64

    await public.deliver(enforcement.ALERT_RAISED, alert_raised("AL-1", event["attributes"]["id"]))
    status = (await public.client.get(f"/api/v1/public/reports/{receipt}")).json()
    assert (status["status"], status["status_label"], status["unit_name"]) == ("in_progress", "处理中",
                                                                                "东港区某街道液化气站")
    report_id = event["data"]["report_id"]
    regulator = public.auth("regulator", jurisdiction="371102")
    full = (await public.client.get(f"/api/v1/reports/{report_id}", headers=regulator)).json()
    assert (full["description"], full["alert_id"], full["location"]) == ("站内有液化气异味", "AL-1",
                                                                         {"lat": 35.42, "lon": 119.52})
    photo = await public.client.get(full["photo_url"], headers=regulator)
    assert photo.status_code == 200 and photo.content == PNG and photo.headers["content-type"] == "image/png"
    for outsider in (public.auth("regulator", jurisdiction="371103"), public.auth("enterprise", enterprise=UNIT)):
        assert (await public.client.get(f"/api/v1/reports/{report_id}", headers=outsider)).status_code == 403
    await public.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL-1", "resolved"))
    assert "已办结" in (await public.client.get(f"/r/{receipt}")).text
    assert (await public.client.get(f"/r/{'z' * 24}")).status_code == 404


async def test_a_report_as_json_and_the_input_it_refuses(public, registry):
    token = (await registered(public, registry, lift=False))["unit"]
    made = await public.client.post(f"/api/v1/public/qr/{token}/reports",
                                    json={"category": "equipment_fault", "description": "气瓶阀门锈蚀"})
    assert made.status_code == 201 and made.json()["status_url"].endswith("/r/" + made.json()["receipt"])
    for body, field in (({"category": "ufo", "description": "x"}, "category"),
                        ({"category": "other", "description": "   "}, "description"),
                        ({"category": "other", "description": "x" * 2001}, "description"),
                        ({"category": "other", "description": "x", "location": {"lat": 91, "lon": 0}}, "location.lat")):
        refused = await public.client.post(f"/api/v1/public/qr/{token}/reports", json=body)
        assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == field, body
    not_png = await public.client.post(f"/q/{token}/reports", data={"category": "other", "description": "x"},
                                       files={"photo": ("p.png", b"GIF89a....", "image/png")})
    assert not_png.status_code == 415 and "image/png" in not_png.text
    public.svc.runtime.settings.photo_max_bytes = 1024
    huge = await public.client.post(f"/q/{token}/reports", data={"category": "other", "description": "x"},
                                    files={"photo": ("p.png", PNG + b"\x00" * 70_000, "image/png")})
    assert huge.status_code == 413
    assert await _count(public, Report) == 1 and len(await public.outbox(REPORT_SUBMITTED.type)) == 1
