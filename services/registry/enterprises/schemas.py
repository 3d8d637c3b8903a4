"""API shapes of enterprises, jurisdictions, management facts, accidents and the daily job
(pydantic), separate from the tables. Every body, nested ones included, extends
``shared.http.bodies.RequestBody``: unknown fields refused, nothing coerced."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.registry.domain.kinds import kinds_from_tags
from services.registry.models import (
    Accident,
    Enterprise,
    Jurisdiction,
)
from shared.contracts.common import USCC_PATTERN, Grade
from shared.contracts.registry import KeySupervisionCause, VenueType
from shared.contracts.vocabulary import (
    AccidentSeverity,
    Kind,
    OperatingStatus,
)
from shared.http.bodies import NOT_BLANK, IsoDate, IsoDatetime, RequestBody, omit_or, stripped_text

Text200 = Field(min_length=1, max_length=200)


class Location(RequestBody):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Contact(RequestBody):
    """A contact person (never shown in public)."""

    name: str = Field(min_length=1, max_length=100)
    role: str | None = Field(None, max_length=100, description="e.g. principal, safety director (安全总监)")
    phone: str | None = Field(None, max_length=30)


class ManagementFacts(RequestBody):
    """三落实 (organisation, persons, system), 三到位 (plan, drills, training), 双机制."""

    safety_organization: bool | None = None
    responsible_persons: bool | None = None
    management_system: bool | None = None
    emergency_plan: bool | None = None
    emergency_drills: bool | None = None
    training: bool | None = None
    risk_control_mechanism: bool | None = None
    hazard_investigation_mechanism: bool | None = None

    def given(self) -> dict[str, bool]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


# --- enterprises ------------------------------------------------------------------------------

class EnterpriseCreate(RequestBody):
    uscc: str = Field(max_length=40, description="18-character unified social credit code, with its check digit",
                      json_schema_extra={"pattern": USCC_PATTERN, "format": "uscc"})
    name: str = Text200
    jurisdiction_code: str = Field(max_length=12)
    grid_code: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=500)
    location: Location | None = None
    venue_type: VenueType = "other"
    kinds: list[Kind] = []
    general_credit_grade: Grade | None = None
    management: ManagementFacts = ManagementFacts()
    contacts: list[Contact] = Field(default_factory=list, max_length=20)
    associations: list[str] = Field(default_factory=list, max_length=20)
    sandbox: bool = False
    operating_status: OperatingStatus = "operating"
    allow_invalid_check_digit: bool = Field(False, description="admins only: accept a code failing the checksum")


class EnterprisePatch(RequestBody):
    """Only the fields sent change. Enterprise users may change contacts and operating_status."""

    name: str | None = omit_or(min_length=1, max_length=200)
    jurisdiction_code: str | None = omit_or(max_length=12)
    grid_code: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=500)
    location: Location | None = None
    venue_type: VenueType | None = omit_or()
    kinds: list[Kind] | None = omit_or()
    general_credit_grade: Grade | None = None
    contacts: list[Contact] | None = omit_or(max_length=20)
    associations: list[str] | None = omit_or(max_length=20)
    sandbox: bool | None = omit_or()
    operating_status: OperatingStatus | None = omit_or()

    @field_validator("name", "jurisdiction_code", "venue_type", "kinds", "contacts", "associations", "sandbox",
                     "operating_status")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


ENTERPRISE_SELF_SERVICE_FIELDS = frozenset({"contacts", "operating_status"})


class ManagementObservation(RequestBody):
    """Facts seen on a patrol (巡查); the latest report wins, whatever its source."""

    facts: ManagementFacts
    observed_at: IsoDatetime | None = None
    patrol_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=500)


def _designation_needs_a_reason(schema: dict[str, Any]) -> None:
    stripped_text(schema)
    schema["anyOf"] = [{"properties": {"designated": {"const": False}}},
                       {"required": ["reason"], "properties": {"reason": {"type": "string", "pattern": NOT_BLANK}}}]


class KeySupervisionDesignation(RequestBody):
    """Designating needs its reason (not blank); releasing does not."""

    model_config = ConfigDict(json_schema_extra=_designation_needs_a_reason)
    designated: bool
    reason: str | None = Field(None, max_length=500)


class FactStateOut(BaseModel):
    in_place: bool
    source: Literal["declared", "observed"]
    as_of: datetime


class DesignationOut(BaseModel):
    reason: str
    designated_by: str | None
    designated_at: datetime | None


@dataclass(frozen=True)
class EnterpriseFilters:
    """What a search or the map asks for (query parameters), within the caller's scope."""

    jurisdiction: str | None = None
    grid: str | None = None
    kind: str | None = None
    venue_type: str | None = None
    key_supervision: bool | None = None
    operating_status: str | None = None
    q: str | None = None


