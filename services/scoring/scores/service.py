"""Use cases of the scoring service: keep the projection, rescore, and the grade-rule commands
(manual adjustment 人工调整, credit repair 信用修复, model loading). Every function works in the
caller's transaction and only flushes: the request dependency, the consumer runner or a job commits.
"""

from __future__ import annotations

import hashlib
import re
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import yaml
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from services.scoring import repository as repo
from services.scoring.config import Settings
from services.scoring.domain import (
    DEFAULT_MODEL_PATH,
    EnterpriseFacts,
    ModelValidationError,
    ScoringModel,
    business_date,
    check_repair_eligibility,
    default_model,
    parse_model,
)
from services.scoring.errors import (
    conflict,
    enterprise_not_found,
    field_error,
    forbidden,
    model_invalid,
    not_eligible,
    not_found,
)
from services.scoring.evaluation import Scored, score_enterprises
from services.scoring.events import (
    CREDIT_REPAIR_APPROVED,
    GRADE_CHANGED,
    SCORE_UPDATED,
    CreditRepairApproved,
    GradeChanged,
    Pending,
    ScoreUpdated,
    stage,
)
from services.scoring.projection import aware, facts_from_rows, is_newer, profile_values
from shared.auth import Principal
from shared.contracts.enforcement import CaseOpened, PatrolCompleted, PenaltyDecided
from shared.contracts.inspection import (
    FILLING_RECORDS_MISSING,
    FillingRecordsMissing,
    HazardRaised,
    HazardRectified,
    SelfInspectionTaskClosed,
)
from shared.contracts.registry import AccidentReported, EnterpriseSnapshot, EquipmentSnapshot, OperatorSnapshot
from shared.contracts.vocabulary import CHECKLIST_ITEMS
from shared.events.context import Cause, current_cause
from shared.events.envelope import OutgoingEvent, ReceivedEvent
from shared.events.outbox import Outbox
from shared.locality import jurisdiction_prefix

Clock = Callable[[], datetime]
SYSTEM_ACTOR = "system"
CATALOGUE_CODE = re.compile(r"\d{4}")


def system_now() -> datetime:
    return datetime.now(UTC)


# --- the models in effect -------------------------------------------------------------------

class ModelCache:
    """Parsed model versions by version, and the list of versions for a few seconds.

    A stored version never changes, so its parse is kept for good. Which version is in effect is
    decided from the list on every call; the list itself is re-read after `VERSIONS_TTL_S` (another
    replica may have loaded a version) or at once when this process stores one."""

    VERSIONS_TTL_S = 5.0

    def __init__(self) -> None:
        self._parsed: dict[str, ScoringModel] = {}
        self._versions: list[RowMapping] = []
        self._versions_read_at = float("-inf")

    def forget_versions(self) -> None:
        self._versions_read_at = float("-inf")

    async def version(self, session: AsyncSession, version: str) -> ScoringModel | None:
        if version not in self._parsed:
            row = await repo.get_model(session, version)
            if row is None:
                return None
            self._parsed[version] = parse_model(row["document"])
        return self._parsed[version]

    async def in_effect(self, session: AsyncSession, on: date) -> ScoringModel:
        """The version with the latest effective_from on or before `on` (the latest loaded on a tie);
        before any version's date, the earliest one. The default model is stored on first use."""
        if time.monotonic() - self._versions_read_at > self.VERSIONS_TTL_S:
            versions = await repo.model_versions(session)
            if not versions:
                await store_default_model(session)
                versions = await repo.model_versions(session)
            self._versions, self._versions_read_at = versions, time.monotonic()
        chosen = next((v for v in self._versions if v["effective_from"] <= on), self._versions[-1])
        model = await self.version(session, chosen["version"])
        assert model is not None
        return model


@dataclass
class ScoringContext:
    """What the scoring use cases share: the outbox, the model cache, settings and the clock.
    Tests replace `now` to move time instead of sleeping."""

    settings: Settings
    outbox: Outbox
    models: ModelCache = field(default_factory=ModelCache)
    now: Clock = system_now

    def today(self) -> date:
        return business_date(self.now())


async def store_default_model(session: AsyncSession) -> None:
    model = default_model()
    await repo.insert_model(session, _model_values(model, DEFAULT_MODEL_PATH.read_text(encoding="utf-8"),
                                                   SYSTEM_ACTOR), if_absent=True)


