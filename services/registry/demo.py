"""The demo city's ledger: 日照市's jurisdiction tree and a few hundred (or, as a benchmark, a
hundred thousand) plausible units spread over its grids, planned in pure functions
(``plan_ledger``), then loaded through the registry's bulk importer (the same rules and events
as the API), so that every registration publishes its events. ``services.demo`` builds the rest
of the city in the other services on top of it.

Deterministic (seeded): the same seed and day yield the same ledger. Only an empty registry is
loaded. The mix follows the city: ~12 gas-filling stations (one of them the seed's D-grade
station), schools, hospitals, malls, parks with rides, a ropeway, factories with cranes and
forklifts; each unit drawn from a risk tier so that grades come out near the national mix;
overdue inspections, unregistered units, expired certificates, one accident, one manual
designation; and, when asked, the headline enterprise of contract.md §5."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.exc import OperationalError

from services.registry.context import RegistryContext
from services.registry.domain.placement import Bounds, Node, flatten_tree, node_of
from services.registry.domain.uscc import make_uscc
from services.registry.enterprises import repository as repo
from services.registry.enterprises import service as enterprise_service
from services.registry.enterprises.schemas import (
    AccidentCreate,
    EnterpriseCreate,
    KeySupervisionDesignation,
    Location,
    ManagementFacts,
)
from services.registry.enterprises.service import PACKAGED_JURISDICTIONS
from services.registry.equipment import repository as equipment_repo
from services.registry.equipment import service as equipment_service
from services.registry.equipment.schemas import CylinderBatch, CylinderIn, EquipmentCreate, OperatorCreate
from shared.app import ServiceRuntime
from shared.auth import SYSTEM
from shared.context import unit_of_work
from shared.contracts.common import MANAGEMENT_KEYS
from shared.locality import child_node, in_jurisdiction

CITY, WULIAN = "371100", "371121"  # 日照市, 五莲县 (the ropeway)
HEADLINE_USCC = "91371102MA3C5K0X1Q"
HEADLINE_NAME = "东港区某街道液化气站"
# The platform, named apart in the audit trail: the demo's rows say they were made up
# (registered_by, designated_by, recorded_by = "system:demo"), not registered by the platform.
DEMO_ACTOR = replace(SYSTEM, sub="system:demo")
ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
BRANDS = ["鑫达", "恒泰", "宏远", "海川", "金桥", "东方", "利民", "安顺", "瑞丰", "华润", "鲁阳", "岚海", "丰源",
          "嘉禾", "盛世", "新港", "正大", "同心", "永安", "港城", "沧海", "泰和", "昌盛", "凯旋", "蓝天"]


@dataclass(frozen=True)
class Profile:
    """A kind of unit: how it is named, where people gather, what it uses, who operates it."""

    key: str
    weight: int
    venue_type: str
    kinds: tuple[str, ...]
    names: tuple[str, ...]  # formats: {town} township name, {brand}, {n} a number
    equipment: tuple[tuple[str, str, int, int], ...]  # category, registration prefix, min, max count
    certificates: tuple[str, ...]


PROFILES: tuple[Profile, ...] = (
    Profile("factory", 30, "other", ("lifting", "in_plant_vehicle", "boiler"),
            ("日照{brand}机械制造有限公司", "日照{brand}钢结构有限公司", "{brand}食品有限公司",
             "日照{brand}木业有限公司"),
            (("4000", "起17鲁L", 1, 3), ("5000", "车11鲁L", 1, 3), ("1000", "锅11鲁L", 0, 1),
             ("2100", "容1LC鲁L", 0, 2)),
            ("A", "Q2", "Q1", "N1", "G1")),
    Profile("property", 22, "other", ("elevator",),
            ("{brand}物业管理有限公司", "日照{brand}置业有限公司", "{brand}大酒店有限公司"),
            (("3000", "梯11鲁L", 2, 6),), ("A",)),
    Profile("school", 9, "school", ("elevator",), ("{town}第{n}小学", "日照市{brand}中学", "{town}实验学校"),
            (("3000", "梯11鲁L", 1, 2), ("1000", "锅11鲁L", 0, 1)), ("A", "G1")),
    Profile("kindergarten", 5, "kindergarten", (), ("{town}{brand}幼儿园", "{town}中心幼儿园"),
            (("1000", "锅11鲁L", 0, 1),), ("A",)),
    Profile("nursing_home", 4, "nursing_home", ("elevator",), ("{town}{brand}养老院", "日照{brand}康养中心"),
            (("3000", "梯11鲁L", 1, 3),), ("A",)),
    Profile("hospital", 5, "hospital", ("elevator", "boiler", "pressure_vessel"),
            ("{town}卫生院", "日照{brand}医院", "{town}社区卫生服务中心"),
            (("3000", "梯11鲁L", 2, 6), ("1000", "锅11鲁L", 1, 1), ("2100", "容1LC鲁L", 1, 2)), ("A", "G1", "R1")),
    Profile("mall", 6, "mall", ("elevator",), ("{brand}购物广场", "日照{brand}商厦", "{town}{brand}超市"),
            (("3000", "梯11鲁L", 2, 8), ("3300", "梯31鲁L", 1, 4)), ("A",)),
    Profile("station", 2, "station", ("elevator",), ("日照{brand}汽车站", "{town}公交枢纽站"),
            (("3000", "梯11鲁L", 1, 3), ("3300", "梯31鲁L", 0, 2)), ("A",)),
    Profile("terminal", 1, "passenger_terminal", ("elevator",), ("日照港{brand}客运码头",),
            (("3000", "梯11鲁L", 1, 2),), ("A",)),
    Profile("stadium", 1, "stadium", ("elevator",), ("日照{brand}体育中心",), (("3000", "梯11鲁L", 1, 3),), ("A",)),
    Profile("exhibition", 1, "exhibition_hall", ("elevator",), ("日照{brand}会展中心",),
            (("3000", "梯11鲁L", 2, 4),), ("A",)),
    Profile("park", 3, "park", ("amusement_ride",), ("{town}{brand}游乐园", "日照{brand}海洋公园"),
            (("6000", "游11鲁L", 2, 5),), ("A", "Y2")),
)
GAS_FILLING = Profile("gas_filling", 0, "other", ("gas_filling", "pressure_vessel", "pressure_pipeline"),
                      ("{town}{brand}液化气站", "日照{brand}燃气有限公司{town}充装站"),
                      (("2300", "容3LC鲁L", 1, 1), ("2100", "容1LC鲁L", 1, 2), ("8000", "管11鲁L", 0, 1)),
                      ("A", "R2"))  # and always a filler (P)
ROPEWAY = Profile("ropeway", 0, "park", ("ropeway",), ("五莲山{brand}旅游开发有限公司",),
                  (("9000", "索11鲁L", 1, 1),), ("A", "S2"))
GAS_FILLING_UNITS = 12
CYLINDERS_PER_STATION = 18
IMPORT_ATTEMPTS = 3
FILLER_CERTIFICATE = "P"  # 气瓶充装 (TSG Z6001)


@dataclass(frozen=True)
class RiskTier:
    """How often a unit of this tier lacks each thing the model scores: drawn so that the demo
    city's grades come out near the national mix (domain.md §5: ~65% A, 25% B, 8% C, 2% D)."""

    weight: int
    credit: tuple[str | None, ...]  # general credit grades to draw from
    missing_management: float
    unregistered: float
    overdue: float
    expired_certificate: float


