"""One spreadsheet row → typed values, or the reasons it cannot be. Cells arrive as text (CSV)
or as numbers and dates (XLSX); the parsers accept both and the spellings city exports use
(是/否, 2026/3/1, 2026年3月1日). A column the file lacks leaves the stored value alone; a
column present with an empty cell clears an optional value."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from shared.contracts.common import MANAGEMENT_KEYS
from shared.contracts.vocabulary import (
    EQUIPMENT_STATUSES,
    VENUE_TYPES,
)


class CellError(ValueError):
    """A cell that cannot be read as its field's type."""


TRUE_WORDS = {"true", "yes", "y", "1", "是", "有", "√", "✓", "t", "在岗"}
FALSE_WORDS = {"false", "no", "n", "0", "否", "无", "×", "✗", "f", "离岗"}
LIST_SEPARATORS = re.compile(r"[;,，、|/；\s]+")
DATE_PATTERN = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")


def as_text(value: Any) -> str:
    if value.__class__ is str:  # every CSV cell
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into Excel comes back as 371102.0
    return str(value).strip()


def as_code(value: Any) -> str:
    return as_text(value).upper().replace(" ", "")


def as_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(as_text(value))
    except ValueError as exc:
        raise CellError(f"{value!r} is not a number") from exc


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value)
    match = DATE_PATTERN.match(text)
    if match is None and len(text) == 8 and text.isdigit():
        match = re.match(r"^(\d{4})(\d{2})(\d{2})$", text)
    if match is None:
        raise CellError(f"{text!r} is not a date (YYYY-MM-DD)")
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError as exc:
        raise CellError(f"{text!r} is not a calendar date") from exc


BOOL_WORDS = {**{word: True for word in TRUE_WORDS}, **{word: False for word in FALSE_WORDS}}


def as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    found = BOOL_WORDS.get(value)  # a cell spelled exactly as a word
    if found is not None:
        return found
    text = as_text(value).lower()
    found = BOOL_WORDS.get(text)
    if found is None:
        raise CellError(f"{text!r} is not yes/no (是/否, true/false, 1/0)")
    return found


def as_list(value: Any) -> list[str]:
    return [part for part in LIST_SEPARATORS.split(as_text(value)) if part]


def one_of(choices: tuple[str, ...]) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = as_text(value)
        if text not in choices:
            raise CellError(f"{text!r} is not one of {', '.join(choices)}")
        return text
    return parse


@dataclass(frozen=True)
class FieldSpec:
    parse: Callable[[Any], Any]
    required: bool = False  # for a new row; an existing row may omit the column
    blank_skips: bool = False  # an empty cell says nothing (management facts), rather than "clear"


MANAGEMENT_FIELDS = {key: FieldSpec(as_bool, blank_skips=True) for key in MANAGEMENT_KEYS}

FIELDS: dict[str, dict[str, FieldSpec]] = {
    "enterprises": {
        "uscc": FieldSpec(as_code, required=True),
        "name": FieldSpec(as_text, required=True),
        "jurisdiction_code": FieldSpec(as_text, required=True),
        "grid_code": FieldSpec(as_text),
        "address": FieldSpec(as_text),
        "lat": FieldSpec(as_float),
        "lon": FieldSpec(as_float),
        "venue_type": FieldSpec(one_of(VENUE_TYPES)),
        "kinds": FieldSpec(as_list),
        "general_credit_grade": FieldSpec(one_of(("A", "B", "C", "D"))),
        "sandbox": FieldSpec(as_bool),
        "associations": FieldSpec(as_list),
        "operating_status": FieldSpec(one_of(("operating", "suspended", "closed"))),
        "contact_name": FieldSpec(as_text),
        "contact_role": FieldSpec(as_text),
        "contact_phone": FieldSpec(as_text),
        **MANAGEMENT_FIELDS,
    },
    "equipment": {
        "uscc": FieldSpec(as_code, required=True),
        "category": FieldSpec(as_code, required=True),
        "registration_no": FieldSpec(as_text),
        "equipment_code": FieldSpec(as_text),
        "name": FieldSpec(as_text),
        "place": FieldSpec(as_text),
        "status": FieldSpec(one_of(EQUIPMENT_STATUSES)),
        "next_inspection_due": FieldSpec(as_date),
        "last_inspection_date": FieldSpec(as_date),
        "last_maintenance_date": FieldSpec(as_date),
    },
    "operators": {
        "uscc": FieldSpec(as_code, required=True),
        "name": FieldSpec(as_text, required=True),
        "certificate_no": FieldSpec(as_text, required=True),
        "id_number": FieldSpec(as_text),
        "certificate_category": FieldSpec(as_code),
        "certificate_issued_date": FieldSpec(as_date),
        "certificate_valid_until": FieldSpec(as_date),
        "active": FieldSpec(as_bool),
    },
}
IMPORT_KINDS: tuple[str, ...] = tuple(FIELDS)
MAX_TEXT = {"name": 200, "address": 500, "registration_no": 64, "equipment_code": 64, "place": 200,
            "certificate_no": 64, "contact_name": 100, "contact_role": 100, "contact_phone": 30}


RowReader = Callable[[Sequence[Any]], tuple[dict[str, Any], list[tuple[str, str]]]]


def row_reader(kind: str, columns: Sequence[tuple[int, str]],
               spellings: Mapping[str, Mapping[str, Any]] | None = None) -> RowReader:
    """``parse_row`` for the cells of a sheet's rows, planned once for the sheet: ``columns``
    are (cell index, field), ``spellings`` the mapping's translations of a field's values (of
    the cell, and of a listed field's items one by one after the split). A short row's missing
    cells are blank."""
    specs = FIELDS[kind]
    plan = [(index, name, specs[name].parse, specs[name].blank_skips, specs[name].parse is as_list,
             MAX_TEXT.get(name, 1000), None if spellings is None else spellings.get(name) or None)
            for index, name in columns]

    def read(cells: Sequence[Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        width = len(cells)
        for index, name, parse, blank_skips, listed, limit, table in plan:
            raw = cells[index] if index < width else None
            if table is not None and raw is not None:
                raw = table.get(str(raw).strip(), raw)
            if raw is None or (raw.__class__ is str and not raw.strip()):
                if not blank_skips:
                    values[name] = [] if listed else None
                continue
            try:
                value = parse(raw)
            except CellError as exc:
                errors.append((name, str(exc)))
                continue
            if value.__class__ is str and len(value) > limit:
                errors.append((name, f"longer than {limit} characters"))
                continue
            if listed and table is not None:
                value = [table.get(str(item).strip(), item) for item in value]
            values[name] = value
        return values, errors

    return read


def parse_row(kind: str, cells: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Typed values of the fields present, and (field, message) for each unreadable cell."""
    return row_reader(kind, list(enumerate(cells)))(list(cells.values()))


REQUIRED = {kind: tuple(name for name, spec in specs.items() if spec.required) for kind, specs in FIELDS.items()}


def missing_required(kind: str, values: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [(name, "required") for name in REQUIRED[kind] if values.get(name) in (None, "")]
