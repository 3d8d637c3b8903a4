"""The read side of the API: who sees which score, the explanation it carries, lists scoped to a
jurisdiction, statistics, grade history with causes, and the public grade."""

from __future__ import annotations

from shared.contracts import inspection, registry
from tests.scoring.support import CITY, DONGGANG, LANSHAN, d_grade_station, enterprise, missing_day


async def test_who_may_see_a_score(scoring, usccs):
    mine, other = usccs(1), usccs(2)
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(mine, jurisdiction=DONGGANG))
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(other, jurisdiction=LANSHAN))
    cases = [
        ({}, mine, 401),
        ({"Authorization": "Bearer not-a-token"}, mine, 401),
        (scoring.auth("enterprise", enterprise=mine), mine, 200),
        (scoring.auth("enterprise", enterprise=mine), other, 403),
        (scoring.auth("regulator", jurisdiction=CITY), other, 200),
        (scoring.auth("regulator", jurisdiction=DONGGANG), mine, 200),
        (scoring.auth("regulator", jurisdiction=DONGGANG), other, 403),
        (scoring.auth("regulator", jurisdiction="371102001"), mine, 403),
        (scoring.auth("association", jurisdiction=CITY), mine, 403),
        (scoring.auth("integrator"), other, 200),
        (scoring.admin, other, 200),
        (scoring.city, usccs(3), 404),
        (scoring.auth("enterprise", enterprise=usccs(3)), usccs(3), 404),
    ]
    for headers, uscc, status in cases:
        response = await scoring.client.get(f"/api/v1/enterprises/{uscc}/score", headers=headers)
        assert response.status_code == status, (headers, uscc, response.text)
        if status != 200:
            assert response.headers["content-type"] == "application/problem+json"
            assert "breakdown" not in response.json()


async def test_a_malformed_uscc_is_a_422_naming_the_field(scoring):
    for bad in ("short", "91371102MA3C5K0X1I", "91371102ma3c5k0x1q"):
        response = await scoring.client.get(f"/api/v1/enterprises/{bad}/score", headers=scoring.city)
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["uscc"]


async def test_a_score_explains_itself_in_plain_words(scoring, usccs):
    uscc = usccs()
    await d_grade_station(scoring, uscc)
    _, missing_id = await scoring.deliver(inspection.FILLING_RECORDS_MISSING,
                                          missing_day(uscc, scoring.clock.days_ago(3)))

    score = await scoring.score(uscc, scoring.auth("enterprise", enterprise=uscc))

    assert (score["score"], score["grade"], score["model_version"]) == (62.0, "D", "rizhao-2026.1")
    assert score["grade_label"] == {"zh": "高风险", "en": "high risk"}
    line = next(b for b in score["breakdown"] if b["indicator"] == "G5.missing_filling_records")
    assert line == {"indicator": "G5.missing_filling_records", "group": "G5", "points": 3.0,
                    "evidence": [missing_id], "label_zh": "一记录：近90日气瓶充装记录缺失",
                    "label_en": "Days without filling records in the last 90 days",
                    "detail": f"1 day without filling records in the last 90 days: {scoring.clock.days_ago(3)}"}
    g4 = next(g for g in score["groups"] if g["group"] == "G4")
    assert (g4["points"], g4["cap"], g4["uncapped"], g4["label_zh"]) == (20, 20, 20, "设备安全运行和使用场所")
    assert score["score"] == sum(g["points"] for g in score["groups"])
    assert {"computed_at", "raw_grade", "rules_applied", "locked_until", "ceiling_until"} <= score.keys()


async def test_grade_history_names_the_cause_of_each_change(scoring, usccs):
    uscc = usccs()
    await d_grade_station(scoring, uscc)
    scoring.clock.advance(1)
    _, missing_id = await scoring.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, scoring.clock.today),
                                          correlation_id="cutoff-chain")

    response = await scoring.client.get(f"/api/v1/enterprises/{uscc}/grade-history", headers=scoring.city)

    assert response.status_code == 200
    latest, first = response.json()["items"]
    assert (first["grade"], first["previous_grade"], first["to_date"]) == ("C", None, scoring.clock.today.isoformat())
    assert first["cause"]["event_type"] == registry.ENTERPRISE_REGISTERED.type
    assert (latest["grade"], latest["previous_grade"], latest["from_date"], latest["to_date"]) == (
        "D", "C", scoring.clock.today.isoformat(), None)
    assert latest["cause"] == {"event_type": inspection.FILLING_RECORDS_MISSING.type, "event_id": missing_id,
                               "ref": None, "correlation_id": "cutoff-chain"}
    page = await scoring.client.get(f"/api/v1/enterprises/{uscc}/grade-history?limit=1", headers=scoring.city)
    rest = await scoring.client.get(f"/api/v1/enterprises/{uscc}/grade-history?limit=1&cursor="
                                    f"{page.json()['next_cursor']}", headers=scoring.city)
    assert [p["grade"] for p in page.json()["items"] + rest.json()["items"]] == ["D", "C"]
    assert rest.json()["next_cursor"] is None
    history = await scoring.client.get(f"/api/v1/enterprises/{uscc}/score-history", headers=scoring.city)
    assert [h["score"] for h in history.json()["items"]] == [62.0, 59.0, 45.0]


