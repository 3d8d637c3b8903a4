"""API shapes of the registry (pydantic), separate from the tables. Request bodies forbid
unknown fields, so that a misspelt field is a 422 rather than a silent no-op."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from services.registry.domain import kinds_from_tags
from services.registry.models import (
    Accident,
    Enterprise,
    Equipment,
    EquipmentInspection,
    GasCylinder,
    ImportRun,
    Jurisdiction,
    Operator,
)
from shared.contracts.common import Grade
from shared.contracts.registry import EquipmentStatus, KeySupervisionCause, VenueType
from shared.contracts.vocabulary import (
    CATEGORIES,
    AccidentSeverity,
    CylinderStatus,
    InspectionResult,
    Kind,
    OperatingStatus,
)

Text200 = Field(min_length=1, max_length=200)


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Contact(BaseModel):
    """A contact person (never shown in public)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    role: str | None = Field(None, max_length=100, description="e.g. principal, safety director (安全总监)")
    phone: str | None = Field(None, max_length=30)


class ManagementFacts(Request):
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

class EnterpriseCreate(Request):
    uscc: str = Field(max_length=40, description="18-character unified social credit code")
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


class EnterprisePatch(Request):
    """Only the fields sent change. Enterprise users may change contacts and operating_status."""

    name: str | None = Field(None, min_length=1, max_length=200)
    jurisdiction_code: str | None = Field(None, max_length=12)
    grid_code: str | None = Field(None, max_length=12)
    address: str | None = Field(None, max_length=500)
    location: Location | None = None
    venue_type: VenueType | None = None
    kinds: list[Kind] | None = None
    general_credit_grade: Grade | None = None
    contacts: list[Contact] | None = Field(None, max_length=20)
    associations: list[str] | None = Field(None, max_length=20)
    sandbox: bool | None = None
    operating_status: OperatingStatus | None = None

    @field_validator("name", "jurisdiction_code", "venue_type", "kinds", "contacts", "associations", "sandbox",
                     "operating_status")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


ENTERPRISE_SELF_SERVICE_FIELDS = frozenset({"contacts", "operating_status"})


class ManagementObservation(Request):
    """Facts seen on a patrol (巡查); the latest report wins, whatever its source."""

    facts: ManagementFacts
    observed_at: AwareDatetime | None = None
    patrol_id: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=500)


class KeySupervisionDesignation(Request):
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


# --- equipment, cylinders, inspections --------------------------------------------------------

