"""Request bodies coerce nothing and their documents say what stripping text means (pure)."""

from __future__ import annotations

import re
import sys

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from services.registry.enterprises.schemas import (
    DailyJobRequest,
    EnterprisePatch,
    KeySupervisionDesignation,
    Location,
)
from services.registry.equipment.schemas import CylinderIn, EquipmentCreate
from shared.http.bodies import NOT_BLANK


class Stripped(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)
    text: str


def test_not_blank_is_exactly_what_stripping_keeps() -> None:
    pattern = re.compile(NOT_BLANK)
    for code in range(sys.maxunicode + 1):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        assert (Stripped(text=char).text != "") == bool(pattern.fullmatch(char)), hex(code)


def test_a_text_that_must_not_be_empty_is_documented_as_not_blank() -> None:
    name = EnterprisePatch.model_json_schema()["properties"]["name"]
    assert name["minLength"] == 1 and name["pattern"] == NOT_BLANK


@pytest.mark.parametrize(("model", "body", "field"), [
    (EnterprisePatch, {"sandbox": 0}, "sandbox"),
    (EnterprisePatch, {"name": 5}, "name"),
    (Location, {"lat": True, "lon": 1}, "lat"),
    (CylinderIn, {"cylinder_no": "C-1", "manufactured_date": 0}, "manufactured_date"),
    (EquipmentCreate, {"category": "2300", "safety_accessories": [{"name": "阀", "next_inspection_due": 1}]},
     "safety_accessories"),
    (DailyJobRequest, {"date": "1767225600"}, "date"),
])
def test_bodies_coerce_nothing(model: type[BaseModel], body: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    assert [error["loc"][0] for error in raised.value.errors()] == [field]


def test_a_designation_is_documented_as_needing_its_reason() -> None:
    """What ``designate_key_supervision`` refuses (422 "a designation needs its reason"), the
    document refuses too."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(KeySupervisionDesignation.model_json_schema())
    for body, valid in (({"designated": True, "reason": "重大隐患"}, True), ({"designated": False}, True),
                        ({"designated": True}, False), ({"designated": True, "reason": " "}, False),
                        ({"designated": True, "reason": None}, False)):
        assert validator.is_valid(body) is valid, body


def test_dates_and_numbers_in_their_json_types_pass() -> None:
    assert Location.model_validate({"lat": 35, "lon": 119.5}).lat == 35.0
    assert str(CylinderIn.model_validate({"cylinder_no": "C-1", "manufactured_date": "2020-05-01"})
               .manufactured_date) == "2020-05-01"
