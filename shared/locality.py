"""Where and when business happens: division-code arithmetic (三级网络、网格化) and the business
date (contract.md §2-3). Every service asks this module, so a jurisdiction subtree or a day
means the same thing in registry, scoring, inspection and enforcement.

Division codes are 6 digits for a province (370000), a city (371100) or a district (371102),
padding lower levels with zeros; townships add 3 digits (9) and grids 3 more (12).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

DIVISION_CODE = re.compile(r"[1-9]\d{5}(\d{3}){0,2}")
DIVISION_CODE_PATTERN = r"^[1-9]\d{5}(\d{3}){0,2}$"  # the same, for OpenAPI path and query parameters
BUSINESS_TIMEZONE = ZoneInfo("Asia/Shanghai")

JurisdictionLevel = Literal["province", "city", "district", "township", "grid"]


# --- division codes ----------------------------------------------------------------------------


def is_division_code(code: object) -> bool:
    return isinstance(code, str) and DIVISION_CODE.fullmatch(code) is not None


def level_of(code: str) -> JurisdictionLevel | None:
    """The level a code names by its shape; None for anything that is not a division code."""
    if not is_division_code(code):
        return None
    if len(code) == 6:
        if code.endswith("0000"):
            return "province"
        return "city" if code.endswith("00") else "district"
    return "township" if len(code) == 9 else "grid"


def parent_of(code: str) -> str | None:
    """The node directly above: the city for a district, the district for a township."""
    level = level_of(code)
    if level == "grid":
        return code[:9]
    if level == "township":
        return code[:6]
    if level == "district":
        return code[:4] + "00"
    if level == "city":
        return code[:2] + "0000"
    return None


def jurisdiction_prefix(code: str) -> str:
    """The prefix shared by every code in the subtree of ``code`` (province 370000 → "37",
    city 371100 → "3711", district 371102 → "371102"; townships and grids are their own prefix)."""
    if len(code) == 6:
        prefix = code
        for _ in range(2):
            if prefix.endswith("00"):
                prefix = prefix[:-2]
        return prefix
    return code


def in_jurisdiction(node: str, code: str) -> bool:
    """True when ``code`` lies in the subtree of ``node`` (``node`` itself included)."""
    return code.startswith(jurisdiction_prefix(node))


def city_of(code: str) -> str | None:
    """The city (6 digits, ending in 00) a district, township or grid lies in, or the city itself;
    None for a province or anything that is not a division code."""
    if level_of(code) in (None, "province"):
        return None
    return code[:4] + "00"


def is_city_level_or_above(code: str | None) -> bool:
    return code is not None and level_of(code) in ("province", "city")


def child_node(node: str | None, code: str) -> str:
    """The child of ``node`` (None: the whole country) under which ``code`` lies: the bucket a
    statistic of ``node`` counts ``code`` in."""
    if node is None:
        return code[:2] + "0000"
    level = level_of(node)
    if level == "province":
        return code[:4] + "00"
    if level == "city":
        return code[:6]
    if level == "district":
        return code[:9] if len(code) >= 9 else code
    if level == "township":
        return code[:12] if len(code) >= 12 else code
    return code


# --- the business date -------------------------------------------------------------------------


def business_date(moment: datetime) -> date:
    """The Asia/Shanghai date of a timezone-aware moment, whatever offset it carries."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no timezone; pass an aware datetime")
    return moment.astimezone(BUSINESS_TIMEZONE).date()


def business_today() -> date:
    return business_date(datetime.now(UTC))
