"""The model file: the default model as domain.md §5 writes it, and what validation refuses."""

import copy
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from services.scoring.domain import (
    DEFAULT_MODEL_PATH,
    INDICATOR_KINDS,
    ModelValidationError,
    default_model,
    load_model,
    parse_model,
)

# id: (group, kind, points, max_points, window_days, window_years)
DEFAULT_INDICATORS = {
    "G0.general_credit_grade": ("G0", "general_credit_grade", None, None, None, None),
    "G1.safety_organization_missing": ("G1", "management_missing", 5, None, None, None),
    "G1.responsible_persons_missing": ("G1", "management_missing", 5, None, None, None),
    "G1.management_system_missing": ("G1", "management_missing", 5, None, None, None),
    "G2.operators_without_certificate": ("G2", "operators_without_valid_certificate", 10, None, None, None),
    "G3.risk_control_mechanism_missing": ("G3", "management_missing", 4, None, None, None),
    "G3.hazard_investigation_mechanism_missing": ("G3", "management_missing", 4, None, None, None),
    "G3.hazards_past_deadline": ("G3", "hazards_past_deadline", 2, 4, None, None),
    "G3.self_inspection_completion_low": ("G3", "self_inspection_completion", 3, None, 30, None),
    "G4.unregistered_equipment_in_use": ("G4", "unregistered_equipment_in_use", 6, None, None, None),
    "G4.equipment_past_inspection": ("G4", "equipment_past_inspection", 8, None, None, None),
    "G4.public_gathering_venue": ("G4", "public_gathering_venue", 3, None, None, None),
    "G4.inherently_hazardous_kind": ("G4", "inherently_hazardous_kind", 3, None, None, None),
    "G5.emergency_plan_missing": ("G5", "management_missing", 2, None, None, None),
    "G5.emergency_drills_missing": ("G5", "management_missing", 2, None, None, None),
    "G5.training_missing": ("G5", "management_missing", 2, None, None, None),
    "G5.missing_filling_records": ("G5", "missing_filling_records", 3, 9, 90, None),
    "G5.patrol_record_gaps": ("G5", "patrol_record_gaps", 3, None, None, None),
    "G6.cases_opened": ("G6", "cases_opened", 5, None, None, 3),
    "G6.penalties_decided": ("G6", "penalties_decided", 5, None, None, 3),
}


@pytest.fixture
def raw() -> dict:
    """The default model document, for tests to spoil."""
    return yaml.safe_load(DEFAULT_MODEL_PATH.read_text(encoding="utf-8"))


# --- the default model ----------------------------------------------------------------------

def test_default_model_header():
    model = default_model()
    assert model.model_version == "rizhao-2026.1"
    assert model.effective_from == date(2026, 1, 1)
    assert DEFAULT_MODEL_PATH.name == "rizhao-2026.1.yaml"


def test_default_group_caps():
    caps = {g.id: g.cap for g in default_model().groups}
    assert caps == {"G0": 10, "G1": 15, "G2": 10, "G3": 15, "G4": 20, "G5": 15, "G6": 15}


def test_default_indicators():
    found = {i.id: (i.group, i.kind, i.points, i.max_points, i.window_days, i.window_years)
             for i in default_model().indicators}
    assert found == DEFAULT_INDICATORS


def test_default_params():
    specs = {i.id: i for i in default_model().indicators}
    credit = specs["G0.general_credit_grade"].settings
    assert (credit.A, credit.B, credit.C, credit.D, credit.unknown) == (0, 3, 7, 10, 3)
    assert specs["G2.operators_without_certificate"].settings.patrol_fail_points == 5
    assert specs["G3.self_inspection_completion_low"].settings.min_completion == 0.9
    hazardous = specs["G4.inherently_hazardous_kind"].settings
    assert set(hazardous.kinds) == {"gas_filling", "boiler", "ropeway", "amusement_ride"}
    assert set(hazardous.categories) == {"1000", "6000", "9000"}
    keys = [i.settings.key for i in default_model().indicators if i.kind == "management_missing"]
    assert sorted(keys) == sorted(["safety_organization", "responsible_persons", "management_system",
                                   "risk_control_mechanism", "hazard_investigation_mechanism",
                                   "emergency_plan", "emergency_drills", "training"])


