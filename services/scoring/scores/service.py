"""Scores: rescoring (评分) enterprises and reading what it wrote — the current score with its
breakdown, the score and grade histories, lists, statistics and the public grade. Every function
works in the caller's unit of work and only flushes: the request, the consumer runner or a job
commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import RowMapping

from services.scoring.context import ScoringContext
from services.scoring.domain import (
    Scored,
    ScoringModel,
    business_date,
    ceiling_since,
    count_grades,
    evaluate,
    grades_held_on,
    month_ends,
)
from services.scoring.errors import enterprise_not_found, not_found
from services.scoring.events import correlation_of, rescoring_events
from services.scoring.model_versions.service import in_effect
from services.scoring.projection import repository as projection
from services.scoring.scores import repository as repo
from shared.contracts.inspection import FILLING_RECORDS_MISSING
from shared.contracts.scoring import SCORE_UPDATED
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent, ReceivedEvent
from shared.http.pagination import PageParams, make_page
from shared.locality import child_node, jurisdiction_prefix

# --- rescoring ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trigger:
    """What caused a rescoring: a consumed event, or a command of scoring's own (then `ref` names
    it: the model version, the adjustment, the repair, the run)."""

    type: str
    event_id: str | None = None
    ref: str | None = None
    business_date: date | None = None
    # What the events of the rescoring are caused by; None: the unit of work's cause (the
    # request, the event being applied). A batch of events names each event's own.
    cause: Cause | None = field(default=None, compare=False)

    @classmethod
    def from_event(cls, event: ReceivedEvent) -> Trigger:
        day = None
        if event.type == FILLING_RECORDS_MISSING.type and isinstance(event.data.get("business_date"), str):
            day = date.fromisoformat(event.data["business_date"])
        return cls(type=event.type, event_id=event.id, business_date=day, cause=Cause.from_event(event))

    def words(self) -> str:
        what = f"event {self.event_id}" if self.event_id else (self.ref or "")
        return f"{self.type} ({what})" if what else self.type


@dataclass(frozen=True)
class Rescored:
    uscc: str
    score: float
    grade: str
    previous_grade: str | None
    recorded: bool  # written to history and published

    @property
    def grade_changed(self) -> bool:
        return self.recorded and self.grade != self.previous_grade


async def rescore(ctx: ScoringContext, usccs: Sequence[str], trigger: Trigger, *, as_of: datetime | None = None,
                  only_changed: bool = False, model: ScoringModel | None = None,
                  contiguous: bool = False) -> list[Rescored]:
    """Score the enterprises as of now (or `as_of`) with the model in effect and apply the grade rules.

    A rescoring caused by an event or a command is always recorded (current score, history) and
    published (score.updated; grade.changed when the grade moved). With `only_changed` (the full
    passes) an enterprise whose stored score would not change is left alone. `contiguous` says the
    USCCs are every scorable enterprise from the first to the last (a full rescore's chunk).
    """
    as_of = as_of or ctx.now()
    model = model or await in_effect(ctx, business_date(as_of))
    state = await repo.load_enterprise_state(ctx.session, usccs, contiguous=contiguous,
                                             ceiling_since=ceiling_since(model, as_of))
    return await record_scores(ctx, evaluate(state, model, as_of), trigger, as_of, only_changed=only_changed)


async def rescore_each(ctx: ScoringContext, triggers: Mapping[str, Trigger]) -> list[Rescored]:
    """Rescore many enterprises at once, each for its own trigger (a batch of events: one
    enterprise's latest), as ``rescore`` would one by one: one load, one write of each kind."""
    as_of = ctx.now()
    model = await in_effect(ctx, business_date(as_of))
    state = await repo.load_enterprise_state(ctx.session, list(triggers), ceiling_since=ceiling_since(model, as_of))
    return await record_scores(ctx, evaluate(state, model, as_of), triggers, as_of)


async def record_scores(ctx: ScoringContext, scored: Sequence[Scored], trigger: Trigger | Mapping[str, Trigger],
                        as_of: datetime, *, only_changed: bool = False) -> list[Rescored]:
    """Store the scores, append history, move grade periods and stage the events, in bulk;
    `trigger` is every score's, or each enterprise's by USCC."""
    trigger_of = trigger.__getitem__ if isinstance(trigger, Mapping) else lambda _uscc: trigger
    def to_write(s: Scored) -> bool:
        return not (only_changed and s.held_grade is not None and s.unchanged)

    writes = [s for s in scored if to_write(s)]
    outcomes = [Rescored(s.uscc, s.content["score"], s.content["grade"], s.held_grade, recorded=to_write(s))
                for s in scored]
    if not writes:
        return outcomes
    today = business_date(as_of)
    staged: list[OutgoingEvent] = []
    pending = rescoring_events(writes, trigger_of, as_of)
    unit_cause = current_cause.get()
    await ctx.outbox.publish_many(ctx.session, pending, staged=staged,
                                  causes=[trigger_of(subject).cause or unit_cause for _, subject, _ in pending])
    correlation = {e.subject: correlation_of(e) for e in staged if e.type == SCORE_UPDATED.type}

    scores, history, closures, opened = [], [], [], []
    for w in writes:
        c = w.content
        trigger = trigger_of(w.uscc)
        cause = {"trigger_event_type": trigger.type, "trigger_event_id": trigger.event_id,
                 "trigger_ref": trigger.ref}
        grade_since = today if w.grade_changed else w.held_grade_since
        scores.append({**c, "uscc": w.uscc, "computed_at": as_of, "fingerprint": w.fingerprint,
                       "grade_since": grade_since, **cause, "correlation_id": correlation[w.uscc]})
        history.append({"uscc": w.uscc, "computed_at": as_of, "score": c["score"], "grade": c["grade"],
                        "raw_grade": c["raw_grade"], "previous_grade": w.held_grade,
                        "model_version": c["model_version"], "explanation": c["explanation"], **cause,
                        "correlation_id": correlation[w.uscc]})
        if w.grade_changed:
            if w.held_grade is not None:
                closures.append((w.uscc, today))
            opened.append({"uscc": w.uscc, "grade": c["grade"], "previous_grade": w.held_grade,
                           "from_date": today, "to_date": None, "started_at": as_of, "score": c["score"],
                           "model_version": c["model_version"], "cause_event_type": trigger.type,
                           "cause_event_id": trigger.event_id, "cause_ref": trigger.ref,
                           "correlation_id": correlation[w.uscc]})
    session = ctx.session
    await repo.save_scores(session, scores)
    await repo.append_history(session, history)
    await repo.close_grade_periods(session, closures)
    await repo.open_grade_periods(session, opened)
    return outcomes


# --- reading scores -------------------------------------------------------------------------

def _cause(row: RowMapping, prefix: str) -> dict[str, Any]:
    return {"event_type": row[f"{prefix}_event_type"], "event_id": row[f"{prefix}_event_id"],
            "ref": row[f"{prefix}_ref"], "correlation_id": row["correlation_id"]}


async def describe_score(ctx: ScoringContext, profile: RowMapping) -> dict[str, Any]:
    """The current score with labels from its model version, the rules applied and the cause."""
    session = ctx.session
    row = await repo.get_current_score(session, profile["uscc"])
    if row is None:
        raise not_found("score of enterprise", profile["uscc"])
    model = await ctx.models.version(session, row["model_version"])
    indicators = {i.id: i for i in model.indicators} if model else {}
    groups = {g.id: g for g in model.groups} if model else {}
    manual = await repo.active_adjustment(session, profile["uscc"])
    grade_label = model.grade_label(row["grade"]) if model else None
    explanation = row["explanation"]

    def labels(spec: Any) -> dict[str, str]:
        return {"label_zh": spec.labels.zh, "label_en": spec.labels.en} if spec else {"label_zh": "", "label_en": ""}

    return {
        "uscc": row["uscc"], "name": profile["name"], "jurisdiction_code": row["jurisdiction_code"],
        "score": row["score"], "grade": row["grade"], "raw_grade": row["raw_grade"],
        "grade_label": grade_label.model_dump() if grade_label else {"zh": "", "en": ""},
        "grade_since": row["grade_since"], "model_version": row["model_version"],
        "model_labels": model.labels.model_dump() if model and model.labels else None,
        "breakdown": [{**line, **labels(indicators.get(line["indicator"]))} for line in explanation["breakdown"]],
        "groups": [{**g, "cap": groups[g["group"]].cap if g["group"] in groups else 0,
                    **labels(groups.get(g["group"]))} for g in explanation["groups"]],
        "rules_applied": explanation["rules"],
        "locked_until": row["locked_until"], "ceiling_until": row["ceiling_until"],
        "manual_adjustment": dict(manual) if manual is not None else None,
        "key_supervision": row["key_supervision"], "computed_at": row["computed_at"],
        "cause": _cause(row, "trigger"),
    }


async def grade_history(ctx: ScoringContext, uscc: str, params: PageParams, before_id: int | None) -> dict[str, Any]:
    rows = await repo.grade_history(ctx.session, uscc, before_id, params.limit)
    return make_page(rows, params, key_of=lambda r: [r["id"]], to_item=lambda r: {
        **{k: r[k] for k in ("grade", "previous_grade", "from_date", "to_date", "started_at", "score",
                             "model_version")},
        "cause": _cause(r, "cause")})


async def score_history(ctx: ScoringContext, uscc: str, params: PageParams, before_id: int | None) -> dict[str, Any]:
    rows = await repo.score_history(ctx.session, uscc, before_id, params.limit)
    return make_page(rows, params, key_of=lambda r: [r["id"]], to_item=lambda r: {
        **{k: r[k] for k in ("id", "computed_at", "score", "grade", "raw_grade", "previous_grade",
                             "model_version")},
        "breakdown": r["explanation"]["breakdown"], "groups": r["explanation"]["groups"],
        "rules_applied": r["explanation"]["rules"], "cause": _cause(r, "trigger")})


async def list_scores(ctx: ScoringContext, node: str | None, params: PageParams, after_uscc: str | None, *,
                      grade: str | None, key_supervision: bool | None) -> dict[str, Any]:
    rows = await repo.list_scores(ctx.session, prefix=jurisdiction_prefix(node) if node else None, grade=grade,
                                  key_supervision=key_supervision, after_uscc=after_uscc, limit=params.limit)
    return make_page(rows, params, key_of=lambda r: [r["uscc"]], to_item=dict)


async def public_grade(ctx: ScoringContext, uscc: str) -> dict[str, Any]:
    """The grade as the public may see it, per the policy of the model in effect."""
    profile = await projection.get_profile(ctx.session, uscc)
    row = await repo.get_current_score(ctx.session, uscc)
    if profile is None or row is None:
        raise enterprise_not_found(uscc)
    model = await in_effect(ctx)
    display = model.policy.public_grade_display
    label = model.grade_label(row["grade"])
    return {
        "uscc": uscc, "name": profile["name"], "display": display,
        "grade": row["grade"] if display == "grade" else None,
        "label_zh": label.zh if display != "hidden" else None,
        "label_en": label.en if display != "hidden" else None,
        "grade_date": row["grade_since"] if display != "hidden" else None,
    }


# --- statistics -----------------------------------------------------------------------------

async def grade_distribution(ctx: ScoringContext, node: str | None) -> dict[str, Any]:
    rows = await repo.grade_counts(ctx.session, jurisdiction_prefix(node) if node else None)
    by_child: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        by_child.setdefault(child_node(node, r["jurisdiction_code"]), []).append((r["grade"], r["n"]))
    return {
        "jurisdiction": node,
        "total": count_grades([(r["grade"], r["n"]) for r in rows]),
        "nodes": [{"jurisdiction_code": code, "counts": count_grades(pairs)}
                  for code, pairs in sorted(by_child.items())],
    }


async def grade_trend(ctx: ScoringContext, node: str | None, months: int) -> dict[str, Any]:
    points = month_ends(ctx.today(), months)
    periods = await repo.periods_overlapping(ctx.session, jurisdiction_prefix(node) if node else None,
                                             points[0][1] - timedelta(days=31))
    return {"jurisdiction": node, "over": "month",
            "points": [{"month": m, "on_date": d, "counts": grades_held_on(periods, d)} for m, d in points]}
