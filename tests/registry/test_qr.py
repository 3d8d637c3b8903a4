"""QR codes: 一企一码 and 风险防控码, issue/revoke/reissue, labels, and the public resolution."""

from __future__ import annotations

import re

from tests.registry.support import (
    HEADLINE_USCC,
    LANSHAN,
    add_equipment,
    admin,
    days,
    enterprise_user,
    problem,
    register,
    regulator,
)

HEADLINE = f"/api/v1/enterprises/{HEADLINE_USCC}"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


async def test_enterprise_code_issue_revoke_reissue(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry, contacts=[{"name": "王经理", "phone": "13800000000"}])
    await add_equipment(registry, HEADLINE_USCC, category="3000", registration_no="梯11鲁L00001(23)",
                        next_inspection_due=days(100))
    await add_equipment(registry, HEADLINE_USCC, category="3000", next_inspection_due=days(-1))
    await add_equipment(registry, HEADLINE_USCC, category="2300", registration_no="容3LC鲁L00123(23)",
                        next_inspection_due=days(0))
    client, own = registry.client, enterprise_user(registry, HEADLINE_USCC)

    first = (await client.get(f"{HEADLINE}/qr", headers=regulator(registry))).json()
    assert TOKEN.match(first["token"]) and first["kind"] == "enterprise"
    assert first["url"] == f"{registry.runtime.settings.public_base_url}/q/{first['token']}"
    assert (await client.get(f"{HEADLINE}/qr", headers=own)).json()["token"] == first["token"]  # stable
    assert problem(await client.get(f"{HEADLINE}/qr", headers=regulator(registry, LANSHAN)), 403)

    public = await client.get(f"/api/v1/public/qr/{first['token']}")  # no token needed
    assert public.status_code == 200
    info = public.json()
    assert info["kind"] == "enterprise" and info["uscc"] == HEADLINE_USCC and info["name"] == "东港区某街道液化气站"
    assert {c["category"]: (c["count"], c["inspection_valid"]) for c in info["equipment_by_category"]} == {
        "2300": (1, 1), "3000": (2, 1)}
    assert "13800000000" not in public.text and "王经理" not in public.text and "contacts" not in info

    reissued = await client.post(f"{HEADLINE}/qr/reissue", headers=own)
    assert reissued.status_code == 201 and reissued.json()["token"] != first["token"]
    assert problem(await client.get(f"/api/v1/public/qr/{first['token']}"), 410)
    assert (await client.get(f"/api/v1/public/qr/{reissued.json()['token']}")).status_code == 200

    revoked = await client.delete(f"{HEADLINE}/qr", headers=admin(registry))
    assert revoked.status_code == 204
    assert problem(await client.get(f"/api/v1/public/qr/{reissued.json()['token']}"), 410)
    assert problem(await client.delete(f"{HEADLINE}/qr", headers=admin(registry)), 404)  # nothing active
    fresh = (await client.get(f"{HEADLINE}/qr", headers=admin(registry))).json()["token"]
    assert fresh not in (first["token"], reissued.json()["token"])
    assert problem(await client.get("/api/v1/public/qr/not-a-token-anyone-issued"), 404)


async def test_equipment_code_shows_validity_and_the_lift_emergency_number(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    lift = await add_equipment(registry, HEADLINE_USCC, category="3110", registration_no="梯11鲁L00002(23)",
                               next_inspection_due=days(-2), last_maintenance_date=days(-7))
    tank = await add_equipment(registry, HEADLINE_USCC, category="2100", registration_no="容1LC鲁L00003(23)",
                               next_inspection_due=days(30))
    client = registry.client
    lift_qr = (await client.get(f"/api/v1/equipment/{lift['id']}/qr", headers=admin(registry))).json()
    assert lift_qr["kind"] == "equipment"
    info = (await client.get(f"/api/v1/public/qr/{lift_qr['token']}")).json()
    assert info["kind"] == "equipment" and info["uscc"] == HEADLINE_USCC
    assert info["equipment"] == {"category": "3110", "category_name": "曳引驱动乘客电梯",
                                 "registration_no": "梯11鲁L00002(23)", "status": "in_use",
                                 "next_inspection_due": days(-2), "inspection_valid": False,
                                 "last_maintenance_date": days(-7)}
    assert info["emergency_phone"] == "96333"
    tank_qr = (await client.get(f"/api/v1/equipment/{tank['id']}/qr", headers=admin(registry))).json()
    tank_info = (await client.get(f"/api/v1/public/qr/{tank_qr['token']}")).json()
    assert tank_info["equipment"]["inspection_valid"] is True and tank_info["emergency_phone"] is None
    assert tank_qr["token"] != lift_qr["token"]
    enterprise_qr = (await client.get(f"{HEADLINE}/qr", headers=admin(registry))).json()
    assert enterprise_qr["token"] not in (tank_qr["token"], lift_qr["token"])
    await client.post(f"/api/v1/equipment/{lift['id']}/qr/reissue", headers=admin(registry))
    assert problem(await client.get(f"/api/v1/public/qr/{lift_qr['token']}"), 410)
    assert (await client.get(f"/api/v1/public/qr/{tank_qr['token']}")).status_code == 200  # untouched


async def test_labels_render_as_png_svg_and_pdf(registry) -> None:  # type: ignore[no-untyped-def]
    await register(registry)
    unit = await add_equipment(registry, HEADLINE_USCC)
    client, headers = registry.client, admin(registry)
    token = (await client.get(f"{HEADLINE}/qr", headers=headers)).json()["token"]
    png = await client.get(f"{HEADLINE}/qr/label", headers=headers)
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = await client.get(f"{HEADLINE}/qr/label", params={"format": "svg"}, headers=headers)
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content and token.encode() in svg.content  # the URL is in the description
    pdf = await client.get(f"/api/v1/equipment/{unit['id']}/qr/label", params={"format": "pdf"}, headers=headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF-")
    assert problem(await client.get(f"{HEADLINE}/qr/label", params={"format": "gif"}, headers=headers), 422)
    assert problem(await client.get(f"{HEADLINE}/qr/label"), 401)
