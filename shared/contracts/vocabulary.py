"""The vocabulary every service speaks, declared once: grades, venue types, enterprise kinds,
management facts and the 332211 checklist, equipment catalogue categories and statuses, operator
certificate categories. Pure data; the codes are what APIs and events carry. A service that needs
a value imports it from here, so a value added here reaches every reader at once."""

from __future__ import annotations

from typing import Literal, get_args

Grade = Literal["A", "B", "C", "D"]
GRADES: tuple[Grade, ...] = get_args(Grade)  # best (least risky) first

VenueType = Literal[
    "school",
    "kindergarten",
    "nursing_home",
    "hospital",
    "station",
    "passenger_terminal",
    "mall",
    "stadium",
    "exhibition_hall",
    "park",
    "other",
]
EquipmentStatus = Literal["in_use", "suspended", "scrapped"]
KeySupervisionCause = Literal["public_gathering_venue", "accident", "designated"]

VENUE_TYPES: tuple[str, ...] = get_args(VenueType)
# Public gathering places (公众聚集场所): key supervision by themselves (domain.md §7).
PUBLIC_GATHERING_VENUES: frozenset[str] = frozenset(VENUE_TYPES) - {"other"}

EQUIPMENT_STATUSES: tuple[str, ...] = get_args(EquipmentStatus)

ManagementKey = Literal[
    "safety_organization",
    "responsible_persons",
    "management_system",  # 三落实
    "emergency_plan",
    "emergency_drills",
    "training",  # 三到位
    "risk_control_mechanism",
    "hazard_investigation_mechanism",  # 双机制
]
MANAGEMENT_KEYS: tuple[ManagementKey, ...] = get_args(ManagementKey)
THREE_IN_PLACE: tuple[ManagementKey, ...] = MANAGEMENT_KEYS[:3]  # 三落实

# The 332211 checklist (domain.md §4): items 1-8 observe the management facts in MANAGEMENT_KEYS
# order; 9-12 are the two certificates, the inspection and the records.
ChecklistMark = Literal["pass", "fail", "na"]
CHECKLIST_ITEMS = range(1, 13)
CHECKLIST_ITEM_OF: dict[ManagementKey, int] = {key: n for n, key in enumerate(MANAGEMENT_KEYS, start=1)}
ITEM_UNITS_REGISTERED = 9  # 两有证: every in-use unit registered
ITEM_OPERATORS_CERTIFIED = 10  # 两有证: every operator certified
ITEM_EQUIPMENT_INSPECTED = 11  # 一检验
ITEM_RECORDS_COMPLETE = 12  # 一记录

# What an enterprise is, beyond using equipment. gas_filling marks a 气瓶充装单位 (filling permit).
Kind = Literal[
    "gas_filling",
    "boiler",
    "pressure_vessel",
    "elevator",
    "lifting",
    "in_plant_vehicle",
    "amusement_ride",
    "pressure_pipeline",
    "ropeway",
    "elevator_maintenance",
]
KINDS: dict[str, str] = {
    "gas_filling": "气瓶充装单位",
    "boiler": "锅炉使用单位",
    "pressure_vessel": "压力容器使用单位",
    "elevator": "电梯使用单位",
    "lifting": "起重机械使用单位",
    "in_plant_vehicle": "场(厂)内专用机动车辆使用单位",
    "amusement_ride": "大型游乐设施运营使用单位",
    "pressure_pipeline": "压力管道使用单位",
    "ropeway": "客运索道运营使用单位",
    "elevator_maintenance": "电梯维护保养单位",
}
assert set(KINDS) == set(get_args(Kind))

