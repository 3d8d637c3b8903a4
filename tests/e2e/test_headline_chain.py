"""The headline chain of contract.md §5 end to end, over HTTP only, against the platform as
`make run` starts it (support.py): an LPG filling station whose ledger makes it grade D uploads
no filling records for a business date; the cut-off finds it missing, scoring rescores it and
enforcement raises one on-site enforcement alert in the same chain (correlation id = the
missing-records event's id); a second cut-off changes nothing; a B-grade station's warning
closes itself when its records arrive; the on-site 332211 patrol fails item 12 (一记录), a case
is decided under Art. 85(1) with a ¥30,000 fine, and the score, its breakdown, the grade history
and the public QR page show it.

The scheduled jobs that would add events of their own while the test runs (the 21:00 cut-off,
registry's daily ledger job at 00:10) are switched off by configuration: the processes, the
broker and every path the chain takes are those of `make run`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from services.registry.domain.uscc import make_uscc
from shared.contracts.enforcement import CASE_OPENED, PATROL_COMPLETED, PENALTY_DECIDED
from shared.contracts.inspection import FILLING_RECORDS_MISSING
from shared.contracts.vocabulary import ITEM_RECORDS_COMPLETE
from shared.locality import BUSINESS_TIMEZONE, business_date
from tests.e2e.support import Platform, bearer, wait_for

pytestmark = pytest.mark.broker
CHAIN_S = 20.0  # the chain completes "within a few seconds": generous on a shared 2-core machine
DONGGANG = "371102"
D_STATION = make_uscc("91371102MA3HL0001")
B_STATION = make_uscc("91371102MA3HL0002")
REGULATOR = bearer("regulator", jurisdiction=DONGGANG, sub="inspector-wang")
ADMIN = bearer("admin")
MISSING = "filling_records_missing"


@pytest.fixture
def platform_env() -> dict[str, str]:
    return {"SAFEGRID_INSPECTION_CUTOFF_ENABLED": "false", "SAFEGRID_REGISTRY_DAILY_JOB_ENABLED": "false"}


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, f"{response.request.method} {response.request.url}: {response.text}"
    return response.json()


def holds(probe: Callable[[], bool], what: str, seconds: float = 2.0) -> None:
    """``probe`` stays true for ``seconds`` (nothing more arrives once the chain is done)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert probe(), f"{what} changed"
        time.sleep(0.25)


class Api:
    """The five services' HTTP APIs as the test calls them."""

    def __init__(self, platform: Platform) -> None:
        self.platform, self.http = platform, httpx.Client(timeout=15)

    def get(self, service: str, path: str, headers: dict[str, str] = REGULATOR, **params: Any) -> httpx.Response:
        return self.http.get(self.platform.url(service, path), headers=headers, params=params)

    def post(self, service: str, path: str, body: Any, headers: dict[str, str] = REGULATOR,
             status: int = 201) -> Any:
        return ok(self.http.post(self.platform.url(service, path), headers=headers, json=body), status)

    def put(self, service: str, path: str, body: Any, headers: dict[str, str] = REGULATOR) -> Any:
        return ok(self.http.put(self.platform.url(service, path), headers=headers, json=body))

    def score(self, uscc: str) -> dict[str, Any] | None:
        response = self.get("scoring", f"/api/v1/enterprises/{uscc}/score")
        return response.json() if response.status_code == 200 else None

    def score_history(self, uscc: str) -> list[dict[str, Any]]:
        return ok(self.get("scoring", f"/api/v1/enterprises/{uscc}/score-history", limit=100))["items"]

    def alerts(self, uscc: str, **filters: str) -> list[dict[str, Any]]:
        return ok(self.get("enforcement", "/api/v1/alerts", headers=ADMIN, enterprise=uscc, **filters))["items"]

    def cutoff(self, day: date) -> dict[str, Any]:
        return self.post("inspection", "/api/v1/admin/cutoffs", {"date": day.isoformat()}, ADMIN, status=200)


# --- the two stations' ledgers -------------------------------------------------------------------

