"""Rules of the records themselves (一记录): which filling record a batch stores, what of each
record the chain seals, and the kinds of equipment record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from services.inspection.domain.canonical import canonical_flat_rows, sha256_hex
from services.inspection.domain.chain import timestamp_text

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
    return sha256_hex(canonical_flat_rows([filling_content(r) for r in rows]))


EQUIPMENT_SEALED = ("id", "enterprise_uscc", "equipment_id", "kind", "performed_by", "note", "corrects_id",
                    "recorded_by")


def equipment_content(row: Mapping[str, Any]) -> dict[str, Any]:
    content = {name: row[name] for name in EQUIPMENT_SEALED}
    content["occurred_at"] = timestamp_text(row["occurred_at"])
    content["recorded_at"] = timestamp_text(row["recorded_at"])
    return content