def _model_values(model: ScoringModel, source_text: str, loaded_by: str) -> dict[str, Any]:
    return {"version": model.model_version, "effective_from": model.effective_from,
            "document": model.model_dump(mode="json"), "source_text": source_text,
            "loaded_at": system_now(), "loaded_by": loaded_by}


# --- the projection: applying events --------------------------------------------------------

async def record_enterprise_snapshot(session: AsyncSession, snapshot: EnterpriseSnapshot, event_id: str) -> str | None:
    """Apply a registry snapshot if it is newer than the one held; the USCC to rescore, or None."""
    held = await repo.lock_enterprise(session, snapshot.uscc)
    if not is_newer(snapshot.revision, held["revision"]):
        return None
    await repo.save_profile(session, profile_values(snapshot, event_id, held))
    return snapshot.uscc


async def record_equipment(session: AsyncSession, snapshot: EquipmentSnapshot, event_id: str) -> str | None:
    """Apply an equipment snapshot if it is newer than the one held; the USCC to rescore, or None."""
    if not CATALOGUE_CODE.fullmatch(snapshot.category):
        # Refused here (the event goes to the DLQ) rather than stored: a fact the domain cannot
        # read would make every later rescoring of the enterprise fail.
        raise ValueError(f"equipment category {snapshot.category!r} is not a 4-digit catalogue code")
    await repo.lock_enterprise(session, snapshot.uscc)
    applied = await repo.save_equipment(session, {
        "uscc": snapshot.uscc, "equipment_id": snapshot.equipment_id, "revision": snapshot.revision,
        "category": snapshot.category, "registered": snapshot.registration_no is not None,
        "status": snapshot.status, "next_inspection_due": snapshot.next_inspection_due, "event_id": event_id})
    return snapshot.uscc if applied else None


async def record_operator(session: AsyncSession, snapshot: OperatorSnapshot, event_id: str) -> str | None:
    await repo.lock_enterprise(session, snapshot.uscc)
    applied = await repo.save_operator(session, {
        "uscc": snapshot.uscc, "operator_id": snapshot.operator_id, "revision": snapshot.revision,
        "certificate_valid_until": snapshot.certificate_valid_until, "active": snapshot.active,
        "event_id": event_id})
    return snapshot.uscc if applied else None


async def record_deadline_passed(session: AsyncSession, uscc: str) -> str:
    """Inspection overdue, certificate expired: time already tells; the event only rescores now
    rather than at the nightly pass, and names itself as the cause."""
    await repo.lock_enterprise(session, uscc)
    return uscc


async def record_accident(session: AsyncSession, accident: AccidentReported, event_id: str) -> str:
    await repo.lock_enterprise(session, accident.uscc)
    await repo.save_accident(session, {
        "uscc": accident.uscc, "accident_id": accident.accident_id, "occurred_date": accident.occurred_date,
        "responsible": accident.enterprise_responsible, "severity": accident.severity, "event_id": event_id})
    return accident.uscc


async def record_missing_records(session: AsyncSession, missing: FillingRecordsMissing, event_id: str) -> str:
    await repo.lock_enterprise(session, missing.enterprise_uscc)
    await repo.save_missing_day(session, {
        "uscc": missing.enterprise_uscc, "event_id": event_id, "business_date": missing.business_date,
        "cutoff_at": aware(missing.cutoff_at)})
    return missing.enterprise_uscc


async def record_task_closed(session: AsyncSession, task: SelfInspectionTaskClosed, event_id: str) -> str:
    await repo.lock_enterprise(session, task.enterprise_uscc)
    await repo.save_task(session, {
        "uscc": task.enterprise_uscc, "task_id": task.task_id, "due_date": task.due_date,
        "completed": task.completed, "closed_at": aware(task.closed_at), "event_id": event_id})
    return task.enterprise_uscc


async def record_hazard_raised(session: AsyncSession, hazard: HazardRaised, event_id: str) -> str:
    await repo.lock_enterprise(session, hazard.enterprise_uscc)
    await repo.save_hazard_raised(session, {
        "uscc": hazard.enterprise_uscc, "hazard_id": hazard.hazard_id, "deadline_date": hazard.deadline_date,
        "severity": hazard.severity, "raised_event_id": event_id})
    return hazard.enterprise_uscc