def test_default_bands_and_policy():
    model = default_model()
    assert [(b.grade, b.lower, b.upper) for b in model.bands] == [
        ("A", 0, 20), ("B", 20, 40), ("C", 40, 60), ("D", 60, 100)]
    assert model.patrol_findings.window_days == 365
    policy = model.policy
    assert (policy.accident_lock_years, policy.ceiling_window_days, policy.ceiling_best_grade,
            policy.repair_accident_free_years, policy.public_grade_display) == (3, 365, "B", 3, "grade")


def test_every_label_is_chinese_and_english():
    model = default_model()
    for item in [*model.groups, *model.indicators]:
        assert re.search(r"[\u4e00-\u9fff]", item.labels.zh), item.id
        assert re.fullmatch(r"[\x20-\x7e]+", item.labels.en), item.id


def test_default_model_uses_every_indicator_kind():
    assert {i.kind for i in default_model().indicators} == set(INDICATOR_KINDS)


def test_load_from_path_str_path_and_text_agree():
    text = DEFAULT_MODEL_PATH.read_text(encoding="utf-8")
    from_path = load_model(DEFAULT_MODEL_PATH)
    assert load_model(str(DEFAULT_MODEL_PATH)) == from_path
    assert load_model(text) == from_path
    assert from_path == default_model()


def test_missing_model_file_is_an_error(tmp_path: Path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "nowhere.yaml")


# --- what validation refuses ----------------------------------------------------------------
# (name, how to spoil the default document, what the error must say)

def indicator(raw: dict, indicator_id: str) -> dict:
    return next(i for i in raw["indicators"] if i["id"] == indicator_id)


