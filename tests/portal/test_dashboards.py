"""Dashboards on SQLite and PostgreSQL: grade distribution per child jurisdiction and its trend
by month's end, alerts by kind and status, self-inspection completion, each as JSON and CSV,
scoped to the regulator's subtree (a node outside it is 403)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta

from shared.contracts import enforcement, inspection, registry, scoring
from shared.db import new_uuid
from tests.portal.support import SHANGHAI, TODAY, alert_raised, alert_status, enterprise, score

DONGGANG, LANSHAN = "371102", "371103"
UNITS = {"91371102MA3C5K0X1Q": (DONGGANG, "D"), "91371102MA3C5K0X2Q": (DONGGANG, "A"),
         "91371102MA3C5K0X3Q": (LANSHAN, "B"), "91371102MA3C5K0X4Q": (LANSHAN, None)}


async def city(portal) -> None:  # type: ignore[no-untyped-def]
    earlier = datetime.combine(TODAY - timedelta(days=40), time(9), tzinfo=SHANGHAI)
    for uscc, (district, grade) in UNITS.items():
        await portal.deliver(registry.ENTERPRISE_REGISTERED, enterprise(uscc, jurisdiction_code=district))
        if grade:
            await portal.deliver(scoring.SCORE_UPDATED, score("B", uscc, at=earlier))  # everyone B last month
            await portal.deliver(scoring.SCORE_UPDATED, score(grade, uscc))
    d_unit, a_unit = list(UNITS)[:2]
    for alert_id, uscc in (("AL1", d_unit), ("AL2", a_unit)):
        await portal.deliver(enforcement.ALERT_RAISED, alert_raised(alert_id, new_uuid(), uscc,
                                                                    kind="filling_records_missing"))
    await portal.deliver(enforcement.ALERT_STATUS_CHANGED, alert_status("AL2", "resolved", a_unit))
    for n, (uscc, done) in enumerate([(d_unit, False), (a_unit, True), (list(UNITS)[2], True)]):
        await portal.deliver(inspection.TASK_CLOSED, inspection.SelfInspectionTaskClosed(
            task_id=f"T{n}", enterprise_uscc=uscc, due_date=TODAY - timedelta(days=2), completed=done,
            closed_at=datetime.combine(TODAY, time(1), tzinfo=SHANGHAI)).model_dump(mode="json"))


def rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))


async def test_the_city_sees_each_district_and_a_district_only_itself(portal):
    await city(portal)
    city_regulator = portal.auth("regulator", jurisdiction="371100")
    found = (await portal.client.get("/api/v1/statistics/grades", headers=city_regulator)).json()
    assert found["total"] == {"A": 1, "B": 1, "C": 0, "D": 1, "ungraded": 1, "total": 4}
    assert [(n["jurisdiction_code"], n["counts"]["total"]) for n in found["nodes"]] == [(DONGGANG, 2), (LANSHAN, 2)]
    assert rows(await portal.client.get("/api/v1/statistics/grades.csv", headers=city_regulator))[1:] == [
        [DONGGANG, "1", "0", "0", "1", "0", "2"], [LANSHAN, "0", "1", "0", "0", "1", "2"]]
    district = portal.auth("regulator", jurisdiction=DONGGANG)
    mine = (await portal.client.get("/api/v1/statistics/grades", headers=district)).json()
    assert mine["jurisdiction"] == DONGGANG and mine["total"]["total"] == 2
    assert (await portal.client.get("/api/v1/statistics/grades", params={"jurisdiction": LANSHAN},
                                    headers=district)).status_code == 403
    public = portal.auth("association", sub="日照市燃气协会")
    assert (await portal.client.get("/api/v1/statistics/alerts", headers=public)).status_code == 403


async def test_trend_alerts_and_self_inspection_completion(portal):
    await city(portal)
    regulator = portal.auth("regulator", jurisdiction="371100")
    trend = (await portal.client.get("/api/v1/statistics/grade-trend", params={"months": 3},
                                     headers=regulator)).json()["points"]
    assert [p["month"] for p in trend] == ["2026-04", "2026-05", "2026-06"]
    assert [p["counts"]["B"] for p in trend] == [0, 3, 1] and trend[-1]["counts"]["D"] == 1
    csv_trend = rows(await portal.client.get("/api/v1/statistics/grade-trend.csv", params={"months": 3},
                                             headers=regulator))
    assert csv_trend[0][:2] == ["month", "on_date"] and csv_trend[-1][0] == "2026-06"
    alerts = (await portal.client.get("/api/v1/statistics/alerts", headers=regulator)).json()["items"]
    assert alerts == [{"kind": "filling_records_missing", "status": "raised", "count": 1},
                      {"kind": "filling_records_missing", "status": "resolved", "count": 1}]
    done = (await portal.client.get("/api/v1/statistics/self-inspection", headers=regulator)).json()
    assert (done["due"], done["completed"], done["rate"]) == (3, 2, 0.667)
    assert [(n["jurisdiction_code"], n["rate"]) for n in done["nodes"]] == [(DONGGANG, 0.5), (LANSHAN, 1.0)]
    backwards = await portal.client.get("/api/v1/statistics/self-inspection", headers=regulator,
                                        params={"from": "2026-06-10", "to": "2026-06-01"})
    assert backwards.status_code == 200 and backwards.json()["due"] == 0  # an empty range
    no_day = await portal.client.get("/api/v1/statistics/self-inspection.csv", headers=regulator,
                                     params={"to": "2026-02-30"})
    assert no_day.status_code == 422 and no_day.json()["errors"][0]["field"] == "to"
