"""Who sees and does what with alerts, by role and jurisdiction (no token 401, not allowed 403)."""

from __future__ import annotations

from shared.contracts import registry
from tests.enforcement.support import CITY, DONGGANG, GRID, LANSHAN, TOWNSHIP, accident, enterprise, inspectors
from tests.enforcement.test_alerts import missing_day, station

ASSOCIATION = "日照市特种设备安全协会"


async def setup(enforcement, usccs) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """A warning (A) and an on-site enforcement (D) in 东港区, and an accident in 岚山区."""
    await station(enforcement, usccs(1))
    await enforcement.deliver(registry.ENTERPRISE_UPDATED, enterprise(usccs(1), 2, associations=[ASSOCIATION]))
    await missing_day(enforcement, usccs(1), "A")
    await station(enforcement, usccs(2))
    await missing_day(enforcement, usccs(2), "D")
    await enforcement.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(3), jurisdiction=LANSHAN, grid=None))
    await enforcement.deliver(registry.GRID_INSPECTORS_ASSIGNED, inspectors())
    await enforcement.deliver(registry.ACCIDENT_REPORTED, accident(usccs(3)))
    ids = {a["enterprise_uscc"]: a["id"] for a in await enforcement.alerts()}
    return {"warning": ids[usccs(1)], "onsite": ids[usccs(2)], "lanshan": ids[usccs(3)]}


def seen(items: list[dict]) -> set[str]:  # type: ignore[type-arg]
    return {a["id"] for a in items}


async def test_each_role_sees_what_it_may(enforcement, usccs):
    ids = await setup(enforcement, usccs)
    client = enforcement.client
    assert (await client.get("/api/v1/alerts")).status_code == 401
    assert (await client.get("/api/v1/alerts", headers={"Authorization": "Bearer nope"})).status_code == 401

    assert seen(await enforcement.alerts(enforcement.regulator(CITY))) == set(ids.values())
    assert seen(await enforcement.alerts(enforcement.regulator(DONGGANG))) == {ids["warning"], ids["onsite"]}
    assert seen(await enforcement.alerts(enforcement.regulator(GRID))) == {ids["warning"], ids["onsite"]}
    assert seen(await enforcement.alerts(enforcement.regulator(LANSHAN))) == {ids["lanshan"]}
    assert seen(await enforcement.alerts(enforcement.auth("enterprise", enterprise=usccs(1)))) == {ids["warning"]}
    assert seen(await enforcement.alerts(enforcement.auth("enterprise", enterprise=usccs(2)))) == set()  # not a warning
    assert seen(await enforcement.alerts(enforcement.auth("association", sub=ASSOCIATION))) == {ids["warning"]}
    assert seen(await enforcement.alerts(enforcement.auth("association", sub="另一个协会"))) == set()
    assert seen(await enforcement.alerts(enforcement.auth("integrator", scopes=["enforcement:read"]))) == set(
        ids.values())
    assert seen(await enforcement.alerts(enforcement.auth("integrator", jurisdiction=LANSHAN))) == {ids["lanshan"]}
    wrong_scope = await client.get("/api/v1/alerts", headers=enforcement.auth("integrator", scopes=["registry:read"]))
    assert wrong_scope.status_code == 403
    outside = await client.get("/api/v1/alerts", params={"jurisdiction": LANSHAN},
                               headers=enforcement.regulator(DONGGANG))
    assert outside.status_code == 403
    assert seen(await enforcement.alerts(enforcement.regulator(DONGGANG), jurisdiction=TOWNSHIP)) == {
        ids["warning"], ids["onsite"]}

    for who, alert, status in (
            (enforcement.regulator(LANSHAN), ids["onsite"], 403),
            (enforcement.auth("enterprise", enterprise=usccs(1)), ids["onsite"], 403),
            (enforcement.auth("enterprise", enterprise=usccs(1)), ids["warning"], 200),
            (enforcement.auth("association", sub=ASSOCIATION), ids["warning"], 200),
            (enforcement.auth("association", sub=ASSOCIATION), ids["onsite"], 403),
            (enforcement.regulator(DONGGANG), ids["onsite"], 200)):
        assert (await client.get(f"/api/v1/alerts/{alert}", headers=who)).status_code == status


async def test_each_role_acts_only_where_it_may_and_a_refusal_changes_nothing(enforcement, usccs):
    ids = await setup(enforcement, usccs)
    client = enforcement.client

    async def post(alert: str, verb: str, who: dict[str, str], body: dict | None = None) -> int:  # type: ignore[type-arg]
        return (await client.post(f"/api/v1/alerts/{ids[alert]}/{verb}", json=body or {"note": "n"},
                                  headers=who)).status_code

    lanshan, donggang = enforcement.regulator(LANSHAN), enforcement.regulator(DONGGANG)
    owner = enforcement.auth("enterprise", enterprise=usccs(1))
    assert await post("onsite", "acknowledge", lanshan) == 403
    assert await post("onsite", "resolve", lanshan) == 403
    assert await post("onsite", "dispatch", lanshan, {}) == 403
    assert await post("onsite", "acknowledge", owner) == 403
    assert await post("warning", "resolve", owner) == 403
    assert await post("warning", "acknowledge", enforcement.auth("association", sub=ASSOCIATION)) == 403
    assert await post("onsite", "resolve", enforcement.auth("integrator", scopes=["enforcement:read"])) == 403
    assert (await enforcement.alert(ids["onsite"]))["status"] == "dispatched"
    assert len((await enforcement.alert(ids["onsite"]))["history"]) == 2

    assert await post("warning", "acknowledge", owner) == 200
    assert (await enforcement.alert(ids["warning"]))["acknowledged_by"] == "dev-enterprise"
    assert await post("onsite", "acknowledge", donggang) == 200
    assert await post("lanshan", "resolve", enforcement.auth("integrator", scopes=["enforcement:write"])) == 200
