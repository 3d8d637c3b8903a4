"""API shapes of the dashboards."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class GradeCounts(BaseModel):
    A: int
    B: int
    C: int
    D: int
    ungraded: int
    total: int


class NodeCounts(BaseModel):
    jurisdiction_code: str
    counts: GradeCounts


class GradeDistribution(BaseModel):
    jurisdiction: str | None
    total: GradeCounts
    nodes: list[NodeCounts] = Field(description="per child jurisdiction of the one asked for")


class TrendPoint(BaseModel):
    month: str
    on_date: date
    counts: GradeCounts


class GradeTrend(BaseModel):
    jurisdiction: str | None
    points: list[TrendPoint]


class AlertCount(BaseModel):
    kind: str
    status: str
    count: int


class AlertSummary(BaseModel):
    jurisdiction: str | None
    items: list[AlertCount]


class CompletionNode(BaseModel):
    jurisdiction_code: str
    due: int
    completed: int
    rate: float | None


class Completion(BaseModel):
    jurisdiction: str | None
    from_date: date
    to_date: date
    due: int
    completed: int
    rate: float | None
    nodes: list[CompletionNode]