TIERS: dict[str, RiskTier] = {
    "A": RiskTier(62, (None, "A", "A", "A", "B"), 0.02, 0.03, 0.04, 0.05),
    "B": RiskTier(25, ("B", "B", "C"), 0.25, 0.08, 0.35, 0.15),
    "C": RiskTier(10, ("C", "D"), 0.55, 0.3, 0.7, 0.5),
    "D": RiskTier(3, ("D",), 1.0, 0.8, 1.0, 1.0),
}
SURNAMES = "张王李赵刘陈杨黄周吴徐孙马朱胡郭"
GIVEN_NAMES = ("伟", "芳", "强", "磊", "静", "军", "勇", "霞", "建国", "秀英")


@dataclass(frozen=True)
class PlannedUnit:
    """One unit of the demo city as planned: what registering it sends, before anything is sent."""

    profile: str  # Profile.key
    tier: str  # the RiskTier drawn (A-D)
    enterprise: EnterpriseCreate
    equipment: tuple[EquipmentCreate, ...]
    operators: tuple[OperatorCreate, ...]
    cylinders: tuple[CylinderIn, ...] = ()

    @property
    def uscc(self) -> str:
        return self.enterprise.uscc

    @property
    def is_filling(self) -> bool:
        return "gas_filling" in self.enterprise.kinds


