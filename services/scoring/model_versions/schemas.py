"""API shapes of model versions (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from services.scoring.scores.schemas import Labels, Output, RescoreSummary


class ModelSummary(Output):
    version: str
    effective_from: date
    labels: Labels | None
    in_effect: bool
    loaded_at: datetime
    loaded_by: str
    rescored_at: datetime | None
    rescored_enterprises: int | None


class ModelDetail(ModelSummary):
    document: dict[str, Any]
    source_text: str


class ModelLoaded(ModelSummary):
    rescore: RescoreSummary | None = Field(description="the rescore of everyone, when the model is in effect now")
