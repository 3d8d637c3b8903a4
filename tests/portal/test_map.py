"""The risk map from the read model: GeoJSON points coloured by grade with each filter, the SVG
picture clustered when zoomed out (a cluster shows its riskiest grade), the click-through, and
the regulator's subtree only."""

from __future__ import annotations

from xml.etree import ElementTree

from shared.contracts import enforcement, registry, scoring
from shared.db import new_uuid
from tests.portal.support import alert_raised, enterprise, equipment, score

SVG = "{http://www.w3.org/2000/svg}"
UNITS = {  # uscc: (district, grade, lat, lon, key supervision, lift)
    "91371102MA3C5K0X1Q": ("371102", "D", 35.4200, 119.5200, False, False),
    "91371102MA3C5K0X2Q": ("371102", "A", 35.4201, 119.5201, True, True),
    "91371102MA3C5K0X3Q": ("371103", "B", 35.1000, 119.3500, False, False),
    "91371102MA3C5K0X4Q": ("371103", None, None, None, False, False),
}


async def city(portal) -> None:  # type: ignore[no-untyped-def]
    for uscc, (district, grade, lat, lon, key, lift) in UNITS.items():
        located = {"location": {"lat": lat, "lon": lon}} if lat else {}
        await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc, jurisdiction_code=district,
                                                                         key_supervision=key, **located))
        if grade:
            await portal.deliver(scoring.SCORE_UPDATED, score(grade, uscc))
        await portal.deliver(registry.EQUIPMENT_REGISTERED, equipment(f"E{uscc[-2:]}", uscc,
                                                                      category="3110" if lift else "2300"))
    await portal.deliver(enforcement.ALERT_RAISED, alert_raised("AL1", new_uuid(), list(UNITS)[0],
                                                                kind="filling_records_missing"))


async def test_points_by_grade_with_every_filter(lone):
    await city(lone)
    regulator = lone.auth("regulator", jurisdiction="371100")

    async def grades(**params):  # type: ignore[no-untyped-def]
        body = (await lone.client.get("/api/v1/map/units", params=params, headers=regulator)).json()
        return sorted((f["properties"]["grade"], f["properties"]["colour"]) for f in body["features"]), body

    everyone, body = await grades()
    assert everyone == [("A", "#1a7f37"), ("B", "#0b5cad"), ("D", "#cf222e")] and body["unlocated"] == 1
    assert body["features"][0]["geometry"]["coordinates"] == [119.52, 35.42] and body["tile_url"] is None
    assert [g for g, _ in (await grades(grade=["D", "B"]))[0]] == ["B", "D"]
    assert [g for g, _ in (await grades(category="3000"))[0]] == ["A"]  # lifts, by family
    assert [g for g, _ in (await grades(key_supervision="true"))[0]] == ["A"]
    assert [g for g, _ in (await grades(jurisdiction="371103"))[0]] == ["B"]
    assert (await grades(grade=["ungraded"]))[1]["unlocated"] == 1
    district = lone.auth("regulator", jurisdiction="371103")
    mine = (await lone.client.get("/api/v1/map/units", headers=district)).json()["features"]
    assert [f["properties"]["grade"] for f in mine] == ["B"]
    assert (await lone.client.get(f"/api/v1/units/{list(UNITS)[0]}", headers=district)).status_code == 403
    detail = (await lone.client.get(f"/api/v1/units/{list(UNITS)[0]}", headers=regulator)).json()
    assert (detail["grade"], [a["kind"] for a in detail["open_alerts"]], detail["grade_history"][0]["grade"]) == (
        "D", ["filling_records_missing"], "D")


async def test_the_svg_clusters_when_zoomed_out_and_splits_when_zoomed_in(lone):
    await city(lone)
    regulator = lone.auth("regulator", jurisdiction="371100")
    wide = await lone.client.get("/api/v1/map.svg", headers=regulator)
    assert wide.status_code == 200 and wide.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(wide.content)
    [pair] = root.findall(f".//{SVG}g[@data-count='2']")  # the two Donggang units 15 m apart
    assert pair.get("class") == "cluster grade-D"
    assert len(root.findall(f".//{SVG}circle[@data-uscc]")) == 1  # 岚山 alone
    close = await lone.client.get("/api/v1/map.svg", headers=regulator,
                                  params={"bbox": "119.5195,35.4195,119.5206,35.4206", "cluster_px": 8})
    units = {c.get("data-uscc"): c.get("fill") for c in ElementTree.fromstring(close.content).iter(f"{SVG}circle")
             if c.get("data-uscc")}
    assert units == {list(UNITS)[0]: "#cf222e", list(UNITS)[1]: "#1a7f37"}
    bad = await lone.client.get("/api/v1/map.svg", headers=regulator, params={"bbox": "1,2,3"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "bbox"
