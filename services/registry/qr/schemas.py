"""API shapes of QR codes and of what a scan shows the public."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel


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
