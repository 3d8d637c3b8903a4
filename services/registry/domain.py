"""Pure rules of the registry (台账): identifiers, jurisdiction geometry, management facts with
provenance, key supervision, date order. No I/O; the service and the importer both call these,
so a rule reads the same from an HTTP request and from row 40,512 of a city's spreadsheet."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from stdnum.cn import ric as resident_id
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from shared.contracts.common import MANAGEMENT_KEYS
from shared.contracts.vocabulary import (
    CATEGORIES,
    CERTIFICATE_CATEGORIES,
    KINDS,
    PUBLIC_GATHERING_VENUES,
)
from shared.locality import in_jurisdiction


@dataclass(frozen=True)
class Violation:
    """One broken rule, named by the field it concerns (a problem's ``errors[]`` entry)."""

    field: str
    message: str

    def as_error(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


# --- unified social credit code (统一社会信用代码, GB 32100-2015, contract.md §3) -------------

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check_digit(first17: str) -> str:
    """The check character: (31 - Σ(code_i·w_i) mod 31) mod 31 in the USCC alphabet.

    python-stdnum computes exactly the pinned sum and alphabet (tests hold the two together);
    its ``validate`` is not used because it also demands digits in positions 1-8, which the
    pinned charset does not (registration authorities such as "Y" exist)."""
    return stdnum_uscc.calc_check_digit(first17)


def uscc_violation(code: str, *, allow_invalid_check_digit: bool = False) -> Violation | None:
    """Why ``code`` is not a USCC, or None. Length and characters are never negotiable."""
    if len(code) != 18:
        return Violation("uscc", f"must be 18 characters, got {len(code)}")
    for position, char in enumerate(code, start=1):
        if char not in USCC_CHARSET:
            return Violation("uscc", f"character {char!r} at position {position} is not one of {USCC_CHARSET}")
    expected = uscc_check_digit(code[:17])
    if code[17] != expected and not allow_invalid_check_digit:
        return Violation("uscc", f"check digit is {code[17]!r}, expected {expected!r}")
    return None


def make_uscc(first17: str) -> str:
    """A USCC with the correct check digit (demo data, tests)."""
    return first17 + uscc_check_digit(first17)


# --- jurisdictions (三级网络、网格化) ----------------------------------------------------------


@dataclass(frozen=True)
class Bounds:
    """A bounding box (WGS 84) that a node's points must lie in."""

    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lon <= lon <= self.max_lon

    def area(self) -> float:
        return (self.max_lat - self.min_lat) * (self.max_lon - self.min_lon)

    def within(self, other: Bounds) -> bool:
        return (other.min_lat <= self.min_lat and self.max_lat <= other.max_lat
                and other.min_lon <= self.min_lon and self.max_lon <= other.max_lon)

    def describe(self) -> str:
        return f"lat {self.min_lat}..{self.max_lat}, lon {self.min_lon}..{self.max_lon}"


@dataclass(frozen=True)
class Placement:
    """Where an enterprise sits: the node it was registered under and, when known, its grid."""

    jurisdiction_code: str
    grid_code: str | None

    @property
    def division_code(self) -> str:
        """The most specific node known: what access checks and subtree filters read."""
        return self.grid_code or self.jurisdiction_code


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    level: str
    bounds: Bounds | None


def place_enterprise(jurisdiction: Node | None, grid: Node | None, grid_code: str | None,
                     location: tuple[float, float] | None, grids_under: Iterable[Node] = ()) -> tuple[
                         Placement | None, list[Violation]]:
    """Check an enterprise's jurisdiction, grid and coordinates against the tree.

    ``grids_under`` are the grids below the jurisdiction: when no grid is given and the
    coordinates fall in one of them, that grid is assigned (the smallest box wins)."""
    if jurisdiction is None:
        return None, [Violation("jurisdiction_code", "unknown jurisdiction")]
    violations: list[Violation] = []
    if grid_code is not None:
        if grid is None:
            violations.append(Violation("grid_code", "unknown grid"))
        elif grid.level != "grid":
            violations.append(Violation("grid_code", f"{grid.code} is a {grid.level}, not a grid"))
        elif not in_jurisdiction(jurisdiction.code, grid.code):
            violations.append(Violation("grid_code", f"grid {grid.code} does not lie in {jurisdiction.code}"))
    if jurisdiction.level == "grid":
        grid = jurisdiction
    if violations:
        return None, violations
    most_specific = grid or jurisdiction
    if location is not None:
        lat, lon = location
        if most_specific.bounds is not None and not most_specific.bounds.contains(lat, lon):
            return None, [Violation("location", f"({lat}, {lon}) lies outside {most_specific.name} "
                                                f"{most_specific.code} ({most_specific.bounds.describe()})")]
        if grid is None:
            candidates = [g for g in grids_under if g.bounds is not None and g.bounds.contains(lat, lon)]
            if candidates:
                grid = min(candidates, key=lambda g: (g.bounds.area(), g.code))  # type: ignore[union-attr]
    return Placement(jurisdiction.code, grid.code if grid else None), []


# --- management facts (三落实, 三到位, 双机制) with provenance ---------------------------------

FactSource = Literal["declared", "observed"]


@dataclass(frozen=True)
class FactState:
    in_place: bool
    source: FactSource
    as_of: datetime

    def as_json(self) -> dict[str, object]:
        return {"in_place": self.in_place, "source": self.source, "as_of": self.as_of.isoformat()}

    @classmethod
    def from_json(cls, value: Mapping[str, object]) -> FactState:
        return cls(bool(value["in_place"]), value["source"], datetime.fromisoformat(str(value["as_of"])))  # type: ignore[arg-type]


def apply_facts(current: Mapping[str, FactState], facts: Mapping[str, bool], source: FactSource,
                as_of: datetime) -> tuple[dict[str, FactState], list[str]]:
    """The management state after a declaration or an observation, and the keys whose value
    or provenance changed. The latest report wins whatever its source; one that arrives late
    with an older time than what is held stays in the history only."""
    state = dict(current)
    changed: list[str] = []
    for key, in_place in facts.items():
        held = state.get(key)
        if held is not None and held.as_of > as_of:
            continue
        state[key] = FactState(in_place, source, as_of)
        if held is None or held.in_place != in_place or held.source != source:
            changed.append(key)
    return state, changed


def declare_facts_json(current: Mapping[str, Mapping[str, Any]], facts: Mapping[str, bool],
                       as_of: datetime) -> tuple[dict[str, Any], bool]:
    """``apply_facts`` for a declaration, on the stored JSON form, in the checklist's order: the
    bulk import's path, which skips a round trip through objects for 100,000 rows."""
    state = dict(current)
    changed = False
    stamp = as_of.isoformat()
    for key, in_place in facts.items():
        held = state.get(key)
        if held is not None and datetime.fromisoformat(str(held["as_of"])) > as_of:
            continue
        changed = changed or held is None or held["in_place"] != in_place or held["source"] != "declared"
        state[key] = {"in_place": in_place, "source": "declared", "as_of": stamp}
    return {key: state[key] for key in MANAGEMENT_KEYS if key in state}, changed


# --- key supervision (重点监管) ----------------------------------------------------------------

KeySupervisionCause = Literal["public_gathering_venue", "accident", "designated"]


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(frozen=True)
class KeySupervision:
    causes: tuple[KeySupervisionCause, ...]
    reason: str | None

    @property
    def designated(self) -> bool:
        return bool(self.causes)


def key_supervision(venue_type: str, last_accident_date: date | None, designation_reason: str | None,
                    today: date, accident_years: int = 3) -> KeySupervision:
    """Key supervision holds for public gathering places, for units with an accident in the last
    ``accident_years`` years (an accident exactly that long ago no longer counts), and for units
    a city or district regulator designated. Each cause is named in the reason."""
    causes: list[KeySupervisionCause] = []
    reasons: list[str] = []
    if venue_type in PUBLIC_GATHERING_VENUES:
        causes.append("public_gathering_venue")
        reasons.append(f"public gathering place ({venue_type})")
    if last_accident_date is not None and last_accident_date > years_before(today, accident_years):
        causes.append("accident")
        reasons.append(f"accident on {last_accident_date.isoformat()} (within {accident_years} years)")
    if designation_reason:
        causes.append("designated")
        reasons.append(f"designated by a regulator: {designation_reason}")
    return KeySupervision(tuple(causes), "; ".join(reasons) or None)


# --- ledger rules ------------------------------------------------------------------------------

def category_violation(code: str, field: str = "category") -> Violation | None:
    if code in CATEGORIES:
        return None
    return Violation(field, f"unknown catalogue category {code!r}; one of {', '.join(CATEGORIES)}")


def certificate_category_violation(code: str, field: str = "certificate_category") -> Violation | None:
    if code in CERTIFICATE_CATEGORIES:
        return None
    return Violation(field, f"unknown certificate category {code!r}; one of {', '.join(CERTIFICATE_CATEGORIES)}")


def kinds_violation(kinds: Iterable[str], field: str = "kinds") -> Violation | None:
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        return Violation(field, f"unknown kind {unknown[0]!r}; one of {', '.join(KINDS)}")
    return None


def order_violation(earlier: date | None, later: date | None, earlier_field: str, later_field: str,
                    *, strictly: bool = True) -> Violation | None:
    """``later`` must come after ``earlier`` (both known)."""
    if earlier is None or later is None:
        return None
    if later < earlier or (strictly and later == earlier):
        return Violation(later_field, f"{later.isoformat()} must be after {earlier_field} {earlier.isoformat()}")
    return None


def future_violation(day: date | None, today: date, field: str) -> Violation | None:
    if day is not None and day > today:
        return Violation(field, f"{day.isoformat()} is in the future (today is {today.isoformat()})")
    return None


def status_change_violation(current: str, new: str) -> Violation | None:
    if current == "scrapped" and new != "scrapped":
        return Violation("status", "scrapped equipment cannot return to service; register a new unit")
    return None


def inspection_overdue(status: str, next_inspection_due: date | None, today: date) -> bool:
    """In-use equipment is overdue once its due date has passed (the due date itself still counts)."""
    return status == "in_use" and next_inspection_due is not None and next_inspection_due < today


def certificate_expired(active: bool, valid_until: date | None, today: date) -> bool:
    return active and valid_until is not None and valid_until < today


def equipment_violations(values: dict[str, Any], today: date) -> list[Violation | None]:
    return [
        category_violation(values["category"]) if "category" in values else None,
        future_violation(values.get("last_inspection_date"), today, "last_inspection_date"),
        future_violation(values.get("last_maintenance_date"), today, "last_maintenance_date"),
        order_violation(values.get("last_inspection_date"), values.get("next_inspection_due"),
                        "last_inspection_date", "next_inspection_due"),
    ]


def operator_violations(values: dict[str, Any], today: date) -> list[Violation | None]:
    certificate_no = values.get("certificate_no")
    return [
        id_number_violation(values["id_number"]) if values.get("id_number") else None,
        certificate_category_violation(values["certificate_category"]) if values.get("certificate_category") else None,
        Violation("certificate_category", "a certificate needs its category")
        if certificate_no and not values.get("certificate_category") else None,
        Violation("certificate_valid_until", "a certificate needs its expiry date")
        if certificate_no and not values.get("certificate_valid_until") else None,
        future_violation(values.get("certificate_issued_date"), today, "certificate_issued_date"),
        order_violation(values.get("certificate_issued_date"), values.get("certificate_valid_until"),
                        "certificate_issued_date", "certificate_valid_until"),
    ]


# --- personal data ------------------------------------------------------------------------------

def id_number_violation(id_number: str, field: str = "id_number") -> Violation | None:
    """Mainland resident ID numbers (居民身份证, 18 characters) are checked fully; other documents
    (passports, permits) only for a sane shape."""
    value = id_number.strip().upper()
    if len(value) == 18 and value[:17].isdigit():
        try:
            resident_id.validate(value)
        except StdnumError:
            return Violation(field, "not a valid resident identity card number (check digit or birth date)")
        return None
    if not (5 <= len(value) <= 30 and value.isalnum()):
        return Violation(field, "must be a resident ID number or a 5-30 character document number")
    return None


def hash_id_number(id_number: str, key: str) -> str:
    """ID numbers are kept only as a keyed hash (HMAC-SHA256 with a secret salt): enough to find
    the same person twice, useless to whoever reads the table without the key."""
    return hmac.new(key.encode(), id_number.strip().upper().encode(), hashlib.sha256).hexdigest()


# --- optimistic concurrency -------------------------------------------------------------------

def etag(revision: int) -> str:
    return f'"{revision}"'


def if_match_allows(header: str, revision: int) -> bool:
    """Does an If-Match header name the current revision? ``*`` matches any existing resource."""
    for candidate in header.split(","):
        tag = candidate.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag == str(revision):
            return True
    return False


def kinds_tags(kinds: Iterable[str]) -> str:
    """Kinds stored as "|gas_filling|boiler|" so that a portable LIKE finds one kind."""
    unique = sorted(set(kinds))
    return "|" + "|".join(unique) + "|" if unique else ""


def kinds_from_tags(tags: str | None) -> list[str]:
    return [k for k in (tags or "").split("|") if k]
