"""Pure rules of the registry: no database, no service."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

import pytest
from stdnum.cn import uscc as stdnum_uscc

from services.registry.domain.dates import future_violation, order_violation, years_before
from services.registry.domain.equipment import inspection_overdue, status_change_violation
from services.registry.domain.facts import FactState, apply_facts, declare_facts_json
from services.registry.domain.kinds import kinds_from_tags, kinds_tags
from services.registry.domain.operators import certificate_expired, hash_id_number, id_number_violation
from services.registry.domain.placement import Bounds, Node, flatten_tree, place_enterprise, tree_violations
from services.registry.domain.supervision import key_supervision
from services.registry.domain.uscc import USCC_CHARSET, make_uscc, uscc_check_digit, uscc_violation
from services.registry.enterprises.service import PACKAGED_JURISDICTIONS
from shared.http.preconditions import etag, if_match_allows
from shared.locality import level_of, parent_of

PINNED_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def pinned_check_digit(first17: str) -> str:
    """contract.md §3, written out independently of python-stdnum."""
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, PINNED_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def test_the_pinned_charset_is_stdnums_alphabet() -> None:
    assert USCC_CHARSET == "0123456789ABCDEFGHJKLMNPQRTUWXY"
    assert stdnum_uscc._alphabet == USCC_CHARSET
    assert not set("IOSVZ") & set(USCC_CHARSET)


def test_stdnum_computes_the_pinned_check_digit() -> None:
    rng = random.Random(32100)
    for _ in range(2000):
        first17 = "".join(rng.choice(USCC_CHARSET) for _ in range(17))
        assert stdnum_uscc.calc_check_digit(first17) == pinned_check_digit(first17)


def test_the_registry_computes_the_pinned_check_digit() -> None:
    rng = random.Random(31)
    for _ in range(2000):
        first17 = "".join(rng.choice(USCC_CHARSET) for _ in range(17))
        assert uscc_check_digit(first17) == pinned_check_digit(first17)
    assert uscc_check_digit("91371102ma3c5k0x1") == "Q"  # outside the alphabet: python-stdnum's reading


@pytest.mark.parametrize(("code", "message"), [
    ("91371102MA3C5K0X1", "must be 18 characters, got 17"),
    ("91371102MA3C5K0X1QQ", "must be 18 characters, got 19"),
    ("91371102MA3C5K0I1Q", "character 'I' at position 16"),
    ("91371102ma3c5k0x1q", "character 'm' at position 9"),
    ("91371102MA3C5K0X1A", "check digit is 'A', expected 'Q'"),
])
def test_invalid_usccs_say_why(code: str, message: str) -> None:
    violation = uscc_violation(code)
    assert violation is not None and violation.field == "uscc"
    assert message in violation.message


def test_valid_usccs_pass_and_letters_are_allowed_where_the_pin_allows_them() -> None:
    assert uscc_violation("91371102MA3C5K0X1Q") is None  # the headline enterprise
    assert uscc_violation("91110000600037341L") is None  # python-stdnum's own example
    registered_by_other_authority = make_uscc("Y1371102MA0000001")  # stdnum.validate would reject it
    assert uscc_violation(registered_by_other_authority) is None
    assert uscc_violation("91371102MA3C5K0X1A", allow_invalid_check_digit=True) is None
    assert uscc_violation("91371102MA3C5K0X1", allow_invalid_check_digit=True) is not None  # length never


@pytest.mark.parametrize(("code", "level", "parent"), [
    ("370000", "province", None), ("371100", "city", "370000"), ("371102", "district", "371100"),
    ("371102003", "township", "371102"), ("371102003001", "grid", "371102003"), ("37110", None, None),
    ("3711020030", None, None), ("37110A", None, None),
])
def test_levels_and_parents_follow_the_code_shape(code: str, level: str | None, parent: str | None) -> None:
    assert level_of(code) == level
    assert parent_of(code) == parent


DISTRICT = Node("371102", "东港区", "district", Bounds(35.30, 35.60, 119.10, 119.65))
GRID_A = Node("371102003001", "A", "grid", Bounds(35.30, 35.45, 119.40, 119.50))
GRID_B = Node("371102003002", "B", "grid", Bounds(35.30, 35.45, 119.50, 119.65))
OTHER_GRID = Node("371103001001", "C", "grid", Bounds(35.05, 35.10, 118.95, 119.00))


def test_placement_assigns_the_grid_holding_the_point() -> None:
    placement, violations = place_enterprise(DISTRICT, None, None, (35.42, 119.52), [GRID_A, GRID_B])
    assert violations == [] and placement is not None
    assert (placement.jurisdiction_code, placement.grid_code, placement.division_code) == (
        "371102", "371102003002", "371102003002")
    placement, _ = place_enterprise(DISTRICT, None, None, None, [GRID_A, GRID_B])
    assert placement is not None and placement.grid_code is None and placement.division_code == "371102"


@pytest.mark.parametrize(("jurisdiction", "grid", "grid_code", "point", "field", "message"), [
    (None, None, None, None, "jurisdiction_code", "unknown jurisdiction"),
    (DISTRICT, None, "371102999001", None, "grid_code", "unknown grid"),
    (DISTRICT, OTHER_GRID, OTHER_GRID.code, None, "grid_code", "does not lie in 371102"),
    (DISTRICT, DISTRICT, "371102", None, "grid_code", "is a district, not a grid"),
    (DISTRICT, None, None, (36.50, 119.52), "location", "lies outside 东港区 371102"),
    (DISTRICT, GRID_A, GRID_A.code, (35.42, 119.60), "location", "lies outside A 371102003001"),
])
def test_placement_violations_name_the_field(jurisdiction, grid, grid_code, point, field, message) -> None:  # type: ignore[no-untyped-def]
    placement, violations = place_enterprise(jurisdiction, grid, grid_code, point, [GRID_A, GRID_B])
    assert placement is None
    assert [v.field for v in violations] == [field]
    assert message in violations[0].message


T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_the_latest_report_wins_whatever_its_source() -> None:
    declared, changed = apply_facts({}, {"emergency_plan": True, "training": True}, "declared", T0)
    assert changed == ["emergency_plan", "training"]
    observed, changed = apply_facts(declared, {"emergency_plan": False}, "observed", T0 + timedelta(days=10))
    assert changed == ["emergency_plan"]
    assert observed["emergency_plan"] == FactState(False, "observed", T0 + timedelta(days=10))
    assert observed["training"] == declared["training"]
    late, changed = apply_facts(observed, {"emergency_plan": True}, "observed", T0 + timedelta(days=5))
    assert changed == [] and late == observed  # older than what is held: history only
    redeclared, changed = apply_facts(observed, {"emergency_plan": True}, "declared", T0 + timedelta(days=20))
    assert changed == ["emergency_plan"] and redeclared["emergency_plan"].source == "declared"
    reconfirmed, changed = apply_facts(redeclared, {"emergency_plan": True}, "declared", T0 + timedelta(days=21))
    assert changed == [] and reconfirmed["emergency_plan"].as_of == T0 + timedelta(days=21)


def test_fact_state_round_trips_through_json() -> None:
    state = FactState(True, "observed", T0)
    assert FactState.from_json(state.as_json()) == state


TODAY = date(2026, 6, 15)


@pytest.mark.parametrize(("venue", "accident", "designation", "causes"), [
    ("other", None, None, ()),
    ("school", None, None, ("public_gathering_venue",)),
    ("park", None, None, ("public_gathering_venue",)),
    ("other", date(2024, 1, 10), None, ("accident",)),
    ("other", date(2023, 6, 16), None, ("accident",)),  # a day inside three years
    ("other", date(2023, 6, 15), None, ()),  # exactly three years ago: no longer counts
    ("other", None, "老旧电梯集中", ("designated",)),
    ("mall", date(2026, 1, 1), "投诉", ("public_gathering_venue", "accident", "designated")),
])
def test_key_supervision_causes(venue: str, accident: date | None, designation: str | None, causes: tuple) -> None:
    result = key_supervision(venue, accident, designation, TODAY, accident_years=3)
    assert result.causes == causes
    assert result.designated is bool(causes)
    assert (result.reason is None) is (not causes)
    if designation:
        assert designation in (result.reason or "")


def test_years_before_handles_leap_days() -> None:
    assert years_before(date(2028, 2, 29), 3) == date(2025, 2, 28)
    assert years_before(date(2026, 6, 15), 3) == date(2023, 6, 15)


def test_date_rules() -> None:
    assert order_violation(date(2026, 1, 1), date(2026, 1, 1), "a", "b") is not None
    assert order_violation(date(2026, 1, 1), date(2026, 1, 1), "a", "b", strictly=False) is None
    assert order_violation(date(2026, 1, 2), date(2026, 1, 1), "a", "b").field == "b"  # type: ignore[union-attr]
    assert order_violation(None, date(2026, 1, 1), "a", "b") is None
    assert future_violation(TODAY + timedelta(days=1), TODAY, "d").field == "d"  # type: ignore[union-attr]
    assert future_violation(TODAY, TODAY, "d") is None
    assert status_change_violation("scrapped", "in_use") is not None
    assert status_change_violation("suspended", "in_use") is None


def test_overdue_and_expired_start_the_day_after_the_date() -> None:
    assert not inspection_overdue("in_use", TODAY, TODAY)
    assert inspection_overdue("in_use", TODAY - timedelta(days=1), TODAY)
    assert not inspection_overdue("suspended", TODAY - timedelta(days=1), TODAY)
    assert not inspection_overdue("in_use", None, TODAY)
    assert certificate_expired(True, TODAY - timedelta(days=1), TODAY)
    assert not certificate_expired(True, TODAY, TODAY)
    assert not certificate_expired(False, TODAY - timedelta(days=1), TODAY)


def test_id_numbers_are_checked_and_only_hashed() -> None:
    valid = "11010519491231002X"
    assert id_number_violation(valid) is None
    assert id_number_violation("110105194912310021") is not None  # wrong check digit
    assert id_number_violation("E12345678") is None  # a passport number
    assert id_number_violation("12") is not None
    digest = hash_id_number(valid, "key-1")
    assert len(digest) == 64 and valid not in digest
    assert digest == hash_id_number(" 11010519491231002x ", "key-1")  # same person, same hash
    assert digest != hash_id_number(valid, "key-2")  # the salt is the secret


def test_etags_and_if_match() -> None:
    assert etag(3) == '"3"'
    assert if_match_allows('"3"', 3)
    assert if_match_allows('W/"3"', 3)
    assert if_match_allows('"2", "3"', 3)
    assert if_match_allows("*", 3)
    assert not if_match_allows('"2"', 3)


def test_kinds_are_stored_as_searchable_tags() -> None:
    assert kinds_tags(["gas_filling", "boiler", "gas_filling"]) == "|boiler|gas_filling|"
    assert kinds_from_tags("|boiler|gas_filling|") == ["boiler", "gas_filling"]
    assert kinds_tags([]) == "" and kinds_from_tags("") == []


def test_the_packaged_demo_city_is_a_proper_tree() -> None:
    import yaml

    nodes = flatten_tree(yaml.safe_load(PACKAGED_JURISDICTIONS.read_text(encoding="utf-8"))["jurisdictions"])
    assert tree_violations(nodes) == []
    by_level: dict[str, list[str]] = {}
    for node in nodes:
        by_level.setdefault(node["level"], []).append(node["code"])
    assert by_level["city"] == ["371100"]
    assert by_level["district"] == ["371102", "371103", "371121", "371122"]
    assert all(len(code) == 9 for code in by_level["township"])
    assert all(len(code) == 12 for code in by_level["grid"]) and len(by_level["grid"]) >= 40
    assert all(node["inspectors"] for node in nodes if node["level"] == "grid")


def test_a_broken_tree_is_refused() -> None:
    nodes = [
        {"code": "371102", "level": "district", "parent_code": None,
         "bounds": {"min_lat": 35.3, "max_lat": 35.6, "min_lon": 119.1, "max_lon": 119.65}},
        {"code": "371103001", "level": "township", "parent_code": "371102", "bounds": None},
        {"code": "371102001", "level": "grid", "parent_code": "371102",
         "bounds": {"min_lat": 35.0, "max_lat": 35.6, "min_lon": 119.1, "max_lon": 119.65}},
    ]
    messages = [f"{v.field}: {v.message}" for v in tree_violations(nodes)]
    assert "371103001: does not lie under its parent 371102" in messages
    assert "371102001: code shape says township, file says grid" in messages
    assert "371102001: bounds are not inside 371102's bounds" in messages


def test_the_import_snapshot_shortcut_equals_the_contract_model() -> None:
    from types import SimpleNamespace

    from services.registry.events import enterprise_snapshot, enterprise_snapshot_json
    from shared.contracts.registry import EnterpriseSnapshot

    management, _ = declare_facts_json({}, {"training": True, "emergency_plan": False}, T0)
    for extra in ({}, {"lat": None, "lon": None, "last_accident_date": None, "location_verified_at": None,
                       "general_credit_grade": None, "grid_code": None, "key_supervision_reason": None}):
        row = SimpleNamespace(**{
            "uscc": "91371102MA3C5K0X1Q", "revision": 4, "name": "东港区某街道液化气站", "jurisdiction_code": "371102",
            "grid_code": "371102003001", "venue_type": "mall", "kinds_tags": "|elevator|gas_filling|",
            "general_credit_grade": "B", "management": management, "key_supervision": True,
            "key_supervision_reason": "public gathering place (mall)", "key_supervision_causes": ["accident"],
            "sandbox": True, "operating_status": "suspended", "lat": 35.42, "lon": 119.52,
            "location_verified_at": T0, "associations": ["日照市特种设备安全协会"],
            "last_accident_date": date(2026, 1, 2),
            **extra})
        fast = enterprise_snapshot_json(vars(row))
        assert set(fast) == set(EnterpriseSnapshot.model_fields)
        assert EnterpriseSnapshot.model_validate(fast) == enterprise_snapshot(row)


def test_the_import_equipment_and_operator_shortcuts_equal_the_contract_models() -> None:
    from types import SimpleNamespace

    from services.registry.events import (
        equipment_snapshot,
        equipment_snapshot_json,
        operator_snapshot,
        operator_snapshot_json,
    )

    equipment = {"uscc": "91371102MA3C5K0X1Q", "id": "e-1", "revision": 3, "category": "3000",
                 "registration_no": "梯11鲁L00001", "status": "in_use", "next_inspection_due": date(2027, 1, 1),
                 "last_inspection_date": date(2026, 1, 1), "last_inspection_result": "passed", "name": "1号梯"}
    for extra in ({}, {"registration_no": None, "next_inspection_due": None, "last_inspection_date": None,
                       "last_inspection_result": None, "status": "scrapped"}):
        row = {**equipment, **extra}
        assert equipment_snapshot_json(row) == equipment_snapshot(SimpleNamespace(**row)).model_dump(mode="json")
    operator = {"uscc": "91371102MA3C5K0X1Q", "id": "o-1", "revision": 2, "certificate_no": "T-0001",
                "certificate_category": "R2", "certificate_valid_until": date(2028, 6, 30), "active": True,
                "name": "张三"}
    for extra in ({}, {"certificate_category": None, "certificate_valid_until": None, "active": False}):
        row = {**operator, **extra}
        assert operator_snapshot_json(row) == operator_snapshot(SimpleNamespace(**row)).model_dump(mode="json")


def test_declaring_on_the_json_form_follows_the_same_rule() -> None:
    held = {"emergency_plan": FactState(False, "observed", T0 + timedelta(days=3)).as_json(),
            "training": FactState(True, "declared", T0).as_json()}
    state, changed = declare_facts_json(held, {"emergency_plan": True, "training": True}, T0 + timedelta(days=1))
    assert changed is False  # the newer observation stands; the training declaration says nothing new
    assert state["emergency_plan"] == held["emergency_plan"]
    state, changed = declare_facts_json(held, {"emergency_plan": True}, T0 + timedelta(days=4))
    assert changed is True and state["emergency_plan"]["source"] == "declared"
    assert list(state) == ["emergency_plan", "training"]  # the checklist's order


def test_production_refuses_the_development_id_hash_key() -> None:
    from pydantic import ValidationError

    from services.registry.config import Settings

    with pytest.raises(ValidationError, match="SAFEGRID_REGISTRY_ID_HASH_KEY"):
        Settings(environment="production", jwt_secret="a-production-secret-of-its-own")
    assert Settings(environment="production", jwt_secret="a-production-secret-of-its-own",
                    id_hash_key="k" * 32).id_hash_key == "k" * 32
