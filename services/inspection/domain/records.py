"""Rules of the records themselves (一记录): which filling record a batch stores, what of each
record the chain seals, and the kinds of equipment record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring
from operator import attrgetter, itemgetter
from typing import Any, Literal

from services.inspection.domain.canonical import canonical_flat_rows, sha256_hex
from services.inspection.domain.chain import STAMP_FORMAT, timestamp_text

MAX_BATCH = 5000
MAX_FILLED_MASS_KG = 2000.0  # the largest cylinders (long tubes aside) hold well under a tonne
FILLING_BATCH = "filling_batch"  # the chain link kind of a stored batch
EQUIPMENT_RECORD = "equipment_record"  # the chain link kind of one usage or maintenance record

EquipmentRecordKind = Literal["daily_use", "maintenance", "trial_run", "routine_check", "fault"]
# 日常使用 / 维护保养 / 试运行 / 例行检查 / 故障


def rejection(*, known_enterprise: bool, filled_at: datetime, filled_mass_kg: float, now: datetime,
              max_skew: timedelta, cylinder_no: str = "C") -> tuple[str, str] | None:
    """Why one record of a well-formed batch is not stored, as (field, reason), or None."""
    if not cylinder_no.strip():
        return "cylinder_no", "is blank"
    if not known_enterprise:
        return "enterprise_uscc", "the enterprise is not in the ledger (registered in registry?)"
    if filled_at > now + max_skew:
        return "filled_at", f"lies in the future ({filled_at.isoformat()}; the server's time is {now.isoformat()})"
    if not 0 < filled_mass_kg <= MAX_FILLED_MASS_KG:
        return "filled_mass_kg", f"must be more than 0 and at most {MAX_FILLED_MASS_KG:g} kg"
    return None


def record_key(uscc: str, cylinder_no: str, filled_at: datetime) -> tuple[str, str, datetime]:
    """What makes a filling record the same record: enterprise, cylinder, moment of filling (aware
    datetimes are equal, and hash equal, whatever offset they were written with)."""
    if filled_at.tzinfo is None:
        raise ValueError("filled_at must be timezone-aware")
    return uscc, cylinder_no, filled_at


FILLING_SEALED = ("id", "enterprise_uscc", "cylinder_no", "medium", "filled_at", "pre_check_passed",
                  "post_check_passed", "operator_cert_no", "checker_cert_no", "filled_mass_kg", "scale_id")


def filling_content(row: Mapping[str, Any]) -> dict[str, Any]:
    """What of a stored filling record the chain seals (its id included, so rows cannot swap)."""
    content = {name: row[name] for name in FILLING_SEALED}
    content["filled_at"] = timestamp_text(row["filled_at"])
    return content


def records_hash(rows: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the RFC 8785 encoding of the records' sealed content, in id order."""
    rows = list(rows)
    try:
        encoded = _sealed_records_text(rows).encode("utf-8")
    except (_Unusual, UnicodeEncodeError):  # a lone surrogate, or a value of another shape
        encoded = canonical_flat_rows([filling_content(r) for r in rows])
    return sha256_hex(encoded)


# The sealed content's keys in RFC 8785 order (ASCII: UTF-16 order is byte order). A batch is
# written through one template of %s only (%04d and the like took half the time): a column with
# one value in the whole batch (its enterprise, most often its medium, operator, checks, scale) is
# written into the template once, the others per row. Anything the template cannot promise to
# write as RFC 8785 does goes to the general encoder.
_SEALED_ORDER = ("checker_cert_no", "cylinder_no", "enterprise_uscc", "filled_at", "filled_mass_kg", "id", "medium",
                 "operator_cert_no", "post_check_passed", "pre_check_passed", "scale_id")
assert list(_SEALED_ORDER) == sorted(FILLING_SEALED), "the template below writes exactly the sealed fields, sorted"
_MAX_SAFE_INTEGER = 2**53


class _Unusual(Exception):
    pass