REFUSED = [
    ("unknown kind", lambda d: indicator(d, "G4.public_gathering_venue").update(kind="crowd_size"),
     "indicators[11].kind: unknown indicator kind 'crowd_size'"),
    ("unknown group", lambda d: indicator(d, "G4.public_gathering_venue").update(group="G9"),
     "indicators[11].group: unknown group 'G9'"),
    ("id outside its group", lambda d: indicator(d, "G4.public_gathering_venue").update(id="G3.venue"),
     "indicators[11].id: 'G3.venue' must start with its group 'G4.'"),
    ("negative points", lambda d: indicator(d, "G6.cases_opened").update(points=-5),
     "indicators[18].points: Input should be greater than or equal to 0"),
    ("negative cap", lambda d: d["groups"][2].update(cap=-1), "groups[2].cap"),
    ("duplicate indicator id", lambda d: indicator(d, "G6.penalties_decided").update(id="G6.cases_opened"),
     "indicators: duplicate id 'G6.cases_opened'"),
    ("duplicate group id", lambda d: d["groups"].append(copy.deepcopy(d["groups"][0])),
     "groups: duplicate id 'G0'"),
    ("group without indicators", lambda d: d["groups"].append(
        {"id": "G7", "cap": 5, "labels": {"zh": "其他", "en": "Other"}}), "groups: group 'G7' has no indicators"),
    ("missing zh label", lambda d: indicator(d, "G6.cases_opened")["labels"].pop("zh"),
     "indicators[18].labels.zh: Field required"),
    ("blank en label", lambda d: d["groups"][0]["labels"].update(en="  "), "groups[0].labels.en"),
    ("missing labels", lambda d: indicator(d, "G6.cases_opened").pop("labels"),
     "indicators[18].labels: Field required"),
    ("band gap", lambda d: d["bands"][1].update(lower=21),
     "bands[0].upper: 20 must equal bands[1].lower 21 (bands must be contiguous)"),
    ("band overlap", lambda d: d["bands"][2].update(upper=65), "bands[2].upper: 65 must equal bands[3].lower 60"),
    ("bands not from 0", lambda d: d["bands"][0].update(lower=5), "bands[0].lower: must be 0"),
    ("bands not to 100", lambda d: d["bands"][3].update(upper=90), "bands[3].upper: must be 100"),
    ("bands out of order", lambda d: d["bands"].reverse(), "bands: grades must be A, B, C, D in this order"),
    ("a band missing", lambda d: d["bands"].pop(), "bands: grades must be A, B, C, D in this order"),
    ("unknown band grade", lambda d: d["bands"][0].update(grade="E"), "bands[0].grade"),
    ("windowed kind without window", lambda d: indicator(d, "G5.missing_filling_records").pop("window_days"),
     "exactly one of window_days or window_years is required"),
    ("both windows", lambda d: indicator(d, "G6.cases_opened").update(window_days=1095),
     "exactly one of window_days or window_years is required"),
    ("window on an unwindowed kind", lambda d: indicator(d, "G3.hazards_past_deadline").update(window_days=30),
     "takes no window_days or window_years"),
    ("zero window", lambda d: indicator(d, "G5.missing_filling_records").update(window_days=0),
     "indicators[16].window_days: Input should be greater than 0"),
    ("max below points", lambda d: indicator(d, "G3.hazards_past_deadline").update(max_points=1),
     "max_points 1 is below points 2"),
    ("points missing", lambda d: indicator(d, "G4.public_gathering_venue").pop("points"),
     "indicator 'G4.public_gathering_venue' (public_gathering_venue): points is required"),
    ("points on general credit", lambda d: indicator(d, "G0.general_credit_grade").update(points=10),
     "points must be left out"),
    ("general credit grade missing", lambda d: indicator(d, "G0.general_credit_grade")["params"].pop("unknown"),
     "params.unknown: Field required"),
    ("unknown management key",
     lambda d: indicator(d, "G1.safety_organization_missing")["params"].update(key="boss"),
     "params.key: Input should be"),
    ("unknown param", lambda d: indicator(d, "G3.hazards_past_deadline").update(params={"per_day": 1}),
     "params.per_day: Extra inputs are not permitted"),
    ("bad catalogue family", lambda d: indicator(d, "G4.inherently_hazardous_kind")["params"].update(
        categories=["1100"]), "params.categories[0]"),
    ("completion above 1", lambda d: indicator(d, "G3.self_inspection_completion_low").update(
        params={"min_completion": 90}), "params.min_completion"),
    ("unknown top-level field", lambda d: d.update(bands_v2=[]), "bands_v2: Extra inputs are not permitted"),
    ("typo in an indicator field", lambda d: indicator(d, "G6.cases_opened").update(window_year=3),
     "indicators[18].window_year: Extra inputs are not permitted"),
    ("policy grade", lambda d: d["policy"].update(ceiling_best_grade="E"), "policy.ceiling_best_grade"),
    ("public display", lambda d: d["policy"].update(public_grade_display="stars"), "policy.public_grade_display"),
    ("negative lock", lambda d: d["policy"].update(accident_lock_years=0), "policy.accident_lock_years"),
    ("no version", lambda d: d.pop("model_version"), "model_version: Field required"),
    ("bad effective date", lambda d: d.update(effective_from="someday"), "effective_from"),
    ("no indicators", lambda d: d.update(indicators=[]), "indicators: List should have at least 1 item"),
]


@pytest.mark.parametrize(("change", "message"), [pytest.param(c, m, id=name) for name, c, m in REFUSED])
def test_invalid_model_is_refused_naming_the_field(raw, change, message):
    change(raw)
    with pytest.raises(ModelValidationError) as refused:
        parse_model(raw)
    assert message in str(refused.value)
    assert any(message in p or p in message for p in refused.value.problems)


def test_several_problems_are_reported_together(raw):
    raw["bands"][0]["lower"] = 5
    raw["bands"][3]["upper"] = 90
    raw["indicators"][1]["id"] = raw["indicators"][2]["id"]
    with pytest.raises(ModelValidationError) as refused:
        parse_model(raw)
    assert len(refused.value.problems) == 3


@pytest.mark.parametrize(("text", "message"), [
    ("model_version: [unclosed", "not valid YAML"),
    ("- just\n- a list\n", "must be a mapping"),
    ("", "must be a mapping"),
])
def test_unparseable_text_is_refused(text, message):
    with pytest.raises(ModelValidationError, match=message):
        load_model(text)