class EnterpriseOut(BaseModel):
    uscc: str
    revision: int
    name: str
    jurisdiction_code: str
    grid_code: str | None
    address: str | None
    location: Location | None
    location_verified: bool
    location_verified_at: datetime | None
    venue_type: str
    kinds: list[str]
    general_credit_grade: str | None
    management: dict[str, FactStateOut]
    contacts: list[Contact]
    associations: list[str]
    sandbox: bool
    operating_status: str
    key_supervision: bool
    key_supervision_reason: str | None
    key_supervision_causes: list[KeySupervisionCause]
    designation: DesignationOut | None
    last_accident_date: date | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Enterprise) -> EnterpriseOut:
        return cls(
            uscc=row.uscc, revision=row.revision, name=row.name, jurisdiction_code=row.jurisdiction_code,
            grid_code=row.grid_code, address=row.address,
            location=Location(lat=row.lat, lon=row.lon) if row.lat is not None and row.lon is not None else None,
            location_verified=row.location_verified_at is not None, location_verified_at=row.location_verified_at,
            venue_type=row.venue_type, kinds=kinds_from_tags(row.kinds_tags),
            general_credit_grade=row.general_credit_grade,
            management={k: FactStateOut.model_validate(v) for k, v in (row.management or {}).items()},
            contacts=[Contact.model_validate(c) for c in row.contacts or []], associations=row.associations or [],
            sandbox=row.sandbox, operating_status=row.operating_status, key_supervision=row.key_supervision,
            key_supervision_reason=row.key_supervision_reason,
            key_supervision_causes=row.key_supervision_causes or [],
            designation=DesignationOut(reason=row.designation_reason, designated_by=row.designated_by,
                                       designated_at=row.designated_at) if row.designation_reason else None,
            last_accident_date=row.last_accident_date, created_at=row.created_at, updated_at=row.updated_at,
        )


class EnterprisePage(BaseModel):
    items: list[EnterpriseOut]
    next_cursor: str | None = None


class ManagementRecordOut(BaseModel):
    source: str
    facts: dict[str, bool]
    as_of: datetime
    recorded_at: datetime
    recorded_by: str
    patrol_id: str | None
    note: str | None


class ManagementOut(BaseModel):
    uscc: str
    revision: int
    current: dict[str, FactStateOut]
    history: list[ManagementRecordOut]


# --- accidents ---------------------------------------------------------------------------------

class AccidentCreate(RequestBody):
    occurred_date: IsoDate
    equipment_id: str | None = Field(None, max_length=36)
    severity: AccidentSeverity = "general"
    enterprise_responsible: bool = True
    description: str | None = Field(None, max_length=4000)


class AccidentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    uscc: str
    occurred_date: date
    equipment_id: str | None
    severity: str
    enterprise_responsible: bool
    description: str | None
    reported_at: datetime
    reported_by: str

    @classmethod
    def of(cls, row: Accident) -> AccidentOut:
        return cls.model_validate(row)


# --- jurisdictions -----------------------------------------------------------------------------

class Inspector(RequestBody):
    """A grid inspector (网格员): the subject of their token and a display name."""

    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)


class InspectorsUpdate(RequestBody):
    inspectors: list[Inspector] = Field(max_length=50)


class Bounds(BaseModel):
    min_lat: float
    max_lat: float
    min_lon: float
    max_lon: float


class JurisdictionOut(BaseModel):
    code: str
    name: str
    level: str
    parent_code: str | None
    bounds: Bounds | None
    inspectors: list[Inspector]
    revision: int
    children: list[str] = []

    @classmethod
    def of(cls, row: Jurisdiction, children: list[str] | None = None) -> JurisdictionOut:
        bounds = None
        if None not in (row.min_lat, row.max_lat, row.min_lon, row.max_lon):
            bounds = Bounds(min_lat=row.min_lat, max_lat=row.max_lat, min_lon=row.min_lon, max_lon=row.max_lon)
        return cls(code=row.code, name=row.name, level=row.level, parent_code=row.parent_code, bounds=bounds,
                   inspectors=[Inspector.model_validate(i) for i in row.inspectors or []], revision=row.revision,
                   children=children or [])


# --- the daily job -----------------------------------------------------------------------------

class DailyJobRequest(RequestBody):
    date: IsoDate | None = Field(None, description="business date (YYYY-MM-DD); default today (Asia/Shanghai)")


class DailyJobOut(BaseModel):
    date: dt.date
    inspections_overdue: list[str]
    certificates_expired: list[str]
    key_supervision_released: list[str]
