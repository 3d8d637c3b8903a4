"""API shapes of filling records and equipment (usage and maintenance) records."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints

from services.inspection.domain.records import MAX_BATCH, EquipmentRecordKind
from shared.contracts.common import USCC_PATTERN

UsccField = Annotated[str, Field(pattern=USCC_PATTERN, description="unified social credit code")]


def _text_only(value: object) -> object:
    """Dates and times arrive as RFC 3339 text: a number (lax pydantic reads 0 as 1970-01-01) is refused."""
    if not isinstance(value, str):
        raise ValueError("must be a string (RFC 3339)")
    return value


Moment = Annotated[AwareDatetime, BeforeValidator(_text_only)]
Day = Annotated[dt.date, BeforeValidator(_text_only)]
Mass = Annotated[float, Field(strict=True)]
# No pattern: JSON Schema's and Python's whitespace classes differ, so a blank number is refused per
# record (domain.records.rejection) rather than by the schema.
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class Input(BaseModel):
    """Request bodies: unknown fields and lax coercions (``"true"`` for true, ``"14"`` for 14, 0 for
    a date) are refused, so that a malformed batch is a 422 as a whole."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Output(BaseModel):
    model_config = ConfigDict(frozen=True)


class FillingRecordIn(Input):
    """One fill of one cylinder (气瓶充装记录, TSG 23), as a filling-scale system reports it."""

    enterprise_uscc: UsccField
    cylinder_no: Code = Field(description="the cylinder's number (气瓶编号), as in the filling unit's ledger")
    medium: Annotated[str, StringConstraints(min_length=1, max_length=50)] = Field(
        description="the filling medium, e.g. LPG")
    filled_at: Moment = Field(description="when the fill ended (RFC 3339 with offset)")
    pre_check_passed: StrictBool = Field(description="the pre-fill check (appearance, residual pressure, dates) passed")
    post_check_passed: StrictBool = Field(description="the post-fill check (leak, re-weigh) passed")
    operator_cert_no: Code | None = Field(description="the filling operator's certificate number (作业人员证)")
    filled_mass_kg: Mass = Field(description="the mass filled, in kilograms")
    checker_cert_no: Code | None = Field(None, description="the checker's certificate number, when another person")
    scale_id: Code | None = Field(None, description="the filling gun or scale (充装枪/秤)")


class FillingBatchIn(Input):
    records: list[FillingRecordIn] = Field(min_length=1, max_length=MAX_BATCH,
                                           description=f"1 to {MAX_BATCH} filling records")


class Rejection(Output):
    index: int = Field(description="position of the record in the batch (0-based)")
    field: str
    reason: str


class ChainAppended(Output):
    enterprise_uscc: str
    sequence: int
    link_hash: str


class FillingBatchOut(Output):
    batch_id: str
    received: int
    stored: int = Field(description="records stored now")
    duplicate: int = Field(description="records already stored (same enterprise, cylinder and filled_at)")
    rejected: int
    rejections: list[Rejection]
    anomalies: int = Field(description="filling_record.anomaly_detected events raised for the stored records")
    chain: list[ChainAppended] = Field(description="the chain link sealing each enterprise's stored records")


class FillingRecordOut(Output):
    id: str
    enterprise_uscc: str
    cylinder_no: str
    medium: str
    filled_at: datetime
    business_date: date
    pre_check_passed: StrictBool
    post_check_passed: StrictBool
    operator_cert_no: str | None
    checker_cert_no: str | None
    filled_mass_kg: float
    scale_id: str | None
    batch_id: str = Field(description="the upload that stored this version (a correction is an upload of one)")
    received_at: datetime = Field(description="when this version was stored (for a correction: when it was made)")
    anomalies: list[str] = Field(description="the anomaly kinds this version's content shows")
    version: int = Field(description="1 as uploaded; 2 for its first correction, and so on")
    original_id: str = Field(description="the record as first uploaded (its own id, for an upload): "
                                         "the same for every version of one fill")
    corrects_id: str | None = Field(description="the version this one corrects (null: as uploaded)")
    superseded_by_id: str | None = Field(description="the correction that replaced this version (null: current)")
    correction_reason: str | None = Field(description="why this version corrects the previous one")
    corrected_by: str | None = Field(description="who made the correction (the token's subject)")
    chain_sequence: int | None = Field(description="the chain link that sealed this version")


class EquipmentRecordIn(Input):
    """A usage or maintenance record of one piece of equipment (使用/维护保养记录)."""

    equipment_id: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    kind: EquipmentRecordKind = Field(description="daily_use 日常使用, maintenance 维护保养, trial_run 试运行, "
                                                  "routine_check 例行检查, fault 故障")
    occurred_at: Moment
    performed_by: Annotated[str, StringConstraints(min_length=1, max_length=200)] | None = Field(
        None, description="who did it (name or certificate number)")
    note: Annotated[str, StringConstraints(max_length=4000)] = ""
    corrects_id: Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,17}$")] | None = Field(
        None, description="the id of the record this one corrects (the old one stays, linked)")


class EquipmentRecordOut(Output):
    id: str
    enterprise_uscc: str
    equipment_id: str
    kind: str
    occurred_at: datetime
    business_date: date
    performed_by: str | None
    note: str
    corrects_id: str | None
    recorded_at: datetime
    recorded_by: str
    chain_sequence: int


class MaintenanceCheckIn(Input):
    date: Day = Field(description="the business date to check as (YYYY-MM-DD)")


class MaintenanceLapseOut(Output):
    enterprise_uscc: str
    equipment_id: str
    category: str
    last_maintenance_date: date | None
    due_date: date
    event_id: str


class MaintenanceCheckOut(Output):
    date: dt.date
    policy_version: str
    checked: int
    lapsed: list[MaintenanceLapseOut] = Field(description="lapses reported by this run (each once per due date)")
