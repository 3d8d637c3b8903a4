"""Field types every contract shares."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Uscc = Annotated[str, Field(min_length=18, max_length=18, description="unified social credit code (GB 32100-2015)")]
Grade = Literal["A", "B", "C", "D"]
ManagementKey = Literal[
    "safety_organization",
    "responsible_persons",
    "management_system",
    "emergency_plan",
    "emergency_drills",
    "training",
    "risk_control_mechanism",
    "hazard_investigation_mechanism",
]
MANAGEMENT_KEYS: tuple[str, ...] = ManagementKey.__args__  # type: ignore[attr-defined]


class EventData(BaseModel):
    """Base of every event's data: readers ignore fields they do not know (forward compatible)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