async def record_hazard_rectified(session: AsyncSession, hazard: HazardRectified, event_id: str) -> str:
    await repo.lock_enterprise(session, hazard.enterprise_uscc)
    await repo.save_hazard_rectified(session, {
        "uscc": hazard.enterprise_uscc, "hazard_id": hazard.hazard_id, "rectified_date": hazard.rectified_date,
        "rectified_event_id": event_id})
    return hazard.enterprise_uscc


async def record_patrol(session: AsyncSession, patrol: PatrolCompleted, event_id: str) -> str:
    if unknown := sorted(n for n in patrol.items if n not in CHECKLIST_ITEMS):
        raise ValueError(f"the 332211 checklist items are numbered 1-12, got {unknown}")
    await repo.lock_enterprise(session, patrol.enterprise_uscc)
    await repo.save_patrol(session, {
        "uscc": patrol.enterprise_uscc, "patrol_id": patrol.patrol_id, "patrolled_at": aware(patrol.patrolled_at),
        "mode": patrol.mode, "items": {str(n): mark for n, mark in patrol.items.items()}, "event_id": event_id})
    return patrol.enterprise_uscc


async def record_case(session: AsyncSession, case: CaseOpened, event_id: str) -> str:
    await repo.lock_enterprise(session, case.enterprise_uscc)
    await repo.save_case(session, {"uscc": case.enterprise_uscc, "case_id": case.case_id,
                                   "opened_date": case.opened_date, "event_id": event_id})
    return case.enterprise_uscc


async def record_penalty(session: AsyncSession, penalty: PenaltyDecided, event_id: str) -> str:
    await repo.lock_enterprise(session, penalty.enterprise_uscc)
    await repo.save_penalty(session, {"uscc": penalty.enterprise_uscc, "penalty_id": penalty.penalty_id,
                                      "decided_date": penalty.decided_date, "event_id": event_id})
    return penalty.enterprise_uscc


# --- rescoring ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trigger:
    """What caused a rescoring: a consumed event, or a command of scoring's own (then `ref` names
    it: the model version, the adjustment, the repair, the run)."""

    type: str
    event_id: str | None = None
    ref: str | None = None
    business_date: date | None = None

    @classmethod
    def from_event(cls, event: ReceivedEvent) -> Trigger:
        day = None
        if event.type == FILLING_RECORDS_MISSING.type and isinstance(event.data.get("business_date"), str):
            day = date.fromisoformat(event.data["business_date"])
        return cls(type=event.type, event_id=event.id, business_date=day)

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


async def rescore(session: AsyncSession, ctx: ScoringContext, usccs: Sequence[str], trigger: Trigger, *,
                  as_of: datetime | None = None, only_changed: bool = False, model: ScoringModel | None = None,
                  contiguous: bool = False) -> list[Rescored]:
    """Score the enterprises as of now (or `as_of`) with the model in effect and apply the grade rules.

    A rescoring caused by an event or a command is always recorded (current score, history) and
    published (score.updated; grade.changed when the grade moved). With `only_changed` (the full
    passes) an enterprise whose stored score would not change is left alone. `contiguous` says the
    USCCs are every scorable enterprise from the first to the last (a full rescore's chunk).
    """
    as_of = as_of or ctx.now()
    model = model or await ctx.models.in_effect(session, business_date(as_of))
    state = await repo.load_enterprise_state(session, usccs, contiguous=contiguous,
                                             ceiling_since=ceiling_since(model, as_of))
    return await record_scores(session, ctx, score_enterprises(state, model, as_of), trigger, as_of,
                               only_changed=only_changed)


def ceiling_since(model: ScoringModel, as_of: datetime) -> date:
    """The earliest grade period end the one-year ceiling can still see."""
    return business_date(as_of) - timedelta(days=model.policy.ceiling_window_days)