async def test_the_score_list_is_scoped_filtered_and_paged(scoring, usccs):
    donggang = [usccs(n) for n in range(3)]
    lanshan = usccs(9)
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(donggang[0]))
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(donggang[1], key_supervision=True))
    await d_grade_station(scoring, donggang[2])
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(lanshan, jurisdiction=LANSHAN))
    district = scoring.auth("regulator", jurisdiction=DONGGANG)

    async def listing(query: str, headers: dict[str, str]) -> list[str]:
        response = await scoring.client.get(f"/api/v1/scores?{query}", headers=headers)
        assert response.status_code == 200, response.text
        return [item["uscc"] for item in response.json()["items"]]

    assert await listing("", district) == donggang
    assert await listing("", scoring.city) == [*donggang, lanshan]
    assert await listing(f"jurisdiction={LANSHAN}", scoring.city) == [lanshan]
    assert await listing("grade=C", scoring.city) == [donggang[2]]
    assert await listing("key_supervision=true", district) == [donggang[1]]
    seen, cursor = [], ""
    while True:
        response = await scoring.client.get(f"/api/v1/scores?limit=2{cursor}", headers=scoring.city)
        seen += [item["uscc"] for item in response.json()["items"]]
        if not response.json()["next_cursor"]:
            break
        cursor = f"&cursor={response.json()['next_cursor']}"
    assert seen == [*donggang, lanshan]

    for query, headers, status, field in [
        (f"jurisdiction={LANSHAN}", district, 403, None),
        ("", scoring.auth("enterprise", enterprise=lanshan), 403, None),
        ("grade=E", scoring.city, 422, "grade"),
        ("jurisdiction=37", scoring.city, 422, "jurisdiction"),
        ("jurisdiction=071100", scoring.auth("admin"), 422, "jurisdiction"),  # no division code starts with 0
        ("limit=0", scoring.city, 422, "limit"),
        ("cursor=%%%", scoring.city, 422, "cursor"),
        ("cursor=WzFd", scoring.city, 422, "cursor"),  # [1]: a cursor of another list
    ]:
        response = await scoring.client.get(f"/api/v1/scores?{query}", headers=headers)
        assert response.status_code == status, (query, response.text)
        if field:
            assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_statistics_give_the_distribution_per_node_and_its_monthly_trend(scoring, usccs):
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(1)))
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(2), jurisdiction=LANSHAN))
    station = usccs(3)
    await d_grade_station(scoring, station)
    scoring.clock.advance(20)  # into the next month
    await scoring.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(station, scoring.clock.today))

    response = await scoring.client.get("/api/v1/statistics/grades", headers=scoring.city)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == {"A": 2, "B": 0, "C": 0, "D": 1, "total": 3}
    assert [(n["jurisdiction_code"], n["counts"]["total"], n["counts"]["D"]) for n in body["nodes"]] == [
        (DONGGANG, 2, 1), (LANSHAN, 1, 0)]

    district = await scoring.client.get("/api/v1/statistics/grades",
                                        headers=scoring.auth("regulator", jurisdiction=LANSHAN))
    assert district.json()["total"]["total"] == 1

    trend = await scoring.client.get("/api/v1/statistics/grades?over=month&months=2", headers=scoring.city)
    june, july = trend.json()["points"]
    assert (june["month"], june["on_date"], june["counts"]) == (
        "2026-06", "2026-06-30", {"A": 2, "B": 0, "C": 1, "D": 0, "total": 3})
    assert (july["month"], july["on_date"], july["counts"]["D"], july["counts"]["C"]) == ("2026-07", "2026-07-05", 1, 0)

    outside = await scoring.client.get(f"/api/v1/statistics/grades?jurisdiction={DONGGANG}",
                                       headers=scoring.auth("regulator", jurisdiction=LANSHAN))
    assert outside.status_code == 403
    bad = await scoring.client.get("/api/v1/statistics/grades?over=year", headers=scoring.city)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "over"


async def test_the_public_grade_needs_no_token_and_never_shows_the_breakdown(scoring, usccs):
    uscc = usccs()
    await d_grade_station(scoring, uscc)

    response = await scoring.client.get(f"/api/v1/public/enterprises/{uscc}/grade")

    assert response.status_code == 200
    assert response.json() == {"uscc": uscc, "name": f"企业{uscc[-4:]}", "display": "grade", "grade": "C",
                               "label_zh": "较高风险", "label_en": "elevated risk",
                               "grade_date": scoring.clock.today.isoformat()}
    unknown = await scoring.client.get(f"/api/v1/public/enterprises/{usccs(7)}/grade")
    assert unknown.status_code == 404


async def test_the_score_list_answers_any_cursor_it_did_not_issue_with_a_422(scoring, usccs):
    from shared.testing.cursors import forged_cursors

    for n in range(3):
        await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(usccs(n)))
    issued = (await scoring.client.get("/api/v1/scores?limit=1", headers=scoring.city)).json()["next_cursor"]
    assert (await scoring.client.get("/api/v1/scores", params={"cursor": issued},
                                     headers=scoring.city)).status_code == 200
    for name, cursor in forged_cursors(issued).items():
        response = await scoring.client.get("/api/v1/scores", params={"cursor": cursor}, headers=scoring.city)
        assert response.status_code == 422, (name, response.text)
        assert [e["field"] for e in response.json()["errors"]] == ["cursor"], name