def city_tree(path: Path | None = None) -> tuple[list[Node], dict[str, str]]:
    """The grids (with bounds) and every node's name of a jurisdiction file (default: the packaged
    日照市), as the planner takes them: what the registry holds once the file is loaded."""
    document = yaml.safe_load((path or PACKAGED_JURISDICTIONS).read_text(encoding="utf-8"))
    nodes = flatten_tree(document["jurisdictions"])
    grids = [Node(n["code"], n["name"], n["level"], Bounds(**n["bounds"])) for n in nodes
             if n["level"] == "grid" and n["bounds"]]
    return grids, {n["code"]: n["name"] for n in nodes}


class _Planner:
    """Draws the units from one seeded random stream: the same seed, grids and day, the same city."""

    def __init__(self, grids: list[Node], names: dict[str, str], today: date, seed: int) -> None:
        self.grids = sorted(grids, key=lambda g: g.code)
        self.names = names  # code -> name, for township names in unit names
        self.random = random.Random(seed)
        self.today = today
        self.usccs: set[str] = {HEADLINE_USCC}
        self.sequence = 0

    def uscc(self, district: str) -> str:
        while True:
            org = "MA" + "".join(self.random.choice(ORG_CHARS) for _ in range(7))
            code = make_uscc("91" + district + org[:9])
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def point_in(self, grid: Node) -> Location:
        b = grid.bounds
        assert b is not None
        margin_lat, margin_lon = (b.max_lat - b.min_lat) * 0.05, (b.max_lon - b.min_lon) * 0.05
        return Location(lat=round(self.random.uniform(b.min_lat + margin_lat, b.max_lat - margin_lat), 5),
                        lon=round(self.random.uniform(b.min_lon + margin_lon, b.max_lon - margin_lon), 5))

    def tier(self) -> str:
        return self.random.choices(list(TIERS), [t.weight for t in TIERS.values()])[0]

    def management(self, tier: RiskTier) -> ManagementFacts:
        return ManagementFacts(**{key: self.random.random() >= tier.missing_management for key in MANAGEMENT_KEYS})

    def days(self, low: int, high: int) -> date:
        return self.today + timedelta(days=self.random.randint(low, high))

    def unit(self, profile: Profile, grid: Node, *, uscc: str | None = None, name: str | None = None,
             location: Location | None = None, grade: str | None = "", management: ManagementFacts | None = None,
             tier_key: str | None = None) -> PlannedUnit:
        tier_key = tier_key or self.tier()
        tier = TIERS[tier_key]
        district = child_node(CITY, grid.code)
        town = self.names.get(child_node(district, grid.code), "")
        name = name or self.random.choice(profile.names).format(
            town=town, brand=self.random.choice(BRANDS), n=self.random.choice("一二三四五六七八九"))
        uscc = uscc or self.uscc(district)
        enterprise = EnterpriseCreate(
            uscc=uscc, name=name, jurisdiction_code=district, grid_code=grid.code,
            address=f"山东省日照市{self.names.get(district, '')}{town}{self.random.randint(1, 300)}号",
            location=location or self.point_in(grid), venue_type=profile.venue_type, kinds=list(profile.kinds),
            general_credit_grade=self.random.choice(tier.credit) if grade == "" else grade,
            management=management or self.management(tier),
            contacts=[{"name": f"{self.random.choice('张王李赵刘陈杨黄')}经理", "role": "安全总监",
                       "phone": f"1{self.random.randint(3000000000, 9999999999)}"}],
            associations=["日照市特种设备安全协会"] if self.random.random() < 0.3 else [],
            sandbox=self.random.random() < 0.05)
        equipment = self.equipment(profile, tier)
        operators = self.operators(profile, tier)
        cylinders = self.cylinders(uscc, CYLINDERS_PER_STATION) if profile is GAS_FILLING else ()
        return PlannedUnit(profile.key, tier_key, enterprise, equipment, operators, cylinders)

    def equipment(self, profile: Profile, tier: RiskTier) -> tuple[EquipmentCreate, ...]:
        planned = []
        for category, prefix, low, high in profile.equipment:
            for _ in range(self.random.randint(low, high)):
                self.sequence += 1
                unregistered = self.random.random() < tier.unregistered
                overdue = self.random.random() < tier.overdue
                due = self.days(-60, -1) if overdue else self.days(20, 400)
                planned.append(EquipmentCreate(
                    category=category, registration_no=None if unregistered else
                    f"{prefix}{self.sequence:05d}({self.random.randint(15, 25)})",
                    equipment_code=f"EQ{self.sequence:06d}", name=f"{self.sequence % 20 + 1}号设备",
                    status="in_use" if self.random.random() > 0.05 else "suspended",
                    next_inspection_due=due, last_inspection_date=due - timedelta(days=365)
                    if due - timedelta(days=365) <= self.today else None))
        return tuple(planned)

    def operator(self, category: str, until: date) -> OperatorCreate:
        self.sequence += 1
        return OperatorCreate(name=self.random.choice(SURNAMES) + self.random.choice(GIVEN_NAMES),
                              certificate_no=f"鲁L{category}{self.sequence:07d}", certificate_category=category,
                              certificate_issued_date=until - timedelta(days=4 * 365), certificate_valid_until=until)

    def operators(self, profile: Profile, tier: RiskTier) -> tuple[OperatorCreate, ...]:
        planned = []
        if profile is GAS_FILLING:  # a filling permit needs a certified filler (P): the records name them
            planned.append(self.operator(FILLER_CERTIFICATE, self.days(200, 1400)))
        for category in profile.certificates[: self.random.randint(1, len(profile.certificates))]:
            expired = self.random.random() < tier.expired_certificate
            planned.append(self.operator(category, self.days(-90, -1) if expired else self.days(60, 1400)))
        return tuple(planned)

    def cylinders(self, uscc: str, count: int) -> tuple[CylinderIn, ...]:
        batch = []
        for n in range(1, count + 1):
            made = self.days(-3650, -200)
            due = self.days(-30, -1) if n % 9 == 0 else self.days(30, 1400)
            batch.append(CylinderIn(cylinder_no=cylinder_no(uscc, n), medium="液化石油气", manufactured_date=made,
                                    next_inspection_date=due, scrap_date=made + timedelta(days=8 * 365)))
        return tuple(batch)