async def record_scores(session: AsyncSession, ctx: ScoringContext, scored: Sequence[Scored], trigger: Trigger,
                        as_of: datetime, *, only_changed: bool = False) -> list[Rescored]:
    """Store the scores, append history, move grade periods and stage the events, in bulk."""
    def to_write(s: Scored) -> bool:
        return not (only_changed and s.held_grade is not None and s.unchanged)

    writes = [s for s in scored if to_write(s)]
    outcomes = [Rescored(s.uscc, s.content["score"], s.content["grade"], s.held_grade, recorded=to_write(s))
                for s in scored]
    if not writes:
        return outcomes
    today = business_date(as_of)
    pending: list[Pending] = []
    for w in writes:
        c = w.content
        pending.append(Pending(SCORE_UPDATED, w.uscc, ScoreUpdated(
            enterprise_uscc=w.uscc, score=c["score"], grade=c["grade"], raw_grade=c["raw_grade"],
            previous_grade=w.held_grade, grade_changed=w.grade_changed, model_version=c["model_version"],
            computed_at=as_of, trigger_event_type=trigger.type, trigger_event_id=trigger.event_id,
            trigger_business_date=trigger.business_date, jurisdiction_code=c["jurisdiction_code"],
            key_supervision=c["key_supervision"], kinds=w.kinds)))
        if w.grade_changed:
            pending.append(Pending(GRADE_CHANGED, w.uscc, GradeChanged(
                enterprise_uscc=w.uscc, from_grade=w.held_grade, to_grade=c["grade"], score=c["score"],
                model_version=c["model_version"], changed_at=as_of, cause=trigger.words(),
                trigger_event_type=trigger.type, trigger_event_id=trigger.event_id,
                jurisdiction_code=c["jurisdiction_code"])))
    staged = await stage(session, ctx.outbox, pending)
    correlation = {e.subject: _correlation_of(e) for e in staged if e.type == SCORE_UPDATED.type}

    cause = {"trigger_event_type": trigger.type, "trigger_event_id": trigger.event_id, "trigger_ref": trigger.ref}
    scores, history, closures, opened = [], [], [], []
    for w in writes:
        c = w.content
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
    await repo.save_scores(session, scores)
    await repo.append_history(session, history)
    await repo.close_grade_periods(session, closures)
    await repo.open_grade_periods(session, opened)
    return outcomes


def _correlation_of(event: OutgoingEvent) -> str:
    return event.correlation_id or event.id


@contextmanager
def caused_by(event: OutgoingEvent) -> Iterator[None]:
    """Within the block, events published are caused by `event` (and share its correlation)."""
    outer = current_cause.get()
    token = current_cause.set(Cause(correlation_id=_correlation_of(event), causation_id=event.id,
                                    traceparent=event.traceparent, request_id=outer.request_id))
    try:
        yield
    finally:
        current_cause.reset(token)


@contextmanager
def correlated(correlation_id: str) -> Iterator[None]:
    """Within the block, events published carry this correlation id (a full rescore's run id)."""
    outer = current_cause.get()
    token = current_cause.set(Cause(correlation_id=correlation_id, traceparent=outer.traceparent,
                                    request_id=outer.request_id))
    try:
        yield
    finally:
        current_cause.reset(token)


# --- reading scores -------------------------------------------------------------------------

async def visible_enterprise(session: AsyncSession, principal: Principal, uscc: str) -> RowMapping:
    """The enterprise's profile if the caller may see it: an enterprise user its own, a regulator
    (or integrator) its subtree, an admin all; 403 otherwise, 404 when scoring does not know it."""
    if principal.role == "enterprise" and principal.enterprise != uscc:
        raise forbidden("an enterprise user sees only its own enterprise")
    profile = await repo.get_profile(session, uscc)
    if profile is None or profile["revision"] == 0:
        raise enterprise_not_found(uscc)
    if not principal.can_access_enterprise(uscc, profile["jurisdiction_code"]):
        raise forbidden(f"enterprise {uscc} lies outside your jurisdiction")
    return profile


async def describe_score(session: AsyncSession, ctx: ScoringContext, profile: RowMapping) -> dict[str, Any]:
    """The current score with labels from its model version, the rules applied and the cause."""
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
        "cause": {"event_type": row["trigger_event_type"], "event_id": row["trigger_event_id"],
                  "ref": row["trigger_ref"], "correlation_id": row["correlation_id"]},
    }


async def public_grade(session: AsyncSession, ctx: ScoringContext, uscc: str) -> dict[str, Any]:
    """The grade as the public may see it, per the policy of the model in effect."""
    profile = await repo.get_profile(session, uscc)
    row = await repo.get_current_score(session, uscc)
    if profile is None or row is None:
        raise enterprise_not_found(uscc)
    model = await ctx.models.in_effect(session, ctx.today())
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