class SafetyAccessory(BaseModel):
    """A safety accessory or protective device (安全附件), e.g. a safety valve, with its own due date."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100)
    next_inspection_due: date | None = None


class EquipmentCreate(Request):
    category: str = Field(max_length=4, description="catalogue code, e.g. 2300 gas cylinder, 3000 elevator")
    registration_no: str | None = Field(None, min_length=1, max_length=64,
                                        description="use-registration certificate number; null = unregistered")
    equipment_code: str | None = Field(None, min_length=1, max_length=64,
                                       description="设备代码 or the unit's own number")
    name: str | None = Field(None, max_length=200)
    place: str | None = Field(None, max_length=200)
    status: EquipmentStatus = "in_use"
    next_inspection_due: date | None = None
    last_inspection_date: date | None = None
    last_maintenance_date: date | None = None
    safety_accessories: list[SafetyAccessory] = Field(default_factory=list, max_length=50)


class EquipmentPatch(Request):
    registration_no: str | None = Field(None, min_length=1, max_length=64)
    equipment_code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, max_length=200)
    place: str | None = Field(None, max_length=200)
    status: EquipmentStatus | None = None
    next_inspection_due: date | None = None
    last_maintenance_date: date | None = None
    safety_accessories: list[SafetyAccessory] | None = Field(None, max_length=50)

    @field_validator("status", "safety_accessories")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class EquipmentOut(BaseModel):
    id: str
    uscc: str
    revision: int
    category: str
    category_name: str
    registration_no: str | None
    registered: bool
    equipment_code: str | None
    name: str | None
    place: str | None
    status: str
    next_inspection_due: date | None
    last_inspection_date: date | None
    last_inspection_result: str | None
    last_maintenance_date: date | None
    safety_accessories: list[SafetyAccessory]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Equipment) -> EquipmentOut:
        return cls(
            id=row.id, uscc=row.uscc, revision=row.revision, category=row.category,
            category_name=CATEGORIES.get(row.category, ("", ""))[0], registration_no=row.registration_no,
            registered=row.registration_no is not None, equipment_code=row.equipment_code, name=row.name,
            place=row.place, status=row.status, next_inspection_due=row.next_inspection_due,
            last_inspection_date=row.last_inspection_date, last_inspection_result=row.last_inspection_result,
            last_maintenance_date=row.last_maintenance_date,
            safety_accessories=[SafetyAccessory.model_validate(a) for a in row.safety_accessories or []],
            created_at=row.created_at, updated_at=row.updated_at,
        )


class EquipmentPage(BaseModel):
    items: list[EquipmentOut]
    next_cursor: str | None = None


class InspectionCreate(Request):
    inspected_date: date
    result: InspectionResult
    next_due_date: date | None = Field(None, description="required unless the unit failed")
    agency: str | None = Field(None, max_length=200)
    report_no: str | None = Field(None, max_length=100)


class InspectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    equipment_id: str
    inspected_date: date
    result: str
    next_due_date: date | None
    agency: str | None
    report_no: str | None
    recorded_at: datetime
    recorded_by: str

    @classmethod
    def of(cls, row: EquipmentInspection) -> InspectionOut:
        return cls.model_validate(row)


class CylinderIn(Request):
    cylinder_no: str = Field(min_length=1, max_length=64)
    medium: str | None = Field(None, max_length=50)
    equipment_id: str | None = Field(None, max_length=36)
    manufactured_date: date | None = None
    next_inspection_date: date | None = None
    scrap_date: date | None = None
    status: CylinderStatus = "in_use"


class CylinderBatch(Request):
    cylinders: list[CylinderIn] = Field(min_length=1, max_length=5000)


class CylinderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    uscc: str
    cylinder_no: str
    revision: int
    medium: str | None
    equipment_id: str | None
    manufactured_date: date | None
    next_inspection_date: date | None
    scrap_date: date | None
    status: str

    @classmethod
    def of(cls, row: GasCylinder) -> CylinderOut:
        return cls.model_validate(row)


class CylinderPage(BaseModel):
    items: list[CylinderOut]
    next_cursor: str | None = None


class UpsertCounts(BaseModel):
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0


# --- operators, accidents ----------------------------------------------------------------------

class OperatorCreate(Request):
    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(None, max_length=30, description="write-only; stored as a keyed hash")
    certificate_no: str | None = Field(None, min_length=1, max_length=64)
    certificate_category: str | None = Field(None, max_length=10, description="TSG Z6001 code, e.g. P, R2, Q2")
    certificate_issued_date: date | None = None
    certificate_valid_until: date | None = None
    active: bool = True


class OperatorPatch(Request):
    name: str | None = Field(None, min_length=1, max_length=100)
    id_number: str | None = Field(None, max_length=30)
    certificate_no: str | None = Field(None, min_length=1, max_length=64)
    certificate_category: str | None = Field(None, max_length=10)
    certificate_issued_date: date | None = None
    certificate_valid_until: date | None = None
    active: bool | None = None

    @field_validator("name", "active")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class OperatorOut(BaseModel):
    id: str
    uscc: str
    revision: int
    name: str
    has_id_number: bool
    certificate_no: str | None
    certificate_category: str | None
    certificate_issued_date: date | None
    certificate_valid_until: date | None
    active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: Operator) -> OperatorOut:
        return cls(
            id=row.id, uscc=row.uscc, revision=row.revision, name=row.name,
            has_id_number=row.id_number_hash is not None,
            certificate_no=row.certificate_no, certificate_category=row.certificate_category,
            certificate_issued_date=row.certificate_issued_date, certificate_valid_until=row.certificate_valid_until,
            active=row.active, created_at=row.created_at, updated_at=row.updated_at,
        )


class OperatorPage(BaseModel):
    items: list[OperatorOut]
    next_cursor: str | None = None


class AccidentCreate(Request):
    occurred_date: date
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

class Inspector(BaseModel):
    """A grid inspector (网格员): the subject of their token and a display name."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    id: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)


class InspectorsUpdate(Request):
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


# --- QR codes ----------------------------------------------------------------------------------

class QrOut(BaseModel):
    token: str
    url: str
    kind: Literal["enterprise", "equipment"]
    issued_at: datetime


class PublicEquipmentInfo(BaseModel):
    category: str
    category_name: str
    registration_no: str | None
    status: str
    next_inspection_due: date | None
    inspection_valid: bool
    last_maintenance_date: date | None = None


class PublicCategorySummary(BaseModel):
    category: str
    category_name: str
    count: int
    inspection_valid: int


class PublicQrInfo(BaseModel):
    """What anyone who scans a code may see: never contacts or personal data."""

    kind: Literal["enterprise", "equipment"]
    uscc: str
    name: str
    jurisdiction_code: str
    key_supervision: bool
    equipment: PublicEquipmentInfo | None = None
    equipment_by_category: list[PublicCategorySummary] = []
    emergency_phone: str | None = None


# --- jobs and imports ----------------------------------------------------------------------------

class DailyJobRequest(Request):
    date: dt.date | None = Field(None, description="business date; default today (Asia/Shanghai)")


class DailyJobOut(BaseModel):
    date: dt.date
    inspections_overdue: list[str]
    certificates_expired: list[str]
    key_supervision_released: list[str]


class RowErrorOut(BaseModel):
    sheet: str
    row: int
    field: str
    message: str


class ImportOut(BaseModel):
    id: str
    status: str
    filename: str | None
    kinds: list[str]
    counts: dict[str, int] = Field(description="rows, inserted, updated, unchanged, rejected, events")
    counts_by_kind: dict[str, dict[str, int]] = {}
    errors: list[RowErrorOut] = Field([], description="the first 100 row errors; the report has them all")
    report_url: str
    created_by: str
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, row: ImportRun, errors: list[RowErrorOut] | None = None) -> ImportOut:
        counts = row.counts or {}
        return cls(id=row.id, status=row.status, filename=row.filename, kinds=row.kinds or [],
                   counts=counts.get("totals", {}), counts_by_kind=counts.get("by_kind", {}), errors=errors or [],
                   report_url=f"/api/v1/imports/{row.id}/report", created_by=row.created_by,
                   created_at=row.created_at, finished_at=row.finished_at)

