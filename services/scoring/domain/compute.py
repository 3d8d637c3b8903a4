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
    """Score the facts as they stand at `as_of` (timezone-aware) with the given model. The grade
    comes from the exact score; the score, lines and groups are rounded to two decimals for
    display only (19.9975 shows as 20.0 and grades A under a 0-20 band: MODEL.md)."""
    situation = Situation.at(facts, as_of, model.patrol_findings.window_days)
    exact_lines: list[tuple[BreakdownLine, float]] = []
    for spec in model.indicators:
        measure = INDICATOR_KINDS[spec.kind].evaluate(situation, spec)
        points, detail = measure.points, measure.detail
        if spec.max_points is not None and points > spec.max_points:
            points, detail = spec.max_points, f"{detail} (counted up to {spec.max_points:g} points)"
        if points > 0:
            exact_lines.append((BreakdownLine(
                indicator=spec.id, group=spec.group, points=round(points, 2), evidence=measure.evidence,
                label_zh=spec.labels.zh, label_en=spec.labels.en, detail=detail,
            ), points))

    groups, exact_total = [], 0.0
    for group in model.groups:
        uncapped = sum(points for line, points in exact_lines if line.group == group.id)
        exact_total += min(uncapped, group.cap)
        groups.append(GroupTotal(
            group=group.id, points=round(min(uncapped, group.cap), 2), cap=group.cap, uncapped=round(uncapped, 2),
            label_zh=group.labels.zh, label_en=group.labels.en,
        ))

    exact = min(max(exact_total, 0.0), 100.0)
    return ScoreResult(
        score=round(exact, 2), raw_grade=model.grade_for(exact), model_version=model.model_version,
        as_of=as_of, breakdown=[line for line, _ in exact_lines], groups=groups,
    )