def child_node(node: str | None, code: str) -> str:
    """The child of `node` (a division code, None for the whole country) under which `code` lies.

    Six-digit codes pad lower levels with zeros: province 370000, city 371100, district 371102;
    townships add 3 digits (9), grids 3 more (12)."""
    if node is None:
        return code[:2] + "0000"
    if len(node) == 6 and node.endswith("0000"):
        return code[:4] + "00"
    if len(node) == 6 and node.endswith("00"):
        return code[:6]
    if len(node) == 6:
        return code[:9] if len(code) >= 9 else code
    if len(node) == 9:
        return code[:12] if len(code) >= 12 else code
    return code


def count_grades(pairs: Sequence[tuple[str, int]]) -> dict[str, int]:
    counts = {"A": 0, "B": 0, "C": 0, "D": 0}
    for grade, n in pairs:
        counts[grade] = counts.get(grade, 0) + n
    return {**counts, "total": sum(counts.values())}


async def grade_distribution(session: AsyncSession, node: str | None) -> dict[str, Any]:
    rows = await repo.grade_counts(session, jurisdiction_prefix(node) if node else None)
    by_child: dict[str, list[tuple[str, int]]] = {}
    for r in rows:
        by_child.setdefault(child_node(node, r["jurisdiction_code"]), []).append((r["grade"], r["n"]))
    return {
        "jurisdiction": node,
        "total": count_grades([(r["grade"], r["n"]) for r in rows]),
        "nodes": [{"jurisdiction_code": code, "counts": count_grades(pairs)}
                  for code, pairs in sorted(by_child.items())],
    }


def month_ends(today: date, months: int) -> list[tuple[str, date]]:
    """The last `months` months, oldest first: (YYYY-MM, its last day or today for this month)."""
    points = []
    year, month = today.year, today.month
    for _ in range(months):
        next_first = date(year + (month == 12), month % 12 + 1, 1)
        points.append((f"{year:04d}-{month:02d}", min(next_first - timedelta(days=1), today)))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return list(reversed(points))


def grades_held_on(periods: Sequence[RowMapping], day: date) -> dict[str, int]:
    """The grade each enterprise held at the end of `day`: of its periods covering the day, the
    one that started last."""
    held: dict[str, tuple[int, str]] = {}
    for p in periods:
        covers = p["from_date"] <= day and (p["to_date"] is None or p["to_date"] >= day)
        if covers and (p["uscc"] not in held or p["id"] > held[p["uscc"]][0]):
            held[p["uscc"]] = (p["id"], p["grade"])
    return count_grades([(grade, 1) for _, grade in held.values()])


async def grade_trend(session: AsyncSession, node: str | None, today: date, months: int) -> dict[str, Any]:
    points = month_ends(today, months)
    periods = await repo.periods_overlapping(session, jurisdiction_prefix(node) if node else None,
                                             points[0][1] - timedelta(days=31))
    return {"jurisdiction": node, "over": "month",
            "points": [{"month": m, "on_date": d, "counts": grades_held_on(periods, d)} for m, d in points]}


# --- manual adjustment (人工调整) --------------------------------------------------------------

async def lock_known_enterprise(session: AsyncSession, uscc: str) -> RowMapping:
    query_row = await repo.get_profile(session, uscc)
    if query_row is None or query_row["revision"] == 0:
        raise enterprise_not_found(uscc)
    return await repo.lock_enterprise(session, uscc)


async def set_grade_adjustment(session: AsyncSession, ctx: ScoringContext, principal: Principal, uscc: str,
                               grade: str, reason: str, expires_on: date) -> str:
    """Set a manual grade (it replaces one in force); the locks still bound it. Returns its id."""
    await lock_known_enterprise(session, uscc)
    now = ctx.now()
    if expires_on < business_date(now):
        raise field_error("expires_on", f"{expires_on} is in the past; the adjustment must hold at least today")
    await repo.lift_adjustments(session, uscc, at=now, by=principal.sub, reason="superseded by a new adjustment")
    adjustment_id = str(uuid.uuid4())
    await repo.insert_adjustment(session, {"id": adjustment_id, "uscc": uscc, "grade": grade, "reason": reason,
                                           "expires_on": expires_on, "set_by": principal.sub, "set_at": now})
    await repo.audit(session, actor=principal.sub, action="grade_adjustment.set", subject=uscc, detail={
        "adjustment_id": adjustment_id, "grade": grade, "reason": reason, "expires_on": expires_on.isoformat()})
    await rescore(session, ctx, [uscc], Trigger("scoring.grade_adjustment.set", ref=adjustment_id), as_of=now)
    return adjustment_id