def cylinder_no(uscc: str, n: int) -> str:
    """The n-th (1-based) cylinder of a station; every ninth is past its inspection date."""
    return f"LPG{uscc[-6:]}{n:04d}"


def plan_ledger(grids: list[Node], names: dict[str, str], today: date, enterprises: int = 300, *,
                include_headline: bool = False, seed: int = 371100) -> list[PlannedUnit]:
    """The demo city's units (pure: no database, nothing sent): the stations first (the first
    drawn one the seed's D-grade station), the ropeway, then the profiles by weight."""
    planner = _Planner([g for g in grids if g.bounds], names, today, seed)
    if not planner.grids:
        raise RuntimeError("the 日照市 (371100) jurisdiction tree is not loaded")
    made: list[PlannedUnit] = []
    if include_headline:
        headline_grid = next(g for g in planner.grids if g.bounds and g.bounds.contains(35.42, 119.52))
        made.append(planner.unit(GAS_FILLING, headline_grid, uscc=HEADLINE_USCC, name=HEADLINE_NAME,
                                 location=Location(lat=35.42, lon=119.52), grade="B", tier_key="A",
                                 management=ManagementFacts(**dict.fromkeys(MANAGEMENT_KEYS, True))))
    filling_grids = planner.random.sample(planner.grids, GAS_FILLING_UNITS - len(made))
    for n, grid in enumerate(filling_grids):  # the first is the seed's D-grade station (§二 of the seed)
        made.append(planner.unit(GAS_FILLING, grid, tier_key="D" if n == 0 else None))
    wulian = [g for g in planner.grids if in_jurisdiction(WULIAN, g.code)]
    made.append(planner.unit(ROPEWAY, planner.random.choice(wulian)))
    weights = [p.weight for p in PROFILES]
    while len(made) < enterprises:
        profile = planner.random.choices(PROFILES, weights)[0]
        made.append(planner.unit(profile, planner.random.choice(planner.grids)))
    return made


async def _one_accident_and_one_designation(ctx: RegistryContext, made: Sequence[PlannedUnit]) -> None:
    factories = [unit.uscc for unit in made if unit.profile == "factory"]
    if factories:
        victim = factories[0]
        cranes = await equipment_repo.list_equipment(ctx.session, victim, limit=10, after=None, category="4000")
        await enterprise_service.report_accident(ctx, victim, AccidentCreate(
            occurred_date=ctx.today() - timedelta(days=200), equipment_id=cranes[0].id if cranes else None,
            severity="general", enterprise_responsible=True, description="桥式起重机吊物坠落，一人轻伤"))
    properties = [unit.uscc for unit in made if unit.profile == "property"]
    if properties:
        row = await repo.get_enterprise(ctx.session, properties[0])
        assert row is not None
        await enterprise_service.designate_key_supervision(ctx, row.uscc, KeySupervisionDesignation(
            designated=True, reason="高层住宅电梯老旧，投诉集中"), if_match=str(row.revision))


