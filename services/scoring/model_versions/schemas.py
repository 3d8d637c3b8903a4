"""API shapes of model versions (pydantic)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import Field

from services.scoring.domain import ScoringModel
from services.scoring.domain.indicators import INDICATOR_KINDS
from services.scoring.scores.schemas import Labels, Output, RescoreSummary


def model_file_schema() -> dict[str, Any]:
    """The model file's shape as JSON Schema, self-contained (``$defs`` inlined: the document's
    ``#/...`` references are the OpenAPI document's). It says what each field holds; what makes a
    model valid beyond that (ids under their group, contiguous bands, a window for windowed kinds,
    each kind's params) is checked on load and answered 422 naming the field."""
    schema = ScoringModel.model_json_schema()
    definitions = schema.pop("$defs", {})
    definitions["IndicatorSpec"]["properties"]["kind"]["enum"] = list(INDICATOR_KINDS)

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline({**definitions[node["$ref"].rpartition("/")[2]],
                               **{k: v for k, v in node.items() if k != "$ref"}})
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


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