async def lift_grade_adjustment(session: AsyncSession, ctx: ScoringContext, principal: Principal, uscc: str,
                                reason: str | None) -> None:
    await lock_known_enterprise(session, uscc)
    now = ctx.now()
    lifted = await repo.lift_adjustments(session, uscc, at=now, by=principal.sub, reason=reason or "lifted")
    if not lifted:
        raise not_found("grade adjustment of enterprise", uscc)
    await repo.audit(session, actor=principal.sub, action="grade_adjustment.lifted", subject=uscc,
                     detail={"reason": reason})
    await rescore(session, ctx, [uscc], Trigger("scoring.grade_adjustment.lifted", ref=uscc), as_of=now)


# --- credit repair (信用修复) -----------------------------------------------------------------

async def _facts_now(session: AsyncSession, ctx: ScoringContext, uscc: str) -> EnterpriseFacts:
    rows = (await repo.load_enterprise_state(session, [uscc], ceiling_since=ctx.today()))[uscc]
    return facts_from_rows(rows)


async def apply_for_repair(session: AsyncSession, ctx: ScoringContext, principal: Principal, uscc: str,
                           reason: str, case_ids: list[str] | None, penalty_ids: list[str] | None,
                           missing_record_dates: list[date] | None) -> RowMapping:
    """File an application if the enterprise is eligible; 422 with the reasons when it is not."""
    await lock_known_enterprise(session, uscc)
    if (pending := await repo.pending_repair(session, uscc)) is not None:
        raise conflict(f"credit repair {pending['id']} is still pending for {uscc}", repair_id=pending["id"])
    now = ctx.now()
    model = await ctx.models.in_effect(session, business_date(now))
    eligibility = check_repair_eligibility(await _facts_now(session, ctx, uscc), now, open_orders=0,
                                           policy=model.policy)
    if not eligibility.eligible:
        raise not_eligible(eligibility.reasons)

    open_items = await repo.unrepaired_items(session, uscc)
    chosen = {
        "case_ids": _choose("case_ids", case_ids, [r["case_id"] for r in open_items["cases"]]),
        "penalty_ids": _choose("penalty_ids", penalty_ids, [r["penalty_id"] for r in open_items["penalties"]]),
        "missing_record_dates": _choose("missing_record_dates", missing_record_dates,
                                        sorted({r["business_date"] for r in open_items["missing_days"]})),
    }
    if not any(chosen.values()):
        raise field_error("items", "nothing to repair: no case, penalty or missing-records day is counted against "
                                   "the enterprise")
    repair_id = str(uuid.uuid4())
    values = {"id": repair_id, "uscc": uscc, "status": "pending", "reason": reason,
              "case_ids": chosen["case_ids"], "penalty_ids": chosen["penalty_ids"],
              "missing_record_dates": [d.isoformat() for d in chosen["missing_record_dates"]],
              "applied_at": now, "applied_by": principal.sub, "repaired_event_ids": []}
    await repo.insert_repair(session, values)
    await repo.audit(session, actor=principal.sub, action="credit_repair.applied", subject=uscc, detail={
        "repair_id": repair_id, **{k: v for k, v in values.items() if k.endswith(("ids", "dates"))}})
    row = await repo.get_repair(session, uscc, repair_id)
    assert row is not None
    return row


def _choose(field_name: str, asked: list[Any] | None, available: list[Any]) -> list[Any]:
    """The items asked for (each must be open), or every open item when none were named."""
    if asked is None:
        return available
    unknown = [str(a) for a in asked if a not in available]
    if unknown:
        raise field_error(field_name, f"not counted against the enterprise (unknown or already repaired): "
                                      f"{', '.join(unknown)}")
    return list(dict.fromkeys(asked))