def ledger_csv(units: Sequence[PlannedUnit], kind: str) -> bytes:
    """The planned units as the registry's own import table of one kind (its field names as headers)."""
    rows: list[dict[str, Any]] = []
    for unit in units:
        e = unit.enterprise
        if kind == "enterprises":
            contact = e.contacts[0] if e.contacts else None
            rows.append({"uscc": e.uscc, "name": e.name, "jurisdiction_code": e.jurisdiction_code,
                         "grid_code": e.grid_code, "address": e.address,
                         "lat": e.location.lat if e.location else "", "lon": e.location.lon if e.location else "",
                         "venue_type": e.venue_type, "kinds": ";".join(e.kinds),
                         "general_credit_grade": e.general_credit_grade or "", "sandbox": e.sandbox,
                         "associations": ";".join(e.associations),
                         "contact_name": contact.name if contact else "",
                         "contact_role": contact.role if contact else "",
                         "contact_phone": contact.phone if contact else "",
                         **{key: getattr(e.management, key) for key in MANAGEMENT_KEYS}})
        elif kind == "equipment":
            rows += [{"uscc": e.uscc, "category": q.category, "registration_no": q.registration_no or "",
                      "equipment_code": q.equipment_code, "name": q.name, "status": q.status,
                      "next_inspection_due": q.next_inspection_due,
                      "last_inspection_date": q.last_inspection_date or ""}
                     for q in unit.equipment]
        else:
            rows += [{"uscc": e.uscc, "name": o.name, "certificate_no": o.certificate_no,
                      "certificate_category": o.certificate_category,
                      "certificate_issued_date": o.certificate_issued_date,
                      "certificate_valid_until": o.certificate_valid_until} for o in unit.operators]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["uscc"])
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


async def _import(runtime: ServiceRuntime, units: Sequence[PlannedUnit],
                  progress: Callable[[str, int], None] | None) -> None:
    from services.registry.imports.service import import_file

    for kind in ("enterprises", "equipment", "operators"):
        content = ledger_csv(units, kind)
        for attempt in range(1, IMPORT_ATTEMPTS + 1):
            try:
                async with unit_of_work(runtime, DEMO_ACTOR) as ctx:  # import_file opens its own units of work
                    _, result = await import_file(ctx, content, filename=f"demo-{kind}.csv", kind=kind)
                break
            except OperationalError:  # SQLite: the running service held the lock past the busy timeout
                if attempt == IMPORT_ATTEMPTS:  # (its daily job, say); the import resumes where it stopped
                    raise
        if result.errors:
            raise RuntimeError(f"the demo's {kind} were refused: {result.errors[:3]}")
        if progress is not None:
            progress(kind, result.totals()["rows"])
    async with unit_of_work(runtime, DEMO_ACTOR) as ctx:
        for unit in units:
            if unit.cylinders:
                await equipment_service.upsert_cylinders(ctx, unit.uscc, CylinderBatch(cylinders=list(unit.cylinders)))
        await _one_accident_and_one_designation(ctx, units)


async def load_demo(runtime: ServiceRuntime, enterprises: int = 300, *, include_headline: bool = False,
                    seed: int = 371100, progress: Callable[[str, int], None] | None = None) -> list[PlannedUnit]:
    """Load the demo city into an empty registry (the CLI calls this in-process) through the
    registry's bulk importer, the way a city's export loads: the same rules and events as the API,
    a transaction per ``import_chunk_size`` rows (a benchmark city of 100,000 units in minutes, not
    the hour unit-by-unit registration takes). ``progress(kind, rows)`` after each table. Returns the
    units loaded: none when the registry already holds any."""
    async with unit_of_work(runtime, DEMO_ACTOR) as ctx:
        if await repo.count_enterprises(ctx.session) > 0:
            return []
        await enterprise_service.seed_jurisdictions(ctx)
        grid_rows = await repo.list_jurisdictions(ctx.session, within=CITY, level="grid")
        named = await repo.list_jurisdictions(ctx.session, within=CITY)
        today = ctx.today()
    made = plan_ledger([n for n in map(node_of, grid_rows) if n and n.bounds], {row.code: row.name for row in named},
                       today, enterprises, include_headline=include_headline, seed=seed)
    await _import(runtime, made, progress)
    return made
