"""The base of every request body, for every service: unknown fields are refused (a misspelt
field is a 422, not a silent no-op), text is stripped, and nothing is coerced (``0`` is not
``false``, ``"1"`` not ``1``; dates are ``YYYY-MM-DD`` strings, times RFC 3339 with an offset).
Nested bodies extend ``RequestBody`` too."""

from __future__ import annotations

import datetime as dt
import re
from datetime import date
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, Strict

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")

# What ``str_strip_whitespace`` strips (pydantic-core trims Unicode White_Space): a text that must
# keep a character after stripping must hold one outside this set.
STRIPPED = "\\t\\n\\u000b\\u000c\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"
NOT_BLANK = f"[^{STRIPPED}]"


def _iso_date(value: Any) -> Any:
    """Dates are ``YYYY-MM-DD`` strings (contract.md §2), not numbers read as Unix time."""
    if value is None or isinstance(value, date) or (isinstance(value, str) and ISO_DATE.fullmatch(value.strip())):
        return value
    raise ValueError("must be a date as YYYY-MM-DD")


# Strict bodies parse no strings, so dates and times opt out of strictness (as ISO strings only).
IsoDate = Annotated[dt.date, Strict(False), BeforeValidator(_iso_date)]
IsoDatetime = Annotated[AwareDatetime, Strict(False)]


def stripped_text(schema: dict[str, Any]) -> None:
    """Texts are stripped before their length is checked: a non-empty text must be non-blank, and
    the document says so with a pattern."""
    for prop in schema.get("properties", {}).values():
        for option in (prop, *prop.get("anyOf", ())):
            if option.get("type") == "string" and option.get("minLength", 0) >= 1 and not (
                    {"pattern", "enum", "format"} & set(option)):
                option["pattern"] = NOT_BLANK


class RequestBody(BaseModel):
    """The base of every request body (see the module's docstring)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True,
                              json_schema_extra=stripped_text)


def _no_null(schema: dict[str, Any]) -> None:
    """The schema of a PATCH field that may be omitted but never null: its validator refuses null,
    so the document drops the null branch (and the null default) pydantic derives from ``X | None``."""
    schema.pop("default", None)
    options = [option for option in schema.pop("anyOf", ()) if option.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def omit_or(**constraints: Any) -> Any:
    """``Field`` of a PATCH field sent to change it, or left out to keep it: never null."""
    return Field(None, json_schema_extra=_no_null, **constraints)
