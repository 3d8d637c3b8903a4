"""Score computation (风险评分): facts + model + moment → score, raw grade and its breakdown."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, computed_field

from shared.contracts.vocabulary import Grade

from .facts import EnterpriseFacts
from .indicators import INDICATOR_KINDS, Situation
from .model_file import ScoringModel


class Result(BaseModel):
    model_config = ConfigDict(frozen=True)


class BreakdownLine(Result):
    """One indicator that scored: its points and the event ids behind them."""

    indicator: str
    group: str
    points: float
    evidence: list[str]
    label_zh: str
    label_en: str
    detail: str


class GroupTotal(Result):
    """A group's points after its cap; `uncapped` is the sum of its lines before the cap."""

    group: str
    points: float
    cap: float
    uncapped: float
    label_zh: str
    label_en: str

    @computed_field
    @property
    def capped(self) -> bool:
        return self.uncapped > self.points


class ScoreResult(Result):
    """The risk score (0-100, higher is riskier) and the grade its band gives, before §6 rules."""

    score: float
    raw_grade: Grade
    model_version: str
    as_of: datetime
    breakdown: list[BreakdownLine]
    groups: list[GroupTotal]


def compute_score(facts: EnterpriseFacts, model: ScoringModel, as_of: datetime) -> ScoreResult:
    """Score the facts as they stand at `as_of` (timezone-aware) with the given model."""
    situation = Situation.at(facts, as_of, model.patrol_findings.window_days)
    lines: list[BreakdownLine] = []
    for spec in model.indicators:
        measure = INDICATOR_KINDS[spec.kind].evaluate(situation, spec)
        points, detail = measure.points, measure.detail
        if spec.max_points is not None and points > spec.max_points:
            points, detail = spec.max_points, f"{detail} (counted up to {spec.max_points:g} points)"
        points = round(points, 2)
        if points > 0:
            lines.append(BreakdownLine(
                indicator=spec.id, group=spec.group, points=points, evidence=measure.evidence,
                label_zh=spec.labels.zh, label_en=spec.labels.en, detail=detail,
            ))

    groups = []
    for group in model.groups:
        uncapped = round(sum(line.points for line in lines if line.group == group.id), 2)
        groups.append(GroupTotal(
            group=group.id, points=min(uncapped, group.cap), cap=group.cap, uncapped=uncapped,
            label_zh=group.labels.zh, label_en=group.labels.en,
        ))

    score = round(min(max(sum(g.points for g in groups), 0.0), 100.0), 2)
    return ScoreResult(
        score=score, raw_grade=model.grade_for(score), model_version=model.model_version,
        as_of=as_of, breakdown=lines, groups=groups,
    )
