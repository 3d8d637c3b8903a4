"""Manual adjustment (人工调整) by a city-level regulator, inside the accident lock and the one-year
ceiling; who may do it; and its expiry."""

from __future__ import annotations

from services.scoring import models as tables
from shared.contracts import inspection, registry
from tests.scoring.support import CITY, DONGGANG, enterprise, filling_station, missing_day

URL = "/api/v1/enterprises/{}/grade-adjustment"


def rules(score: dict) -> list[str]:
    return [r["rule"] for r in score["rules_applied"]]


async def test_a_city_level_regulator_sets_a_grade_with_a_reason_and_lifts_it(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    city = scoring.auth("regulator", sub="city-chief", jurisdiction=CITY)
    body = {"grade": "C", "reason": "repeated complaints verified on site",
            "expires_on": scoring.clock.days_ago(-30).isoformat()}

    response = await scoring.client.put(URL.format(uscc), json=body, headers=city)

    assert response.status_code == 200, response.text
    score = response.json()
    assert (score["grade"], score["raw_grade"], rules(score)) == ("C", "A", ["manual_adjustment"])
    assert score["manual_adjustment"]["reason"] == body["reason"]
    assert score["cause"]["event_type"] == "scoring.grade_adjustment.set"
    [audit] = await scoring.audit("grade_adjustment.set")
    assert (audit["actor"], audit["subject"], audit["detail"]["grade"]) == ("city-chief", uscc, "C")
    history = (await scoring.client.get(f"/api/v1/enterprises/{uscc}/grade-history", headers=city)).json()["items"]
    assert (history[0]["grade"], history[0]["cause"]["ref"]) == ("C", score["manual_adjustment"]["id"])

    lifted = await scoring.client.delete(URL.format(uscc) + "?reason=complaints resolved", headers=city)

    assert lifted.status_code == 200
    # C was held today, so the one-year ceiling now caps the raw A at B.
    after = lifted.json()
    assert (after["grade"], rules(after), after["manual_adjustment"]) == ("B", ["ceiling"], None)
    assert [a["detail"]["reason"] for a in await scoring.audit("grade_adjustment.lifted")] == ["complaints resolved"]
    assert (await scoring.client.delete(URL.format(uscc), headers=city)).status_code == 404


async def test_an_adjustment_cannot_move_a_grade_inside_the_accident_lock(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    await scoring.deliver(registry.ACCIDENT_REPORTED, {"uscc": uscc, "accident_id": "A1",
                                                       "occurred_date": scoring.clock.days_ago(30).isoformat()})

    response = await scoring.client.put(URL.format(uscc), json={
        "grade": "A", "reason": "exemplary since", "expires_on": scoring.clock.days_ago(-10).isoformat()},
        headers=scoring.city)

    assert response.status_code == 200
    score = response.json()
    assert (score["grade"], rules(score)) == ("D", ["manual_adjustment", "ceiling", "accident_lock"])
    assert score["locked_until"] == "2029-05-16"


async def test_an_adjustment_is_capped_by_the_one_year_ceiling(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, filling_station(uscc))
    for n in range(1, 6):
        await scoring.deliver(inspection.FILLING_RECORDS_MISSING, missing_day(uscc, scoring.clock.days_ago(n)))
    assert (await scoring.score(uscc))["grade"] == "C"
    scoring.clock.advance(1)
    await scoring.deliver(registry.ENTERPRISE_UPDATED, enterprise(uscc, 2))  # everything put right
    assert ((await scoring.score(uscc))["raw_grade"], (await scoring.score(uscc))["grade"]) == ("A", "B")

    response = await scoring.client.put(URL.format(uscc), json={
        "grade": "A", "reason": "put right", "expires_on": scoring.clock.today.isoformat()}, headers=scoring.admin)

    assert response.status_code == 200
    assert (response.json()["grade"], rules(response.json())) == ("B", ["manual_adjustment", "ceiling"])
    assert response.json()["ceiling_until"] == scoring.clock.days_ago(-365).isoformat()


async def test_only_a_city_level_regulator_adjusts_and_bad_input_writes_nothing(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    good = {"grade": "B", "reason": "x", "expires_on": scoring.clock.days_ago(-1).isoformat()}
    for headers, status in [(scoring.auth("regulator", jurisdiction=DONGGANG), 403),
                            (scoring.auth("regulator", jurisdiction="370200"), 403),  # another city
                            (scoring.auth("enterprise", enterprise=uscc), 403),
                            (scoring.auth("integrator"), 403), ({}, 401)]:
        response = await scoring.client.put(URL.format(uscc), json=good, headers=headers)
        assert response.status_code == status, headers
    for body, field in [({**good, "reason": " "}, "reason"), ({**good, "grade": "E"}, "grade"),
                        ({k: v for k, v in good.items() if k != "reason"}, "reason"),
                        ({**good, "expires_on": scoring.clock.days_ago(1).isoformat()}, "expires_on"),
                        ({**good, "expires_on": "soon"}, "expires_on"),
                        # nothing is coerced: a number is no date, a moment no day, a number no text
                        ({**good, "expires_on": 0}, "expires_on"),
                        ({**good, "expires_on": scoring.clock.days_ago(-1).isoformat() + "T00:00:00"}, "expires_on"),
                        ({**good, "reason": 7}, "reason"), ({**good, "note": "x"}, "note")]:
        response = await scoring.client.put(URL.format(uscc), json=body, headers=scoring.city)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await scoring.client.put(URL.format(usccs(5)), json=good, headers=scoring.city)).status_code == 404
    assert await scoring.count(tables.adjustments) == 0
    assert await scoring.audit("grade_adjustment.set") == []
    assert (await scoring.score(uscc))["grade"] == "A"


async def test_an_adjustment_ends_after_its_expiry_date(scoring, usccs):
    uscc = usccs()
    await scoring.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc))
    await scoring.client.put(URL.format(uscc), json={"grade": "B", "reason": "probation",
                                                     "expires_on": scoring.clock.today.isoformat()},
                             headers=scoring.city)
    assert (await scoring.score(uscc))["grade"] == "B"

    scoring.clock.advance(1)
    await scoring.rescore_all()

    score = await scoring.score(uscc)
    assert (score["grade"], rules(score)) == ("A", ["manual_adjustment_expired"])
