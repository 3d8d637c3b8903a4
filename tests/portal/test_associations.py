"""The association pages, on SQLite and PostgreSQL: an association sees its members' grades and
open alerts and nothing about non-members, sends them notices (a non-member named is refused),
and each member reads only the notices sent to it."""

from __future__ import annotations

from shared.contracts import enforcement, registry, scoring
from shared.db import new_uuid
from tests.portal.support import alert_raised, alert_status, enterprise, score

GAS = "日照市燃气协会"
MEMBER, OTHER_MEMBER, STRANGER = "91371102MA3C5K0X1Q", "91371102MA3C5K0X2Q", "91371102MA3C5K0X3Q"


async def city(portal) -> None:  # type: ignore[no-untyped-def]
    await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(MEMBER, name="甲站", associations=[GAS]))
    await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(OTHER_MEMBER, name="乙站", associations=[GAS]))
    await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(STRANGER, name="丙站", associations=["别的协会"]))
    for uscc, grade in ((MEMBER, "D"), (OTHER_MEMBER, "A"), (STRANGER, "D")):
        await portal.deliver(scoring.SCORE_UPDATED, score(grade, uscc))
    for uscc in (MEMBER, STRANGER):
        await portal.deliver(enforcement.ALERT_RAISED, alert_raised(f"AL-{uscc[-2:]}", new_uuid(), uscc,
                                                                      kind="filling_records_missing"))
    await portal.deliver(enforcement.ALERT_RAISED, alert_raised("AL-old", new_uuid(), MEMBER, kind="accident"))
    await portal.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL-old", "resolved", MEMBER))


async def test_an_association_sees_its_members_and_nothing_of_others(portal):
    await city(portal)
    gas = portal.auth("association", sub=GAS)
    first = await portal.client.get("/api/v1/association/members", params={"limit": 1}, headers=gas)
    rest = await portal.client.get("/api/v1/association/members", headers=gas,
                                   params={"limit": 1, "cursor": first.json()["next_cursor"]})
    members = first.json()["items"] + rest.json()["items"]
    assert rest.json()["next_cursor"] is None
    assert [(m["name"], m["grade"], m["open_alerts"], m["open_alert_kinds"]) for m in members] == [
        ("甲站", "D", 1, ["filling_records_missing"]), ("乙站", "A", 0, [])]
    assert "丙站" not in str(members) and STRANGER not in str(members)
    for role in ("regulator", "enterprise", "admin"):
        claims = {"jurisdiction": "371100"} if role == "regulator" else {"enterprise": MEMBER} \
            if role == "enterprise" else {}
        assert (await portal.client.get("/api/v1/association/members",
                                        headers=portal.auth(role, **claims))).status_code == 403


async def test_notices_reach_the_members_named_and_only_them(portal):
    await city(portal)
    gas = portal.auth("association", sub=GAS)
    refused = await portal.client.post("/api/v1/association/notices", headers=gas,
                                       json={"title": "安全提醒", "body": "请上传充装记录", "members": [STRANGER]})
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "members"
    everyone = await portal.client.post("/api/v1/association/notices", headers=gas,
                                        json={"title": "冬季安全提醒", "body": "请做好气瓶检验"})
    assert everyone.status_code == 201 and everyone.json()["recipients"] == 2
    portal.clock.advance(hours=1)
    one = await portal.client.post("/api/v1/association/notices", headers=gas,
                                   json={"title": "约谈通知", "body": "请到协会说明情况", "members": [MEMBER]})
    assert one.status_code == 201 and one.json()["recipients"] == 1

    def read(uscc: str):  # type: ignore[no-untyped-def]
        return portal.client.get("/api/v1/notices", headers=portal.auth("enterprise", enterprise=uscc))

    assert [n["title"] for n in (await read(MEMBER)).json()["items"]] == ["约谈通知", "冬季安全提醒"]
    assert [n["title"] for n in (await read(OTHER_MEMBER)).json()["items"]] == ["冬季安全提醒"]
    assert (await read(STRANGER)).json()["items"] == []
    stranger_assoc = portal.auth("association", sub="别的协会")
    assert (await portal.client.post("/api/v1/association/notices", headers=stranger_assoc, json={
        "title": "x", "body": "y", "members": [MEMBER]})).status_code == 422
