"""API shapes of an enterprise's equipment ledger: equipment and inspections, gas cylinders,
operators. Request bodies forbid unknown fields (see ``shared.http.bodies.RequestBody``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.registry.models import Equipment, EquipmentInspection, GasCylinder, Operator
from shared.contracts.registry import EquipmentStatus
from shared.contracts.vocabulary import CATEGORIES, CylinderStatus, InspectionResult
from shared.http.bodies import IsoDate, RequestBody, omit_or


class SafetyAccessory(RequestBody):
    """A safety accessory or protective device (安全附件), e.g. a safety valve, with its own due date."""

    name: str = Field(min_length=1, max_length=100)
    next_inspection_due: IsoDate | None = None


class EquipmentCreate(RequestBody):
    category: str = Field(max_length=4, description="catalogue code, e.g. 2300 gas cylinder, 3000 elevator")
    registration_no: str | None = Field(None, min_length=1, max_length=64,
                                        description="use-registration certificate number; null = unregistered")
    equipment_code: str | None = Field(None, min_length=1, max_length=64,
                                       description="设备代码 or the unit's own number")
    name: str | None = Field(None, max_length=200)
    place: str | None = Field(None, max_length=200)
    status: EquipmentStatus = "in_use"
    next_inspection_due: IsoDate | None = None
    last_inspection_date: IsoDate | None = None
    last_maintenance_date: IsoDate | None = None
    safety_accessories: list[SafetyAccessory] = Field(default_factory=list, max_length=50)


class EquipmentPatch(RequestBody):
    registration_no: str | None = Field(None, min_length=1, max_length=64)
    equipment_code: str | None = Field(None, min_length=1, max_length=64)
    name: str | None = Field(None, max_length=200)
    place: str | None = Field(None, max_length=200)
    status: EquipmentStatus | None = omit_or()
    next_inspection_due: IsoDate | None = None
    last_maintenance_date: IsoDate | None = None
    safety_accessories: list[SafetyAccessory] | None = omit_or(max_length=50)

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


class InspectionCreate(RequestBody):
    inspected_date: IsoDate
    result: InspectionResult
    next_due_date: IsoDate | None = Field(None, description="required unless the unit failed")
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


class CylinderIn(RequestBody):
    cylinder_no: str = Field(min_length=1, max_length=64)
    medium: str | None = Field(None, max_length=50)
    equipment_id: str | None = Field(None, max_length=36)
    manufactured_date: IsoDate | None = None
    next_inspection_date: IsoDate | None = None
    scrap_date: IsoDate | None = None
    status: CylinderStatus = "in_use"


class CylinderBatch(RequestBody):
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


class OperatorCreate(RequestBody):
    name: str = Field(min_length=1, max_length=100)
    id_number: str | None = Field(None, max_length=30, description="write-only; stored as a keyed hash")
    certificate_no: str | None = Field(None, min_length=1, max_length=64)
    certificate_category: str | None = Field(None, max_length=10, description="TSG Z6001 code, e.g. P, R2, Q2")
    certificate_issued_date: IsoDate | None = None
    certificate_valid_until: IsoDate | None = None
    active: bool = True


class OperatorPatch(RequestBody):
    name: str | None = omit_or(min_length=1, max_length=100)
    id_number: str | None = Field(None, max_length=30)
    certificate_no: str | None = Field(None, min_length=1, max_length=64)
    certificate_category: str | None = Field(None, max_length=10)
    certificate_issued_date: IsoDate | None = None
    certificate_valid_until: IsoDate | None = None
    active: bool | None = omit_or()

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