def register(api: Api, uscc: str, name: str, credit: str, management: dict[str, bool], today: date,
             equipment: list[dict[str, Any]], operators: list[dict[str, Any]], lat: float) -> None:
    api.post("registry", "/api/v1/enterprises", {
        "uscc": uscc, "name": name, "jurisdiction_code": DONGGANG, "address": f"山东省日照市东港区{name}",
        "location": {"lat": lat, "lon": 119.52}, "venue_type": "other", "kinds": ["gas_filling"],
        "general_credit_grade": credit, "management": management})
    for item in equipment:
        api.post("registry", f"/api/v1/enterprises/{uscc}/equipment", {"category": "2300", "status": "in_use", **item})
    for operator in operators:
        api.post("registry", f"/api/v1/enterprises/{uscc}/operators", operator)
    cylinders = [{"cylinder_no": f"{uscc[-4:]}-{n:04d}", "medium": "液化石油气", "manufactured_date": "2022-05-01",
                  "next_inspection_date": (today + timedelta(days=400)).isoformat(),
                  "scrap_date": (today + timedelta(days=2000)).isoformat()} for n in range(1, 4)]
    assert api.post("registry", f"/api/v1/enterprises/{uscc}/cylinders", {"cylinders": cylinders},
                    status=200)["inserted"] == 3


def register_d_station(api: Api, today: date) -> None:
    """Grade D by its facts (rizhao-2026.1): general credit D 10; 三落实 all missing 15; both
    operators without a valid certificate 10; 双机制 both missing 8; an unregistered cylinder
    rack in use 6, another past its inspection date 8, gas filling 3; drills and training
    missing 4: 64."""
    register(api, D_STATION, "东港区某街道液化气站", "D", {
        "safety_organization": False, "responsible_persons": False, "management_system": False,
        "emergency_plan": True, "emergency_drills": False, "training": False,
        "risk_control_mechanism": False, "hazard_investigation_mechanism": False}, today, equipment=[
        {"registration_no": None, "equipment_code": "D-RACK-1", "next_inspection_due": f"{today.year + 1}-06-30"},
        {"registration_no": "容3LC鲁L90001(24)", "equipment_code": "D-RACK-2",
         "next_inspection_due": (today - timedelta(days=40)).isoformat()},
    ], operators=[
        {"name": "赵某", "certificate_no": "TSP-HL-0001", "certificate_category": "P",
         "certificate_issued_date": "2021-01-10", "certificate_valid_until": (today - timedelta(days=20)).isoformat()},
        {"name": "钱某"},  # no certificate at all
    ], lat=35.42)


def register_b_station(api: Api, today: date) -> None:
    """Grade B by its facts: general credit C 7; no management system 5; a cylinder rack past
    its inspection date 8; gas filling 3: 23."""
    management = {k: True for k in ("safety_organization", "responsible_persons", "emergency_plan",
                                    "emergency_drills", "training", "risk_control_mechanism",
                                    "hazard_investigation_mechanism")}
    register(api, B_STATION, "东港区某镇液化气供应站", "C", {**management, "management_system": False}, today,
             equipment=[{"registration_no": "容3LC鲁L90002(24)", "equipment_code": "B-RACK-1",
                         "next_inspection_due": (today - timedelta(days=10)).isoformat()}],
             operators=[{"name": "孙某", "certificate_no": "TSP-HL-0002", "certificate_category": "P",
                         "certificate_issued_date": "2024-03-01",
                         "certificate_valid_until": f"{today.year + 3}-02-28"}],
             lat=35.43)