async def decide_repair(session: AsyncSession, ctx: ScoringContext, principal: Principal, uscc: str,
                        repair_id: str, approve: bool, reason: str) -> RowMapping:
    """Approve (the items leave the score, they stay in history marked repaired) or reject."""
    await lock_known_enterprise(session, uscc)
    repair = await repo.get_repair(session, uscc, repair_id, lock=True)
    if repair is None:
        raise not_found("credit repair", repair_id)
    if repair["status"] != "pending":
        raise conflict(f"credit repair {repair_id} was already {repair['status']}")
    now = ctx.now()
    if not approve:
        await repo.decide_repair(session, repair_id, {"status": "rejected", "decided_at": now,
                                                      "decided_by": principal.sub, "decision_reason": reason})
        await repo.audit(session, actor=principal.sub, action="credit_repair.rejected", subject=uscc,
                         detail={"repair_id": repair_id, "reason": reason})
        return await _repair(session, uscc, repair_id)

    model = await ctx.models.in_effect(session, business_date(now))
    eligibility = check_repair_eligibility(await _facts_now(session, ctx, uscc), now, open_orders=0,
                                           policy=model.policy)
    if not eligibility.eligible:
        raise not_eligible(eligibility.reasons)
    repaired = await repo.mark_repaired(
        session, uscc, repair_id, case_ids=repair["case_ids"], penalty_ids=repair["penalty_ids"],
        missing_dates=[date.fromisoformat(d) for d in repair["missing_record_dates"]])
    await repo.decide_repair(session, repair_id, {"status": "approved", "decided_at": now, "decided_by": principal.sub,
                                                  "decision_reason": reason, "repaired_event_ids": repaired})
    await repo.audit(session, actor=principal.sub, action="credit_repair.approved", subject=uscc,
                     detail={"repair_id": repair_id, "reason": reason, "repaired_event_ids": repaired})
    [approved] = await stage(session, ctx.outbox, [Pending(CREDIT_REPAIR_APPROVED, uscc, CreditRepairApproved(
        enterprise_uscc=uscc, repair_id=repair_id, approved_at=now, repaired_event_ids=repaired,
        approved_by=principal.sub, reason=reason))])
    with caused_by(approved):
        await rescore(session, ctx, [uscc], Trigger("scoring.credit_repair.approved", event_id=approved.id,
                                                    ref=repair_id), as_of=now)
    return await _repair(session, uscc, repair_id)


async def _repair(session: AsyncSession, uscc: str, repair_id: str) -> RowMapping:
    row = await repo.get_repair(session, uscc, repair_id)
    assert row is not None
    return row


# --- models ---------------------------------------------------------------------------------

def parse_model_text(text: str) -> ScoringModel:
    """A model from YAML or JSON text (JSON is YAML); 422 naming each faulty field otherwise."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise model_invalid([f"not valid YAML or JSON: {exc}"]) from None
    try:
        model = parse_model(document)
    except ModelValidationError as exc:
        raise model_invalid(exc.problems) from None
    if not all(ch.isalnum() or ch in "._-" for ch in model.model_version):
        raise model_invalid(["model_version: use letters, digits, '.', '_' and '-' only (it appears in URLs)"])
    return model


async def store_model(session: AsyncSession, ctx: ScoringContext, text: str, loaded_by: str) -> ScoringModel:
    """Validate and store a new model version (versions are never replaced); audited."""
    model = parse_model_text(text)
    await ctx.models.in_effect(session, ctx.today())  # stores the default model on first use
    if await repo.get_model(session, model.model_version) is not None:
        raise conflict(f"model version {model.model_version} exists; publish a new version instead")
    await repo.insert_model(session, _model_values(model, text, loaded_by))
    await repo.audit(session, actor=loaded_by, action="model.loaded", subject=model.model_version, detail={
        "version": model.model_version, "effective_from": model.effective_from.isoformat(),
        "sha1": hashlib.sha1(text.encode()).hexdigest()})
    ctx.models.forget_versions()
    return model


async def model_summary(session: AsyncSession, ctx: ScoringContext, row: RowMapping) -> dict[str, Any]:
    in_effect = await ctx.models.in_effect(session, ctx.today())
    labels = (row["document"] or {}).get("labels")
    return {"version": row["version"], "effective_from": row["effective_from"], "labels": labels,
            "in_effect": row["version"] == in_effect.model_version, "loaded_at": row["loaded_at"],
            "loaded_by": row["loaded_by"], "rescored_at": row["rescored_at"],
            "rescored_enterprises": row["rescored_enterprises"]}
