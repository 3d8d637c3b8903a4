"""API shapes of filling-record corrections."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StrictBool, StringConstraints

from services.inspection.domain.records import MAX_FILLED_MASS_KG
from services.inspection.records.schemas import ChainAppended, Code, FillingRecordOut, Input, Moment
from shared.http.bodies import omit_or, stripped_text


def _document(schema: dict[str, Any]) -> None:
    """Left out, a field keeps the corrected version's value, so no field has a default (null is
    a value: it clears an optional field); texts are non-blank after stripping."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    stripped_text(schema)


class FillingCorrectionIn(Input):
    """A correction of a filling record (更正): the reason, and each field to change with its
    corrected value. Left out, a field keeps its value; ``null`` clears the optional ones
    (``operator_cert_no``, ``checker_cert_no``, ``scale_id``). The enterprise cannot be changed."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, json_schema_extra=_document)

    reason: Annotated[str, StringConstraints(min_length=1, max_length=1000)] = Field(
        description="why the record is corrected (kept with the correction, sealed in the chain)")
    cylinder_no: Code = omit_or(description="the cylinder's number (气瓶编号)")
    medium: Annotated[str, StringConstraints(min_length=1, max_length=50)] = omit_or(
        description="the filling medium, e.g. LPG")
    filled_at: Moment = omit_or(description="when the fill ended (RFC 3339 with offset), not in the future")
    pre_check_passed: StrictBool = omit_or(description="the pre-fill check passed")
    post_check_passed: StrictBool = omit_or(description="the post-fill check passed")
    filled_mass_kg: Annotated[float, Field(strict=True, gt=0, le=MAX_FILLED_MASS_KG)] = omit_or(
        description="the mass filled, in kilograms")
    operator_cert_no: Code | None = Field(None, description="the filling operator's certificate number (作业人员证)")
    checker_cert_no: Code | None = Field(None, description="the checker's certificate number")
    scale_id: Code | None = Field(None, description="the filling gun or scale (充装枪/秤)")

    def changes(self) -> dict[str, Any]:
        """The fields sent, with their corrected values."""
        return {name: getattr(self, name) for name in self.model_fields_set if name != "reason"}


class FillingCorrectionOut(FillingRecordOut):
    """The new version, as the record queries show it, with what the correction set off."""

    changed: list[str] = Field(description="the fields whose values the correction changed")
    raised_anomalies: list[str] = Field(description=(
        "anomaly kinds published now as filling_record.anomaly_detected of this version: those the version it "
        "replaces did not show (a condition the fill still shows is not raised again; one a correction cleared "
        "is, when it comes back)"))
    cleared_anomalies: list[str] = Field(description="anomaly kinds of the corrected version this one no longer shows")
    chain: ChainAppended = Field(description="the chain link sealing the correction")
