"""The mapping file: a city's own column headers (and cell spellings) → the registry's fields.

```yaml
enterprises:                 # one section per ledger: enterprises, equipment, operators
  sheet: 使用单位             # XLSX sheet holding it (CSV files: --kind or inferred)
  columns: {统一社会信用代码: uscc, 单位名称: name}
  values:                    # optional: their spellings of a field's values → ours
    venue_type: {学校: school, 其他: other}
```
Headers the mapping does not name are still read when they are the registry's own field
names, so a file in our format needs no mapping at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    TypeAdapter,
    ValidationError,
)

from services.registry.imports.rows import FIELDS, IMPORT_KINDS

EXAMPLE_MAPPING = Path(__file__).parent / "example-mapping.yaml"


class MappingError(ValueError):
    """The mapping file itself is wrong (not a row of the data); ``field`` is the path of the
    offending entry, ``mapping.<section>.<key>...``."""

    def __init__(self, message: str, field: str = "mapping") -> None:
        super().__init__(f"{field}: {message}" if field != "mapping" else message)
        self.field, self.message = field, message


def _scalar_text(value: Any) -> Any:
    """Headers and their spellings may be YAML numbers or booleans; they are read as text."""
    return str(value) if isinstance(value, int | float | date) else value  # bool is an int


Text = Annotated[StrictStr, BeforeValidator(_scalar_text)]
Cell = StrictStr | StrictBool | StrictInt | StrictFloat | date | None  # what a spelling translates to


class SectionShape(BaseModel):
    """One ledger's section, as YAML must shape it."""

    model_config = ConfigDict(extra="forbid")

    sheet: Text | None = None
    columns: dict[Text, Text] | None = None
    values: dict[Text, dict[Text, Cell] | None] | None = None


MappingShape = TypeAdapter(dict[Text, SectionShape | None])


def _shape_error(exc: ValidationError) -> MappingError:
    first = exc.errors()[0]
    # A union's member names its type in the location (e.g. "str"); the path is the YAML one.
    loc = [str(part) for part in first["loc"] if not (isinstance(part, str) and part.startswith(
        ("str", "bool", "int", "float", "date", "dict[", "SectionShape", "function-")))]
    messages = {"dict_type": "must be a mapping", "model_type": "must be a mapping of sheet, columns, values",
                "string_type": "must be text", "extra_forbidden": "not a key of a section; one of sheet, columns, "
                                                                  "values"}
    message = messages.get(first["type"], first["msg"])
    if first["type"] in {"string_type", "bool_type", "int_type", "float_type", "date_type"} and "values" in loc \
            and len(loc) == 4:
        message = "must be a single value (text, number, yes/no or a date)"
    return MappingError(message, ".".join(["mapping", *loc]))


def normalise_header(header: Any) -> str:
    return "" if header is None else str(header).strip().replace("\n", "").casefold()


@dataclass(frozen=True)
class SheetMapping:
    kind: str
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # normalised header -> field
    values: dict[str, dict[str, Any]] = field(default_factory=dict)  # field -> their value -> ours

    def field_of(self, header: Any) -> str | None:
        key = normalise_header(header)
        if key in self.columns:
            return self.columns[key]
        return key if key in FIELDS[self.kind] else None

    def translate(self, name: str, value: Any) -> Any:
        table = self.values.get(name)
        if not table or value is None:
            return value
        return table.get(str(value).strip(), value)


@dataclass(frozen=True)
class Mapping:
    sheets: dict[str, SheetMapping] = field(default_factory=dict)  # kind -> mapping

    def for_kind(self, kind: str) -> SheetMapping:
        return self.sheets.get(kind) or SheetMapping(kind=kind)

    def kind_of_sheet(self, sheet_name: str) -> str | None:
        for kind, sheet in self.sheets.items():
            if sheet.sheet is not None and normalise_header(sheet.sheet) == normalise_header(sheet_name):
                return kind
        name = normalise_header(sheet_name)
        return name if name in IMPORT_KINDS else None

    def kind_of_headers(self, headers: list[Any]) -> str | None:
        """The ledger whose mapping (or field names) explains the most headers."""
        best, best_hits = None, 0
        for kind in IMPORT_KINDS:
            hits = sum(self.for_kind(kind).field_of(h) is not None for h in headers)
            if hits > best_hits:
                best, best_hits = kind, hits
        return best


def parse_mapping(text: str) -> Mapping:
    """The mapping in ``text``; a wrong shape or name is a ``MappingError`` naming its path."""
    try:
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise MappingError(f"the mapping is not YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise MappingError("the mapping must be a YAML mapping with enterprises/equipment/operators sections")
    for kind in document:
        if kind not in IMPORT_KINDS:
            raise MappingError(f"unknown section {kind!r}; one of {', '.join(IMPORT_KINDS)}", f"mapping.{kind}")
    try:
        shaped = MappingShape.validate_python(document)
    except ValidationError as exc:
        raise _shape_error(exc) from exc
    sheets: dict[str, SheetMapping] = {}
    for kind, section in shaped.items():
        section = section or SectionShape()
        columns = {}
        for header, target in (section.columns or {}).items():
            if target not in FIELDS[kind]:
                raise MappingError(f"{target!r} is not a field of {kind}; one of {', '.join(FIELDS[kind])}",
                                   f"mapping.{kind}.columns.{header}")
            columns[normalise_header(header)] = target
        values = {}
        for target, table in (section.values or {}).items():
            if target not in FIELDS[kind]:
                raise MappingError(f"not a field of {kind}", f"mapping.{kind}.values.{target}")
            values[target] = {k.strip(): v for k, v in (table or {}).items()}
        sheets[kind] = SheetMapping(kind=kind, sheet=section.sheet, columns=columns, values=values)
    return Mapping(sheets)


def load_mapping(path: Path | None) -> Mapping:
    return parse_mapping(path.read_text(encoding="utf-8")) if path else Mapping()