def _text(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is not str:
        raise _Unusual
    return encode_basestring(value)


def _number(value: Any) -> str:
    if type(value) is int and -_MAX_SAFE_INTEGER < value < _MAX_SAFE_INTEGER:
        return str(value)
    if type(value) is float:
        if value.is_integer() and abs(value) < _MAX_SAFE_INTEGER:
            return str(int(value))  # ECMAScript writes 14.0 as 14
        if not value.is_integer() and 1e-4 <= abs(value) < 1e16:
            return repr(value)  # where repr and ECMAScript both write the shortest positional digits
    raise _Unusual


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC, refused as ``timestamp_text`` refuses it."""
    if type(moment) is not datetime:
        raise _Unusual
    if moment.tzinfo is UTC:
        return moment
    if moment.tzinfo is None:
        raise ValueError("a sealed filled_at must be timezone-aware")
    return moment.astimezone(UTC)


_SEALED_VALUES = itemgetter(*_SEALED_ORDER)
_TEXT_TYPES = {str, type(None)}
_NUMBER_TYPES = {int, float}
_FLAGS = {True: "true", False: "false"}


def _sealed_records_text(rows: list[Mapping[str, Any]]) -> str:
    """The RFC 8785 text of ``[filling_content(r) for r in rows]``, or ``_Unusual``.

    Each column's value types are checked once for the batch (exact types: True is not 1), and
    each distinct value of a text, number or flag column is encoded once."""
    values = list(map(_SEALED_VALUES, rows))
    if not values:
        return "[]"
    columns = dict(zip(_SEALED_ORDER, zip(*values, strict=True), strict=True))
    # Equal values write alike (an int and a float, True and True): a column of one distinct
    # value is written once. A text equals only texts, so its distinct values show its types.
    distinct = {name: set(columns[name]) for name in _TABLED}
    if not (set(map(type, columns["cylinder_no"])) == {str}
            and all(set(map(type, distinct[name])) <= _TEXT_TYPES for name in _TEXTS)
            and set(map(type, columns["filled_at"])) == {datetime}
            and set(map(type, columns["filled_mass_kg"])) <= _NUMBER_TYPES
            and set(map(type, ids := columns["id"])) == {int}
            and min(ids) > -_MAX_SAFE_INTEGER and max(ids) < _MAX_SAFE_INTEGER
            and set(map(type, columns["post_check_passed"])) == set(map(type, columns["pre_check_passed"])) == {bool}):
        raise _Unusual
    moments = columns["filled_at"]
    if set(map(_TZINFO, moments)) != {UTC}:  # as ingest stores them; else each is converted
        moments = list(map(_utc, moments))
    written = {  # each column as the template writes its values
        "cylinder_no": list(map(encode_basestring, columns["cylinder_no"])),
        "filled_at": [_STAMP % (m.year, m.month, m.day, m.hour, m.minute, m.second, m.microsecond)
                      for m in moments],
        "id": list(map(str, ids)),
    }
    parts, varying = [], []  # the template's pieces; the columns its %s take, in order
    for name in _SEALED_ORDER:
        if name in written:
            column = written[name]
            single = len(set(column)) == 1
        else:
            encode = (_FLAGS if name in _FLAG_COLUMNS else _table(name, distinct[name])).__getitem__
            column = list(map(encode, columns[name])) if len(distinct[name]) > 1 else [encode(columns[name][0])]
            single = len(column) == 1
        if single:
            parts.append(f'"{name}":{column[0]}'.replace("%", "%%"))
        else:
            parts.append(f'"{name}":%s')
            varying.append(column)
    template = "{" + ",".join(parts) + "}"
    if not varying:
        return "[" + ",".join([template % ()] * len(values)) + "]"
    return "[" + ",".join(map(template.__mod__, zip(*varying, strict=True))) + "]"


_TEXTS = ("checker_cert_no", "enterprise_uscc", "medium", "operator_cert_no", "scale_id")
_FLAG_COLUMNS = ("post_check_passed", "pre_check_passed")
_TABLED = (*_TEXTS, "filled_mass_kg", *_FLAG_COLUMNS)  # few distinct values: each written once
_TZINFO = attrgetter("tzinfo")
_STAMP = f'"{STAMP_FORMAT}"'


def _table(name: str, distinct: set[Any]) -> dict[Any, str]:
    """The text of each distinct value of a text or number column."""
    return {value: (_number if name == "filled_mass_kg" else _text)(value) for value in distinct}


EQUIPMENT_SEALED = ("id", "enterprise_uscc", "equipment_id", "kind", "performed_by", "note", "corrects_id",
                    "recorded_by")


def equipment_content(row: Mapping[str, Any]) -> dict[str, Any]:
    content = {name: row[name] for name in EQUIPMENT_SEALED}
    content["occurred_at"] = timestamp_text(row["occurred_at"])
    content["recorded_at"] = timestamp_text(row["recorded_at"])
    return content
