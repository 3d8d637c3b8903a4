"""The demo city applied to a running platform: the ledger through registry's service layer (in
this process, on registry's database, as ``safegrid registry demo`` does), then the rest of
``plan.CityPlan`` through the other services' public HTTP APIs at their configured ports, with
development tokens of the roles each endpoint requires. Each step waits for the events it
depends on (outboxes drained, consumers caught up) before it goes on."""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import httpx

from services.catalog import BY_NAME, SERVICES
from services.demo.plan import CityPlan, PatrolPlan, TaskPlan, plan_city
from services.registry.demo import PlannedUnit
from shared.auth import issue_token
from shared.config import ServiceSettings
from shared.locality import BUSINESS_TIMEZONE

CITY = "371100"
Say = Callable[[str], None]


def tiny_png(seed: int) -> bytes:
    """A valid 1×1 PNG (a rectification photo), one colour per seed."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    pixel = bytes([0, seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b""))


def _today() -> date:
    return datetime.now(BUSINESS_TIMEZONE).date()


class DemoFailed(RuntimeError):
    pass


def _expect(response: httpx.Response, *codes: int) -> Any:
    if response.status_code not in codes:
        raise DemoFailed(f"{response.request.method} {response.request.url.path} → {response.status_code}: "
                         f"{response.text[:400]}")
    return response.json() if response.content and "json" in response.headers.get("content-type", "") else None


@dataclass
class Platform:
    """The running services, as the catalogue and the environment place them, and tokens."""

    settings: ServiceSettings = field(default_factory=ServiceSettings)
    host: str = "127.0.0.1"
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=60.0))

    def url(self, service: str, path: str) -> str:
        return f"http://{self.host}:{BY_NAME[service].settings().effective_port}{path}"

    def token(self, role: str, **claims: str) -> dict[str, str]:
        sub = claims.pop("sub", None) or (f"demo-{claims['enterprise']}" if role == "enterprise" else f"demo-{role}")
        return {"Authorization": f"Bearer {issue_token(self.settings, role=role, sub=sub, **claims)}"}

    @property
    def admin(self) -> dict[str, str]:
        return self.token("admin")

    @property
    def regulator(self) -> dict[str, str]:
        return self.token("regulator", jurisdiction=CITY, sub="demo-regulator-371100")

    def enterprise(self, uscc: str) -> dict[str, str]:
        return self.token("enterprise", enterprise=uscc)

    async def call(self, method: str, service: str, path: str, headers: dict[str, str], *codes: int,
                   **kwargs: Any) -> Any:
        response = await self.client.request(method, self.url(service, path), headers=headers, **kwargs)
        return _expect(response, *(codes or (200, 201)))

    async def metrics(self) -> tuple[float, float, float]:
        """(outbox backlog, consumer lag, events consumed) summed over every service."""
        backlog = lag = consumed = 0.0
        for info in SERVICES:
            text = (await self.client.get(self.url(info.name, "/metrics"))).text
            for line in text.splitlines():
                name, _, value = line.rpartition(" ")
                if name.startswith("safegrid_outbox_backlog"):
                    backlog += float(value)
                elif name.startswith("safegrid_consumer_lag{"):
                    lag += float(value)
                elif name.startswith("safegrid_consumer_events_total{"):
                    consumed += float(value)
        return backlog, lag, consumed

    async def settle(self, timeout_s: float, quiet_s: float = 1.5) -> bool:
        """Wait until every outbox is drained, every consumer caught up, and nothing was consumed
        for ``quiet_s``; False when ``timeout_s`` passed first."""
        deadline, last, since = time.monotonic() + timeout_s, -1.0, time.monotonic()
        while time.monotonic() < deadline:
            backlog, lag, consumed = await self.metrics()
            if backlog or lag or consumed != last:
                last, since = consumed, time.monotonic()
            elif time.monotonic() - since >= quiet_s:
                return True
            await asyncio.sleep(0.3)
        return False

    async def poll(self, probe: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = await probe()
            if found:
                return found
            await asyncio.sleep(0.3)
        raise DemoFailed(f"timed out after {timeout_s:.0f}s waiting for {what}")


@dataclass
class Tally:
    counts: Counter[str] = field(default_factory=Counter)

    def add(self, name: str, n: int = 1) -> None:
        self.counts[name] += n


async def grades(platform: Platform) -> dict[str, int]:
    stats = await platform.call("GET", "scoring", "/api/v1/statistics/grades", platform.regulator,
                                params={"jurisdiction": CITY})
    return {k: stats["total"][k] for k in ("A", "B", "C", "D", "total")}


async def wait_for_scores(platform: Platform, expected: int, timeout_s: float) -> None:
    async def scored() -> bool:
        return (await grades(platform))["total"] >= expected
    await platform.poll(scored, timeout_s, f"scoring to grade {expected} units")


# --- inspection: records and the cut-off --------------------------------------------------------

async def upload_records(platform: Platform, plan: CityPlan, tally: Tally) -> None:
    for station in plan.stations:
        records = list(station.records)
        for start in range(0, len(records), 5000):
            out = await platform.call("POST", "inspection", "/api/v1/filling-records",
                                      platform.enterprise(station.uscc), 201,
                                      json={"records": records[start:start + 5000]})
            if out["rejected"]:
                raise DemoFailed(f"inspection rejected records of {station.uscc}: {out['rejections'][:3]}")
            tally.add("filling records", out["stored"])
            tally.add("filling anomalies", out["anomalies"])


async def run_cutoffs(platform: Platform, plan: CityPlan, tally: Tally) -> None:
    for day in plan.cutoff_dates:
        out = await platform.call("POST", "inspection", "/api/v1/admin/cutoffs", platform.admin,
                                  json={"date": day.isoformat()})
        tally.add("cut-offs run")
        tally.add("units found missing", len(out["missing"]))


# --- inspection: self-inspection, hazards -------------------------------------------------------

def _results(task: TaskPlan) -> dict[str, dict[str, Any]]:
    return {code: {"passed": code not in task.failed, "note": "" if code not in task.failed else f"{text}不符合要求"}
            for code, text in task.matters.items()}


def _submission(unit: PlannedUnit, results: dict[str, dict[str, Any]], client_id: str) -> dict[str, Any]:
    location = unit.enterprise.location
    assert location is not None
    return {"client_id": client_id, "device_time": datetime.now(BUSINESS_TIMEZONE).isoformat(),
            "location": {"lat": location.lat + 0.0001, "lon": location.lon}, "gps_accuracy_m": 8.0,
            "spot": "现场", "results": results, "note": "自查完成"}


async def self_inspection(platform: Platform, plan: CityPlan, units: dict[str, PlannedUnit], tally: Tally) -> None:
    regulator = platform.regulator
    now = datetime.now(BUSINESS_TIMEZONE)
    template = await platform.call("POST", "inspection", "/api/v1/task-templates", regulator, 201, json={
        "name": "气瓶充装单位日管控", "cycle": "daily", "target": {"jurisdiction_code": CITY, "kinds": ["gas_filling"]},
        "scene": {"kind": "spot", "id": "现场", "photo_required": False},
        "matters": {"pre_check": {"text": "充装前后检查"}, "ledger": {"text": "气瓶台账核对"}}})
    tally.add("self-inspection tasks", template["issued"])
    for uscc in plan.daily_template_done:
        headers = platform.enterprise(uscc)
        found = await platform.call("GET", "inspection", "/api/v1/tasks", headers,
                                    params={"enterprise": uscc, "template_id": template["id"]})
        for task in found["items"]:
            await platform.call("PUT", "inspection", f"/api/v1/tasks/{task['id']}/assignee", headers,
                                json={"kind": "user", "id": f"demo-{uscc}"})
            results = {code: {"passed": True} for code in task["matters"]}
            await platform.call("POST", "inspection", f"/api/v1/tasks/{task['id']}/submissions", headers, 201,
                                json=_submission(units[uscc], results, f"daily-{task['id'][:8]}"))
            tally.add("self-inspection submissions")
    for n, task in enumerate(plan.tasks):
        unit, headers = units[task.uscc], platform.enterprise(task.uscc)
        issued = await platform.call("POST", "inspection", "/api/v1/tasks", regulator, 201, json={
            "title": task.title, "target": {"enterprise_uscc": task.uscc},
            "window_start": (now - timedelta(days=2)).isoformat(), "duration_minutes": 7 * 24 * 60,
            "assignee": {"kind": "user", "id": f"demo-{task.uscc}"},
            "scene": {"kind": "spot", "id": "现场", "photo_required": False},
            "matters": {code: {"text": text} for code, text in task.matters.items()}})
        tally.add("self-inspection tasks", issued["issued"])
        if not task.submitted or not issued["task_ids"]:
            continue
        [task_id] = issued["task_ids"]
        out = await platform.call("POST", "inspection", f"/api/v1/tasks/{task_id}/submissions", headers, 201,
                                  json=_submission(unit, _results(task), f"demo-{n}"))
        tally.add("self-inspection submissions")
        tally.add("hazards raised", len(out["hazard_ids"]))
        failed = [code for code in task.matters if code in task.failed]
        for code, hazard_id in zip(failed, out["hazard_ids"], strict=False):
            if code not in task.rectified and code not in task.evidence_only:
                continue
            blob = await platform.call("POST", "inspection", f"/api/v1/enterprises/{task.uscc}/blobs",
                                       {**headers, "Content-Type": "image/png"}, 200, 201, content=tiny_png(n))
            await platform.call("POST", "inspection", f"/api/v1/hazards/{hazard_id}/evidence", headers, 201,
                                json={"note": "已整改，附整改后照片", "photos": [blob["sha256"]]})
            if code in task.rectified:
                await platform.call("POST", "inspection", f"/api/v1/hazards/{hazard_id}/verify", regulator,
                                    json={"verdict": "accepted", "note": "现场复核，整改到位"})
                tally.add("hazards rectified")


# --- enforcement: patrols, findings, orders, cases ------------------------------------------------

async def _alerts(platform: Platform, **params: str) -> list[dict[str, Any]]:
    found = await platform.call("GET", "enforcement", "/api/v1/alerts", platform.regulator, params=params)
    return found["items"]


async def _decide(platform: Platform, case_id: str, tally: Tally) -> None:
    regulator = platform.regulator
    await platform.call("POST", "enforcement", f"/api/v1/cases/{case_id}/evidence", regulator, 201, json={
        "kind": "record", "description": "调取充装信息追溯系统记录：当日无充装记录上传"})
    case = await platform.call("POST", "enforcement", f"/api/v1/cases/{case_id}/proposal", regulator, json={
        "first_offence": False, "minor": False, "corrected_in_time": False, "leaves_hazard": False})
    proposal = case["proposal"]
    decision: dict[str, Any] = {"outcome": proposal["outcome"], "measures": proposal["measures"],
                                "reasons": "充装前后检查记录制度未落实，且非首次", "signer_name": "王建国"}
    if proposal["outcome"] == "fine":
        decision["fine_yuan"] = (proposal["suggested_fine"] or proposal["legal_range"])["min"]
    if proposal["outcome"] == "order_to_correct":
        decision["order"] = {"requirement": "建立并落实充装前后检查记录制度",
                             "deadline_date": (_today() + timedelta(days=15)).isoformat()}
    await platform.call("POST", "enforcement", f"/api/v1/cases/{case_id}/decision", regulator, json=decision)
    tally.add("cases decided")


async def _patrol(platform: Platform, patrol: PatrolPlan, tally: Tally) -> None:
    regulator = platform.regulator
    body: dict[str, Any] = {"enterprise_uscc": patrol.uscc, "mode": patrol.mode, "inspectors": list(patrol.inspectors)}
    if patrol.answers_alert:
        missing = await _alerts(platform, enterprise=patrol.uscc, kind="filling_records_missing")
        if missing:
            body["alert_id"] = missing[0]["id"]
    started = await platform.call("POST", "enforcement", "/api/v1/patrols", regulator, 201, json=body)
    path = f"/api/v1/patrols/{started['id']}"
    for item in range(1, 13):
        note = patrol.fails.get(item)
        await platform.call("PUT", "enforcement", f"{path}/items/{item}", regulator,
                            json={"mark": "fail" if note else "pass", "note": note})
    for item, note in patrol.fails.items():
        finding: dict[str, Any] = {"item": item, "note": note}
        if item == patrol.order_item:
            finding["order"] = {"deadline_date": (_today() + timedelta(days=15)).isoformat()}
        if item == patrol.case_item and patrol.offence_code:
            finding["case"] = {"offence_code": patrol.offence_code, "summary": note}
        out = await platform.call("POST", "enforcement", f"{path}/findings", regulator, 201, json=finding)
        tally.add("findings")
        if out["case_id"]:
            tally.add("cases opened")
            await _decide(platform, out["case_id"], tally)
        if out["order_id"]:
            tally.add("orders to correct")
            order = f"/api/v1/orders/{out['order_id']}"
            await platform.call("POST", "enforcement", f"{order}/rectification", platform.enterprise(patrol.uscc),
                                json={"note": "已组织应急演练并补录记录"})
            await platform.call("POST", "enforcement", f"{order}/verification", regulator,
                                json={"passed": True, "note": "复查合格"})
            tally.add("orders rectified")
    await platform.call("POST", "enforcement", f"{path}/complete", regulator,
                        json={"summary": "332211 巡查完成" + ("，发现问题已处置" if patrol.fails else "，未发现问题")})
    tally.add(f"{patrol.mode} patrols")


async def enforcement(platform: Platform, plan: CityPlan, tally: Tally, say: Say) -> None:
    if plan.missing_today:  # a busy platform (a benchmark city) may still be on its way: go on without
        try:
            await platform.poll(lambda: _alerts(platform, enterprise=plan.missing_today[0],
                                                kind="filling_records_missing"), 60, "the missing-records alert")
        except DemoFailed as exc:
            say(f"  ({exc}: the D-grade station's patrol answers none)")
    for patrol in plan.patrols:
        await _patrol(platform, patrol, tally)
    expired = await _alerts(platform, enterprise=plan.case_from_alert, kind="expired_cylinder_filled") \
        if plan.case_from_alert else []
    if plan.case_from_alert and not expired:
        say("  (no expired-fill alert yet: the case from an alert is left out)")
    if plan.case_from_alert and expired:
        await platform.call("POST", "enforcement", "/api/v1/cases", platform.regulator, 201, json={
            "enterprise_uscc": plan.case_from_alert, "offence_code": "SESL-85-2",
            "source": {"kind": "alert", "id": expired[0]["id"]}, "summary": "为超过定期检验日期的气瓶充装"})
        tally.add("cases opened")


# --- portal: the public's ratings and reports ------------------------------------------------------

def _citizen(n: int) -> httpx.AsyncClient:
    """A phone of its own: each from its own loopback address, so the portal throttles each apart."""
    return httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address=f"127.0.0.{20 + n}"), timeout=30.0)


async def _post_as(platform: Platform, citizen: httpx.AsyncClient, url: str, body: dict[str, Any]) -> httpx.Response:
    try:
        return await citizen.post(url, json=body)
    except httpx.ConnectError:  # no 127.0.0.0/8 beyond 127.0.0.1 here (macOS): one client, throttled as one
        return await platform.client.post(url, json=body)


async def qr_token(platform: Platform, uscc: str) -> dict[str, str]:
    return await platform.call("GET", "registry", f"/api/v1/enterprises/{uscc}/qr", platform.regulator)


async def public(platform: Platform, plan: CityPlan, tally: Tally) -> None:
    tokens: dict[str, str] = {}
    citizens = {n: _citizen(n) for n in {r.citizen for r in plan.ratings} | {r.citizen for r in plan.reports}}
    try:
        for rating in plan.ratings:
            token = tokens.get(rating.uscc) or (await qr_token(platform, rating.uscc))["token"]
            tokens[rating.uscc] = token
            body: dict[str, Any] = {"stars": rating.stars, **({"comment": rating.comment} if rating.comment else {})}
            response = await _post_as(platform, citizens[rating.citizen],
                                      platform.url("portal", f"/api/v1/public/qr/{token}/ratings"), body)
            if response.status_code == 429:
                continue  # the same client too often (no loopback alias): the next one may pass
            receipt = _expect(response, 201)
            tally.add("ratings")
            if receipt["status"] == "pending" and rating.approve:
                await platform.call("POST", "portal", f"/api/v1/ratings/{receipt['rating_id']}/approve",
                                    platform.regulator)
        for report in plan.reports:
            token = tokens.get(report.uscc) or (await qr_token(platform, report.uscc))["token"]
            tokens[report.uscc] = token
            response = await _post_as(platform, citizens[report.citizen],
                                      platform.url("portal", f"/api/v1/public/qr/{token}/reports"),
                                      {"category": report.category, "description": report.description})
            if response.status_code != 429:
                _expect(response, 201)
                tally.add("public reports")
    finally:
        for client in citizens.values():
            await client.aclose()


# --- the whole city ---------------------------------------------------------------------------------

async def apply_city(platform: Platform, units: list[PlannedUnit], plan: CityPlan, say: Say, *,
                     settle_s: float) -> Tally:
    """Everything after the ledger, in dependency order, each step once the events it needs arrived."""
    tally = Tally()
    by_uscc = {u.uscc: u for u in units}
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("filling records", lambda: upload_records(platform, plan, tally)),
        ("daily cut-offs", lambda: run_cutoffs(platform, plan, tally)),
        ("self-inspection and hazards", lambda: self_inspection(platform, plan, by_uscc, tally)),
        ("patrols and cases", lambda: enforcement(platform, plan, tally, say)),
        ("ratings and reports", lambda: public(platform, plan, tally)),
    ]
    for name, step in steps:
        if not await platform.settle(settle_s):
            say(f"  (the platform was still busy after {settle_s:.0f}s; going on)")
        started = time.monotonic()
        await step()
        say(f"  {name}: done in {time.monotonic() - started:.1f}s")
    await platform.settle(settle_s)
    return tally


def plan_for(units: list[PlannedUnit], seed: int, inspectors: dict[str, list[dict[str, str]]]) -> CityPlan:
    now = datetime.now(BUSINESS_TIMEZONE)
    return plan_city(units, now.date(), now, seed=seed, inspectors=inspectors)


async def where_to_look(platform: Platform) -> list[str]:
    """The map, one station's public page, today's alerts: what to open first."""
    stations = await platform.call("GET", "registry", "/api/v1/enterprises", platform.regulator,
                                   params={"kind": "gas_filling", "limit": 1})
    lines = ["where to look first:",
             "  the risk map (SVG, a regulator's token):",
             f"    curl -s -H \"Authorization: Bearer $(.venv/bin/safegrid token --role regulator --jurisdiction "
             f"{CITY})\" {platform.url('portal', '/api/v1/map.svg')} > map.svg",
             f"    (GeoJSON: {platform.url('portal', '/api/v1/map/units')})"]
    if stations["items"]:
        station = stations["items"][0]
        qr = await qr_token(platform, station["uscc"])
        lines.append(f"  a filling station's public QR page ({station['name']}): {qr['url']}")
    lines += ["  today's alerts:",
              f"    curl -s -H \"Authorization: Bearer $(.venv/bin/safegrid token --role regulator --jurisdiction "
              f"{CITY})\" '{platform.url('enforcement', '/api/v1/alerts')}?limit=20'"]
    return lines
