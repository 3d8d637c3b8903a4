"""The risk map from the read model: GeoJSON points coloured by grade with each filter, the SVG
picture clustered when zoomed out (a cluster shows its riskiest grade) over the outlines of the
districts (the grids when zoomed in) named as registry names them, the outlines as GeoJSON, the
click-through, and the regulator's subtree only."""

from __future__ import annotations

from xml.etree import ElementTree

from shared.contracts import enforcement, registry, scoring
from shared.db import new_uuid
from tests.portal.support import alert_raised, enterprise, equipment, jurisdiction, score

SVG = "{http://www.w3.org/2000/svg}"
UNITS = {  # uscc: (district, grade, lat, lon, key supervision, lift)
    "91371102MA3C5K0X1Q": ("371102", "D", 35.4200, 119.5200, False, False),
    "91371102MA3C5K0X2Q": ("371102", "A", 35.4201, 119.5201, True, True),
    "91371102MA3C5K0X3Q": ("371103", "B", 35.1000, 119.3500, False, False),
    "91371102MA3C5K0X4Q": ("371103", None, None, None, False, False),
}
NAMES = {"371100": "日照市", "371102": "东港区", "371103": "岚山区"}


async def city(portal) -> None:  # type: ignore[no-untyped-def]
    for code, name in NAMES.items():
        await portal.deliver(registry.JURISDICTION_LOADED, jurisdiction(code, name))
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


def _inside(ring, lon, lat):  # type: ignore[no-untyped-def]
    """Whether (lon, lat) lies strictly inside a closed counter-clockwise convex ring."""
    return all((b[0] - a[0]) * (lat - a[1]) - (b[1] - a[1]) * (lon - a[0]) > 0
               for a, b in zip(ring, ring[1:], strict=False))


async def test_outlines_are_drawn_around_each_districts_units_and_named(lone):
    await city(lone)
    regulator = lone.auth("regulator", jurisdiction="371100")
    response = await lone.client.get("/api/v1/map/outlines", headers=regulator)
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["level"] == "jurisdiction"
    shown = [(f["properties"]["code"], f["properties"]["name"], f["properties"]["level"], f["properties"]["units"])
             for f in body["features"]]
    assert shown == [("371102", "东港区", "district", 2), ("371103", "岚山区", "district", 1)]  # X4: no location
    for feature in body["features"]:
        [ring] = feature["geometry"]["coordinates"]
        assert feature["geometry"]["type"] == "Polygon" and ring[0] == ring[-1] and len(ring) >= 17
        assert _inside(ring, *feature["properties"]["label_point"])
        for district, _, lat, lon, _, _ in UNITS.values():
            if lat is not None:
                assert _inside(ring, lon, lat) is (district == feature["properties"]["code"])
    lanshan = lone.auth("regulator", jurisdiction="371103")
    mine = (await lone.client.get("/api/v1/map/outlines", headers=lanshan)).json()["features"]
    assert [f["properties"]["code"] for f in mine] == ["371103"]
    refused = await lone.client.get("/api/v1/map/outlines", params={"jurisdiction": "371102"}, headers=lanshan)
    assert refused.status_code == 403
    assert (await lone.client.get("/api/v1/map/outlines")).status_code == 401
    unit_user = lone.auth("enterprise", enterprise=list(UNITS)[0])
    assert (await lone.client.get("/api/v1/map/outlines", headers=unit_user)).status_code == 403
    for bad in ({"level": "province"}, {"jurisdiction": "37110"}):
        problem = await lone.client.get("/api/v1/map/outlines", params=bad, headers=regulator)
        assert problem.status_code == 422 and problem.json()["errors"][0]["field"] == next(iter(bad))


async def test_grid_outlines_hold_the_units_of_their_grid_and_a_name_once_announced(lone):
    await city(lone)
    grids = {"91371102MA3C5K0X1Q": "371102001001", "91371102MA3C5K0X2Q": "371102001002"}
    for uscc, grid in grids.items():
        district, _, lat, lon, key, _ = UNITS[uscc]
        await lone.deliver(registry.ENTERPRISE_UPDATED, enterprise(
            uscc, revision=2, jurisdiction_code=district, grid_code=grid, key_supervision=key,
            location={"lat": lat, "lon": lon}))
    await lone.deliver(registry.JURISDICTION_LOADED, jurisdiction("371102001001", "日照街道第一网格"))
    regulator = lone.auth("regulator", jurisdiction="371102")
    body = (await lone.client.get("/api/v1/map/outlines", params={"level": "grid"}, headers=regulator)).json()
    assert body["level"] == "grid" and [(f["properties"]["code"], f["properties"]["name"], f["properties"]["level"])
                                        for f in body["features"]] == [
        ("371102001001", "日照街道第一网格", "grid"), ("371102001002", None, "grid")]  # 岚山's unit has no grid
    for feature, (_, _, lat, lon, _, _) in zip(body["features"], (UNITS[u] for u in grids), strict=True):
        assert _inside(feature["geometry"]["coordinates"][0], lon, lat)


async def test_the_svg_draws_the_outlines_under_the_points_with_their_names(lone):
    await city(lone)
    regulator = lone.auth("regulator", jurisdiction="371100")
    root = ElementTree.fromstring((await lone.client.get("/api/v1/map.svg", headers=regulator)).content)
    [group] = root.findall(f"{SVG}g[@class='outlines level-jurisdiction']")
    assert [p.get("data-code") for p in group.iter(f"{SVG}path")] == ["371102", "371103"]
    [names] = root.findall(f"{SVG}g[@class='outline-names']")
    assert [t.text for t in names.iter(f"{SVG}text")] == ["东港区", "岚山区"]
    assert all(p.get("d").startswith("M") and p.get("d").endswith("Z") for p in group.iter(f"{SVG}path"))
    drawn = list(root)
    first_point = next(n for n, e in enumerate(drawn) if e.tag == f"{SVG}a" or e.get("class", "").startswith("cluster"))
    assert drawn.index(group) < drawn.index(names) < first_point  # under the points, the names over the outlines
    close = await lone.client.get("/api/v1/map.svg", headers=regulator,
                                  params={"bbox": "119.5195,35.4195,119.5206,35.4206", "cluster_px": 8})
    zoomed = ElementTree.fromstring(close.content)
    assert zoomed.findall(f"{SVG}g[@class='outlines level-grid']") == []  # no unit has a grid here: none drawn
    named = await lone.client.get("/api/v1/map.svg", headers=regulator,
                                  params={"bbox": "119.5195,35.4195,119.5206,35.4206", "outlines": "jurisdiction"})
    [near] = ElementTree.fromstring(named.content).findall(f"{SVG}g[@class='outlines level-jurisdiction']")
    assert [p.get("data-code") for p in near.iter(f"{SVG}path")] == ["371102"]  # 岚山's lies out of view
    plain = await lone.client.get("/api/v1/map.svg", headers=regulator, params={"outlines": "none"})
    assert ElementTree.fromstring(plain.content).findall(f"{SVG}g[@class='outlines level-jurisdiction']") == []
    bad = await lone.client.get("/api/v1/map.svg", headers=regulator, params={"outlines": "all"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "outlines"
