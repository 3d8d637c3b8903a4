"""API shapes of what a scanned code shows the public: never contacts or personal data."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, Field


class GradeOut(BaseModel):
    display: Literal["grade", "label", "hidden"] = Field(description="the public_grade_display policy in force")
    grade: str | None = Field(description="A-D, when the policy shows the letter and the unit is graded")
    label: str = Field(description="the grade in plain words, e.g. 低风险")
    meaning: str = Field(description="what the grade means for the public, in a sentence")
    grade_date: date | None = Field(description="since when the grade holds (Asia/Shanghai business date)")


class CategoryOut(BaseModel):
    category: str
    category_name: str
    count: int
    inspection_valid: int = Field(description="how many of them are within their periodic inspection's validity")


class EquipmentOut(BaseModel):
    category: str
    category_name: str
    registration_no: str | None
    status: str
    next_inspection_due: date | None
    inspection_valid: bool
    last_maintenance_date: date | None = None


class RatingSummary(BaseModel):
    average: float | None = Field(description="mean of the shown ratings, one decimal; null when none")
    count: int


class CommentOut(BaseModel):
    stars: int
    comment: str
    submitted_date: date


class PublicView(BaseModel):
    """A scanned code: the unit (and, for 风险防控码, the piece of equipment)."""

    kind: Literal["enterprise", "equipment"]
    name: str
    key_supervision: bool
    grade: GradeOut
    equipment_by_category: list[CategoryOut] = []
    equipment: EquipmentOut | None = None
    emergency_phone: str | None = Field(None, description="96333 (电梯应急处置) for lifts")
    rating: RatingSummary
    comments: list[CommentOut] = Field([], description="the latest approved comments")