def scored(api: Api, uscc: str, score: float, grade: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        found = api.score(uscc)
        return found if found and (found["score"], found["grade"]) == (score, grade) else None
    return probe


def line(score: dict[str, Any], indicator: str) -> dict[str, Any]:
    [found] = [b for b in score["breakdown"] if b["indicator"] == indicator]
    return found


def rescored_by(api: Api, uscc: str, event_type: str) -> Callable[[], dict[str, Any] | None]:
    def probe() -> dict[str, Any] | None:
        return next((h for h in api.score_history(uscc) if h["cause"]["event_type"] == event_type), None)
    return probe


# --- the chain -----------------------------------------------------------------------------------

def test_the_headline_chain_runs_end_to_end_over_http(platform):
    api = Api(platform)
    today = business_date(datetime.now(UTC))

    # (a) two filling stations whose ledgers make them D and B
    register_d_station(api, today)
    register_b_station(api, today)
    d_before = wait_for(scored(api, D_STATION, 64.0, "D"), "scoring to grade the D station D at 64", CHAIN_S)
    assert {b["indicator"]: b["points"] for b in d_before["breakdown"] if b["points"]} == {
        "G0.general_credit_grade": 10, "G1.safety_organization_missing": 5, "G1.responsible_persons_missing": 5,
        "G1.management_system_missing": 5, "G2.operators_without_certificate": 10,
        "G3.risk_control_mechanism_missing": 4, "G3.hazard_investigation_mechanism_missing": 4,
        "G4.unregistered_equipment_in_use": 6, "G4.equipment_past_inspection": 8, "G4.inherently_hazardous_kind": 3,
        "G5.emergency_drills_missing": 2, "G5.training_missing": 2}
    assert d_before["rules_applied"] == [] and d_before["manual_adjustment"] is None  # graded by its facts
    wait_for(scored(api, B_STATION, 23.0, "B"), "scoring to grade the B station B at 23", CHAIN_S)
    for uscc in (D_STATION, B_STATION):  # the cut-off judges the units inspection's ledger knows
        wait_for(lambda uscc=uscc: api.get("inspection", f"/api/v1/enterprises/{uscc}/closed-days").status_code == 200,
                 f"inspection's ledger to know {uscc}", CHAIN_S)

    # (b) no filling records for the day: the cut-off finds both missing
    day = business_date(datetime.now(UTC))
    cutoff = api.cutoff(day)
    assert (cutoff["date"], cutoff["checked"], cutoff["newly_found"]) == (day.isoformat(), 2, 2)
    found = {m["enterprise_uscc"]: m for m in cutoff["missing"]}
    assert set(found) == {D_STATION, B_STATION} and all(m["new"] for m in found.values())
    missing_id = found[D_STATION]["event_id"]

    rescoring = wait_for(rescored_by(api, D_STATION, FILLING_RECORDS_MISSING.type),
                         "scoring to rescore the D station from filling_records.missing", CHAIN_S)
    assert rescoring["cause"]["event_id"] == missing_id
    assert rescoring["cause"]["correlation_id"] == missing_id  # score.updated's correlation: the missing event
    assert (rescoring["score"], rescoring["grade"], rescoring["previous_grade"]) == (67.0, "D", "D")
    d_after = api.score(D_STATION)
    assert d_after is not None and d_after["cause"] == rescoring["cause"]
    assert (line(d_after, "G5.missing_filling_records")["points"],
            line(d_after, "G5.missing_filling_records")["evidence"]) == (3, [missing_id])

    [alert] = wait_for(lambda: api.alerts(D_STATION), "enforcement to raise the D station's alert", CHAIN_S)
    assert (alert["kind"], alert["action"], alert["grade"], alert["grade_source"]) == (
        MISSING, "onsite_enforcement", "D", "score_event")  # chosen by the fresh grade score.updated carried
    assert alert["correlation_id"] == alert["cause_event_id"] == missing_id
    assert (alert["business_date"], alert["addressed_to"], alert["merged_events"]) == (
        day.isoformat(), "grid_inspectors", 1)
    assert alert["status"] in ("raised", "dispatched")
    assert [h["cause"]["event_id"] for h in api.score_history(D_STATION)
            if h["cause"]["event_type"] == FILLING_RECORDS_MISSING.type] == [missing_id]  # one rescoring

    # (c) the cut-off again: the same findings, no new event, so no rescoring and no second alert
    again = api.cutoff(day)
    assert again["newly_found"] == 0 and not any(m["new"] for m in again["missing"])
    assert {m["enterprise_uscc"]: m["event_id"] for m in again["missing"]} == {
        u: m["event_id"] for u, m in found.items()}
    history_count = len(api.score_history(D_STATION))
    holds(lambda: len(api.score_history(D_STATION)) == history_count
          and [(a["id"], a["merged_events"]) for a in api.alerts(D_STATION)] == [(alert["id"], 1)],
          "the D station's score history or alerts after the second cut-off")

    # (d) the B station: a warning to the enterprise, which closes itself when the records arrive
    [warning] = wait_for(lambda: api.alerts(B_STATION, kind=MISSING), "the B station's warning", CHAIN_S)
    assert (warning["action"], warning["grade"], warning["addressed_to"], warning["status"]) == (
        "warning", "B", "enterprise", "raised")
    assert warning["correlation_id"] == found[B_STATION]["event_id"]
    b_rescoring = wait_for(rescored_by(api, B_STATION, FILLING_RECORDS_MISSING.type), "the B station's rescoring",
                           CHAIN_S)
    assert (b_rescoring["score"], b_rescoring["grade"]) == (26.0, "B")
    own = bearer("enterprise", enterprise=B_STATION)
    uploaded = api.post("inspection", "/api/v1/filling-records", {"records": [{
        "enterprise_uscc": B_STATION, "cylinder_no": f"{B_STATION[-4:]}-0001", "medium": "液化石油气",
        "filled_at": filled_on(day), "pre_check_passed": True, "post_check_passed": True,
        "operator_cert_no": "TSP-HL-0002", "filled_mass_kg": 14.5}]}, own)
    assert (uploaded["stored"], uploaded["rejected"]) == (1, 0)
    closed = wait_for(lambda: next((a for a in api.alerts(B_STATION, kind=MISSING) if a["status"] == "resolved"),
                                   None), "the B station's warning to close itself", CHAIN_S)
    assert closed["id"] == warning["id"] and closed["resolved_by"] == "system"
    assert "arrived late" in closed["resolution_note"]
    late = api.cutoff(day)  # the cut-off's list says the records arrived late, and still finds nothing new
    assert late["newly_found"] == 0
    assert {m["enterprise_uscc"]: m["records_arrived_late"] for m in late["missing"]} == {
        D_STATION: False, B_STATION: True}

    # (e) the on-site patrol answers the D alert, fails 一记录; a case decided under Art. 85(1)
    patrol = api.post("enforcement", "/api/v1/patrols", {
        "enterprise_uscc": D_STATION, "mode": "onsite", "alert_id": alert["id"],
        "inspectors": [{"id": "inspector-wang", "name": "王明"}, {"id": "inspector-li", "name": "李强"}]})
    failed = {1: "无安全管理机构", 2: "未明确安全责任人员", 3: "无安全管理制度", 5: "未开展应急演练",
              6: "未开展安全培训", 7: "未建立风险分级管控", 8: "未建立隐患排查治理", 9: "一组气瓶集格未办理使用登记",
              10: "两名充装人员无有效证件", 11: "一组气瓶集格超期未检",
              ITEM_RECORDS_COMPLETE: "当日气瓶充装前后检查记录缺失"}
    for item in range(1, 13):  # marked as the ledger stands: only item 12 is news to scoring
        mark = {"mark": "fail", "note": failed[item]} if item in failed else {"mark": "pass"}
        api.put("enforcement", f"/api/v1/patrols/{patrol['id']}/items/{item}", mark)
    completed = api.post("enforcement", f"/api/v1/patrols/{patrol['id']}/complete", {"summary": "现场检查"}, status=200)
    assert completed["status"] == "completed" and completed["unmarked"] == []
    offence = next(o for o in ok(api.get("enforcement", "/api/v1/legal-basis"))["offences"]
                   if o["article"] == "85(1)")
    assert ITEM_RECORDS_COMPLETE in offence["checklist_items"] and offence["fine"] == {"min": 20000, "max": 200000}
    finding = api.post("enforcement", f"/api/v1/patrols/{patrol['id']}/findings", {
        "item": ITEM_RECORDS_COMPLETE, "note": failed[ITEM_RECORDS_COMPLETE],
        "case": {"offence_code": offence["code"], "summary": "充装单位未按规定实施充装前后的检查、记录制度"}})
    case_url = f"/api/v1/cases/{finding['case_id']}"
    api.post("enforcement", f"{case_url}/evidence", {"kind": "record", "description": "充装记录台账空白页照片"})
    proposal = api.post("enforcement", f"{case_url}/proposal", {
        "first_offence": False, "minor": False, "corrected_in_time": False, "leaves_hazard": False}, status=200)
    assert proposal["proposal"]["outcome"] == "fine"
    decided = api.post("enforcement", f"{case_url}/decision", {
        "outcome": "fine", "fine_yuan": 30000, "reasons": "未按规定实施充装前后检查、记录制度", "signer_name": "王明"},
        status=200)
    assert decided["status"] == "decided" and decided["decision"]["article"] == "85(1)"
    assert decided["decision"]["fine_yuan"] == 30000 and decided["penalty_id"]

    # the score and its breakdown: +3 record gaps found on patrol, +5 the case, +5 the penalty
    final = wait_for(scored(api, D_STATION, 80.0, "D"), "the D station's score to take the patrol, case and penalty",
                     CHAIN_S)
    lines = {b["indicator"]: b for b in final["breakdown"]}
    assert (lines["G5.patrol_record_gaps"]["points"], lines["G6.cases_opened"]["points"],
            lines["G6.penalties_decided"]["points"]) == (3, 5, 5)
    assert all(lines[i]["evidence"] for i in ("G5.patrol_record_gaps", "G6.cases_opened", "G6.penalties_decided"))
    assert lines["G5.missing_filling_records"]["evidence"] == [missing_id]
    history = api.score_history(D_STATION)  # newest first; the three topics' events in any order
    assert {PATROL_COMPLETED.type, CASE_OPENED.type, PENALTY_DECIDED.type} <= {
        h["cause"]["event_type"] for h in history[:3]}
    assert (history[0]["score"], history[0]["grade"]) == (80.0, "D")

    # the grade history: D held since the ledger made it D, through the whole chain
    periods = ok(api.get("scoring", f"/api/v1/enterprises/{D_STATION}/grade-history"))["items"]
    assert periods[0]["grade"] == "D" and periods[0]["to_date"] is None
    assert periods[0]["from_date"] == final["grade_since"]
    assert [p["grade"] for p in periods].count("D") == 1  # no grade change along the chain

    # the alert's history says the patrol answered it; the inspector resolves it
    steps = [s["step"] for s in ok(api.get("enforcement", f"/api/v1/alerts/{alert['id']}"))["history"]]
    assert steps[0] == "raised" and "patrolled" in steps
    resolved = api.post("enforcement", f"/api/v1/alerts/{alert['id']}/resolve",
                        {"note": "立案查处，罚款30000元"}, status=200)
    assert resolved["status"] == "resolved"

    # the public QR page (一企一码, no login) shows the unit and its grade
    qr = ok(api.get("registry", f"/api/v1/enterprises/{D_STATION}/qr"))
    assert qr["url"].startswith(platform.url("portal", "/q/"))
    public = ok(httpx.get(platform.url("portal", f"/api/v1/public/qr/{qr['token']}")))
    assert (public["name"], public["grade"]["grade"], public["grade"]["grade_date"]) == (
        "东港区某街道液化气站", "D", final["grade_since"])
    page = httpx.get(qr["url"])
    assert page.status_code == 200 and "东港区某街道液化气站" in page.text and 'aria-label="等级 D"' in page.text


def filled_on(day: date) -> str:
    """A moment of ``day`` that is not in the future (and, unless the day has just begun, not a
    night fill), as RFC 3339."""
    now = datetime.now(BUSINESS_TIMEZONE)
    moment = min(now - timedelta(seconds=5), datetime.combine(day, datetime.max.time(), BUSINESS_TIMEZONE))
    return max(moment, datetime.combine(day, datetime.min.time(), BUSINESS_TIMEZONE)).isoformat()
