"""The pure step of a rescoring: an enterprise's rows → its facts → the score (``compute_score``)
→ the grade rules → what is stored. No I/O, so a full rescore can run it in a worker process
while the main process reads and writes the database.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.locality import business_date

from .compute import ScoreResult, compute_score
from .grade_rules import GradeDecision, GradePeriod, ManualAdjustment, decide_grade
from .model_file import ScoringModel
from .projection import EnterpriseRows, facts_from_rows


class SerializedJSON(str):
    """JSON text serialized once and stored as it is (see models.JSONText)."""


def dump_json(value: Any) -> SerializedJSON:
    return SerializedJSON(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str))


@dataclass(frozen=True)
class Scored:
    """One enterprise scored: the content to store, and what was held when its rows were read."""

    uscc: str
    content: dict[str, Any]  # score, grade, raw_grade, model_version, explanation, locks, jurisdiction
    fingerprint: str
    kinds: list[str]
    held_grade: str | None  # None: never scored before
    held_grade_since: date | None
    held_fingerprint: str | None
    held_revision: int | None  # the current score's write count when the rows were read

    @property
    def unchanged(self) -> bool:
        return self.held_fingerprint == self.fingerprint

    @property
    def grade_changed(self) -> bool:
        return self.held_grade != self.content["grade"]


def evaluate(state: dict[str, EnterpriseRows], model: ScoringModel, as_of: datetime) -> list[Scored]:
    """Score each enterprise as of `as_of` and apply the grade rules to its raw grade."""
    scored = []
    for uscc, rows in state.items():
        facts = facts_from_rows(rows)
        result = compute_score(facts, model, as_of)
        periods = [GradePeriod.model_validate(p) for p in rows.periods]
        adjustment = max(rows.adjustments, key=lambda a: a["set_at"], default=None)
        manual = None if adjustment is None else ManualAdjustment(
            grade=adjustment["grade"], reason=adjustment["reason"], expires_on=adjustment["expires_on"],
            set_by=adjustment["set_by"])
        decision = decide_grade(result.raw_grade, facts, periods, manual, as_of, model.policy)
        content = score_content(result, decision, rows.profile)
        held = rows.score[0] if rows.score else None
        scored.append(Scored(
            uscc=uscc, content=content, fingerprint=fingerprint(content), kinds=list(rows.profile["kinds"] or []),
            held_grade=held["grade"] if held else None, held_grade_since=as_date(held["grade_since"]) if held else None,
            held_fingerprint=held["fingerprint"] if held else None,
            held_revision=held["revision"] if held else None))
    return scored


def as_date(value: date | str) -> date:
    """A date read raw (ISO text on SQLite)."""
    return value if isinstance(value, date) else date.fromisoformat(value)


def score_content(result: ScoreResult, decision: GradeDecision, profile: Any) -> dict[str, Any]:
    """What is stored of a score; labels are not (they live in the model version). The explanation
    is serialized here, once, for the current score, its history row and the fingerprint."""
    return {
        "score": result.score, "grade": decision.grade, "raw_grade": result.raw_grade,
        "model_version": result.model_version,
        "explanation": dump_json({
            "breakdown": [{"indicator": line.indicator, "group": line.group, "points": line.points,
                           "evidence": line.evidence, "detail": line.detail} for line in result.breakdown],
            "groups": [{"group": g.group, "points": g.points, "uncapped": g.uncapped} for g in result.groups],
            "rules": [{"rule": r.rule, "detail": r.detail} for r in decision.reasons]}),
        "locked_until": decision.locked_until, "ceiling_until": decision.ceiling_until,
        "jurisdiction_code": profile["jurisdiction_code"], "key_supervision": profile["key_supervision"],
    }


def fingerprint(content: dict[str, Any]) -> str:
    key = "|".join(str(content[k]) for k in (
        "score", "grade", "raw_grade", "model_version", "locked_until", "ceiling_until", "jurisdiction_code",
        "key_supervision", "explanation"))
    return hashlib.sha1(key.encode()).hexdigest()


def ceiling_since(model: ScoringModel, as_of: datetime) -> date:
    """The earliest grade period end the one-year ceiling can still see."""
    return business_date(as_of) - timedelta(days=model.policy.ceiling_window_days)