# The special-equipment catalogue (特种设备目录, 2014): the families and the sub-categories a
# city's ledger commonly uses. Codes are strings: "2300" is not a number, and some codes
# (4A00, 6D00) carry letters. Code -> (Chinese name, English name).
CATEGORIES: dict[str, tuple[str, str]] = {
    "1000": ("锅炉", "boiler"),
    "1100": ("承压蒸汽锅炉", "pressurised steam boiler"),
    "1200": ("承压热水锅炉", "pressurised hot-water boiler"),
    "1300": ("有机热载体锅炉", "organic heat-carrier boiler"),
    "2000": ("压力容器", "pressure vessel"),
    "2100": ("固定式压力容器", "fixed pressure vessel"),
    "2200": ("移动式压力容器", "mobile pressure vessel"),
    "2300": ("气瓶", "gas cylinder"),
    "2400": ("氧舱", "oxygen chamber"),
    "3000": ("电梯", "elevator"),
    "3100": ("曳引与强制驱动电梯", "traction and positive-drive lift"),
    "3110": ("曳引驱动乘客电梯", "traction passenger lift"),
    "3200": ("液压驱动电梯", "hydraulic lift"),
    "3300": ("自动扶梯与自动人行道", "escalator and moving walk"),
    "3400": ("其他类型电梯", "other lift"),
    "4000": ("起重机械", "lifting machinery"),
    "4100": ("桥式起重机", "overhead crane"),
    "4200": ("门式起重机", "gantry crane"),
    "4300": ("塔式起重机", "tower crane"),
    "4400": ("流动式起重机", "mobile crane"),
    "4700": ("门座式起重机", "portal crane"),
    "4800": ("升降机", "hoist"),
    "4D00": ("机械式停车设备", "mechanical parking equipment"),
    "5000": ("场(厂)内专用机动车辆", "in-plant special motor vehicle"),
    "5100": ("机动工业车辆", "industrial truck"),
    "5200": ("非公路用旅游观光车辆", "sightseeing vehicle"),
    "6000": ("大型游乐设施", "large amusement ride"),
    "6100": ("观览车类", "observation wheel"),
    "6200": ("滑行车类", "roller coaster"),
    "6D00": ("水上游乐设施", "water ride"),
    "6E00": ("无动力游乐设施", "non-powered ride"),
    "8000": ("压力管道", "pressure pipeline"),
    "8100": ("长输管道", "long-distance pipeline"),
    "8200": ("公用管道", "public utility pipeline"),
    "8300": ("工业管道", "industrial pipeline"),
    "9000": ("客运索道", "passenger ropeway"),
    "9100": ("客运架空索道", "aerial ropeway"),
    "9200": ("客运缆车", "funicular"),
    "9300": ("客运拖牵索道", "surface lift"),
}
CYLINDER_CATEGORY = "2300"
ELEVATOR_FAMILY = "3000"
ELEVATOR_EMERGENCY_PHONE = "96333"  # 电梯应急处置服务平台


def category_family(code: str) -> str:
    """The catalogue family a code belongs to: "3110" -> "3000"."""
    return code[0] + "000"


# Operator certificate categories (特种设备作业人员资格, TSG Z6001-2019): code -> 作业项目.
CERTIFICATE_CATEGORIES: dict[str, str] = {
    "A": "特种设备安全管理",
    "G1": "工业锅炉司炉",
    "G2": "电站锅炉司炉",
    "G3": "锅炉水处理",
    "R1": "快开门式压力容器操作",
    "R2": "移动式压力容器充装",
    "R3": "氧舱维护保养",
    "P": "气瓶充装",
    "T": "电梯修理",
    "Q1": "起重机指挥",
    "Q2": "起重机司机",
    "N1": "叉车司机",
    "N2": "观光车和观光列车司机",
    "Y1": "大型游乐设施修理",
    "Y2": "大型游乐设施操作",
    "S1": "客运索道修理",
    "S2": "客运索道司机",
    "F": "安全阀校验",
}

InspectionResult = Literal["passed", "passed_with_conditions", "failed"]  # 合格 / 复检合格 / 不合格
AccidentSeverity = Literal["general", "major", "serious", "especially_serious"]  # 一般/较大/重大/特别重大
OperatingStatus = Literal["operating", "suspended", "closed"]
CylinderStatus = Literal["in_use", "scrapped"]
