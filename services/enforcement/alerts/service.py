"""Alerts (预警): the policy applied to each cause, merging, the lifecycle, SLA escalation.

One alert per (enterprise, kind, cause): a cause reported again (a redelivery with a new id, a
second report of the same overdue inspection) merges into the alert it raised. Every step is a
row of the alert's history (who, when, from and to which status) and an event on
``enforcement.alerts`` (with the webhook deliveries it owes), in the caller's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from services.enforcement import events
from services.enforcement.access import AlertScope, alert_scope, ensure_may_act, sees, within_scope
from services.enforcement.alerts import repository as repo
from services.enforcement.context import EnforcementContext
from services.enforcement.domain import lifecycle, sla
from services.enforcement.domain.lifecycle import InvalidTransition, Verb
from services.enforcement.errors import alert_not_found, conflict, forbidden, invalid_transition
from services.enforcement.models import Alert, AlertStep, EnterpriseRow
from services.enforcement.projection import repository as projection
from services.enforcement.projection import service as projected
from services.enforcement.webhooks import service as webhooks
from shared.auth import SYSTEM
from shared.contracts.enforcement import ALERT_RAISED, ALERT_STATUS_CHANGED
from shared.contracts.inspection import FILLING_RECORDS_MISSING
from shared.events.context import Cause, current_cause
from shared.events.spec import EventSpec
from shared.http.pagination import PageParams, make_page


@dataclass(frozen=True)
class AlertCause:
    """What raises an alert: its kind, the enterprise, the cause it is keyed by, and the event
    that reported it (with the chain it belongs to)."""

    kind: str
    uscc: str
    cause_key: str
    event_id: str
    event_type: str
    correlation_id: str
    grade: str | None = None  # the fresh grade the event carries, if any
    business_date: date | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# --- raising ----------------------------------------------------------------------------------

async def raise_alert(ctx: EnforcementContext, cause: AlertCause) -> Alert | None:
    """Raise the alert the policy in effect says for ``cause``, or merge into the one it raised.
    None when the policy raises nothing (e.g. a public report at an A/B unit)."""
    enterprise = await projected.enterprise(ctx, cause.uscc)
    existing = await repo.by_cause(ctx.session, cause.uscc, cause.kind, cause.cause_key)
    now = ctx.now()
    if existing is not None:
        existing.merged_events += 1
        existing.updated_at = now
        _step(ctx, existing, "merged", existing.status, detail={"event_id": cause.event_id,
                                                               "event_type": cause.event_type})
        if cause.grade and existing.grade_source != "score_event":
            await _regrade(ctx, existing, cause.grade)
        await ctx.session.flush()
        return existing
    grade, grade_source = (cause.grade, "score_event") if cause.grade else (
        (enterprise.grade, "projection") if enterprise.grade else (None, "none"))
    policy = ctx.policy()
    decision = policy.decide(cause.kind, grade)
    if decision is None:
        return None
    location = sla.first_responsible(enterprise.grid_code, enterprise.jurisdiction_code)
    alert = Alert(
        id=str(uuid.uuid4()), enterprise_uscc=cause.uscc, kind=cause.kind, cause_key=cause.cause_key, grade=grade,
        grade_source=grade_source, action=decision.action, addressed_to=decision.addressed_to, status="raised",
        correlation_id=cause.correlation_id, cause_event_id=cause.event_id, cause_event_type=cause.event_type,
        business_date=cause.business_date, policy_version=policy.version,
        closes_when_records_arrive=decision.closes_when_records_arrive,
        jurisdiction_code=enterprise.jurisdiction_code, grid_code=enterprise.grid_code, location_code=location,
        responsible_node=location, escalation_level=0, assignees=[],
        due_at=sla.due_at(policy.actions[decision.action].due, now), raised_at=now, updated_at=now,
        merged_events=1, detail=dict(cause.detail), version=1)
    ctx.session.add(alert)
    await ctx.session.flush()
    _step(ctx, alert, "raised", "raised", from_status=None,
          detail={"event_id": cause.event_id, "event_type": cause.event_type, "grade_source": grade_source})
    await _publish(ctx, ALERT_RAISED, alert, events.alert_raised(alert))
    if decision.closes_when_records_arrive and await _records_arrived(ctx, alert):
        await _move(ctx, alert, "resolve", SYSTEM.sub, "the filling records of that day had already arrived")
    elif decision.addressed_to == "grid_inspectors":
        await _auto_dispatch(ctx, alert)
    await ctx.session.flush()
    return alert


async def _regrade(ctx: EnforcementContext, alert: Alert, grade: str) -> None:
    """An alert raised before its fresh grade came (the sweep's fallback, with the grade the
    projection held) takes the grade the score event carries, and the action the policy gives it;
    an alert already closed keeps its course."""
    before_grade, before_action = alert.grade, alert.action
    alert.grade, alert.grade_source = grade, "score_event"
    alert.version += 1
    policy = ctx.policies.version(alert.policy_version) or ctx.policy()
    decision = policy.decide(alert.kind, grade)
    if decision is None or alert.status == "resolved" or decision.action == alert.action:
        _step(ctx, alert, "regraded", alert.status, detail={"from_grade": before_grade, "to_grade": grade})
        return
    alert.action, alert.addressed_to = decision.action, decision.addressed_to
    alert.closes_when_records_arrive = decision.closes_when_records_arrive
    alert.due_at = sla.due_at(policy.actions[decision.action].due, ctx.now())
    note = f"re-graded {before_grade or 'unknown'} → {grade}: {before_action} → {decision.action}"
    _step(ctx, alert, "regraded", alert.status, note=note, detail={
        "from_grade": before_grade, "to_grade": grade, "from_action": before_action, "to_action": decision.action})
    await ctx.session.flush()
    await _publish(ctx, ALERT_STATUS_CHANGED, alert, events.status_changed(alert, SYSTEM.sub, note))
    if decision.addressed_to == "grid_inspectors" and alert.status == "raised":
        await _auto_dispatch(ctx, alert)


async def raise_unscored_missing_alerts(ctx: EnforcementContext, limit: int) -> int:
    """The fallback of the missing-records alert: a day the cut-off found more than
    ``score_wait_s`` ago whose score.updated has not come (scoring down or behind) raises its alert
    now, with the grade enforcement holds, in the same chain (the missing-records event's id);
    the score event, when it comes, merges into it and re-grades it. How many were raised."""
    wait = ctx.settings.score_wait_s
    raised = 0
    for day in await repo.unalerted_missing_days(ctx.session, ctx.now() - timedelta(seconds=wait), limit):
        alert = await raise_alert(ctx, AlertCause(
            kind=repo.MISSING_RECORDS, uscc=day.uscc, cause_key=day.business_date.isoformat(),
            event_id=day.missing_event_id or "", event_type=FILLING_RECORDS_MISSING.type,
            correlation_id=day.missing_event_id or "", business_date=day.business_date,
            detail={"fallback": f"no score.updated within {wait:g} s of the cut-off"}))
        raised += alert is not None
    return raised


async def _records_arrived(ctx: EnforcementContext, alert: Alert) -> bool:
    day = await projection.get_missing_day(ctx.session, alert.enterprise_uscc, alert.business_date)
    return day is not None and day.arrived_at is not None


async def _auto_dispatch(ctx: EnforcementContext, alert: Alert) -> bool:
    """Dispatch to the grid's inspectors when registry named any (automatic, by the platform)."""
    inspectors = await projection.get_inspectors(ctx.session, alert.grid_code)
    if inspectors is None or not inspectors.inspectors:
        return False
    alert.assignees = list(inspectors.inspectors)
    await _move(ctx, alert, "dispatch", SYSTEM.sub, None, detail={"assignees": alert.assignees, "automatic": True})
    return True


# --- what other events change -------------------------------------------------------------------

async def records_arrived(ctx: EnforcementContext, uscc: str, business_date: date, records: int) -> Alert | None:
    """The filling records of a missing day arrived: a warning for that day closes itself; an
    alert of another action notes it and stays open (the inspector still goes)."""
    alert = await repo.by_cause(ctx.session, uscc, repo.MISSING_RECORDS, business_date.isoformat())
    if alert is None or alert.status not in lifecycle.OPEN:
        return alert
    note = f"{records} filling records of {business_date.isoformat()} arrived late"
    if alert.closes_when_records_arrive:
        await _move(ctx, alert, "resolve", SYSTEM.sub, note)
    else:
        _step(ctx, alert, "records_arrived", alert.status, note=note)
    await ctx.session.flush()
    return alert


async def finding_withdrawn(ctx: EnforcementContext, uscc: str, business_date: date) -> Alert | None:
    """A closed day declared after the cut-off: the unit owed no records that day, so the
    missing-records alert of that day is resolved whatever its action (nothing is raised for it
    from now on: see ``raise_alert``'s callers)."""
    alert = await repo.by_cause(ctx.session, uscc, repo.MISSING_RECORDS, business_date.isoformat())
    if alert is None or alert.status not in lifecycle.OPEN:
        return alert
    await _move(ctx, alert, "resolve", SYSTEM.sub,
                f"{business_date.isoformat()} was declared a closed day after the cut-off: the finding is withdrawn")
    return alert


async def anomaly_corrected(ctx: EnforcementContext, uscc: str, kind: str, cause_key: str,
                            correction: dict[str, Any]) -> Alert | None:
    """A correction of a filling record cleared the anomaly that raised the alert of ``kind`` and
    ``cause_key``: a warning the policy lets close resolves itself; any other alert notes the
    correction and stays open (a unit must not cancel an inspection by correcting its records)."""
    alert = await repo.by_cause(ctx.session, uscc, kind, cause_key)
    if alert is None or alert.status not in lifecycle.OPEN:
        return alert
    note = (f"the record was corrected (version {correction['version']}, record {correction['record_id']}): "
            f"{correction['reason']}")
    policy = ctx.policies.version(alert.policy_version) or ctx.policy()
    if policy.closes_when_corrected(alert.kind, alert.action):
        await _move(ctx, alert, "resolve", SYSTEM.sub, note, detail={"correction": correction})
    else:
        alert.updated_at = ctx.now()
        _step(ctx, alert, "corrected", alert.status, note=note, detail={"correction": correction})
    await ctx.session.flush()
    return alert


async def follow_enterprise(ctx: EnforcementContext, enterprise: EnterpriseRow) -> None:
    """An enterprise's new snapshot: its open alerts follow it to its grid and jurisdiction (an
    alert raised before the snapshot arrived learns where it is), and waiting ones are dispatched."""
    location = sla.first_responsible(enterprise.grid_code, enterprise.jurisdiction_code)
    for alert in await repo.open_of_enterprise(ctx.session, enterprise.uscc):
        if (alert.jurisdiction_code, alert.grid_code) == (enterprise.jurisdiction_code, enterprise.grid_code):
            continue
        alert.jurisdiction_code, alert.grid_code, alert.location_code = (
            enterprise.jurisdiction_code, enterprise.grid_code, location)
        if alert.escalation_level == 0:
            alert.responsible_node = location
        alert.updated_at = ctx.now()
        _step(ctx, alert, "relocated", alert.status, detail={"jurisdiction_code": enterprise.jurisdiction_code,
                                                             "grid_code": enterprise.grid_code})
        if alert.status == "raised" and alert.addressed_to == "grid_inspectors":
            await _auto_dispatch(ctx, alert)
    await ctx.session.flush()


async def patrolled(ctx: EnforcementContext, alert_id: str, patrol_id: str, failed: list[int]) -> None:
    """A patrol that answered the alert was completed: its history says so (the regulator still
    resolves it, with what the patrol found)."""
    alert = await repo.get(ctx.session, alert_id, for_update=True)
    if alert is None:
        return
    alert.updated_at = ctx.now()
    _step(ctx, alert, "patrolled", alert.status, detail={"patrol_id": patrol_id, "failed_items": failed})
    await ctx.session.flush()


async def dispatch_waiting(ctx: EnforcementContext, grid_code: str) -> int:
    """A grid got inspectors: dispatch its alerts that were waiting for someone to go."""
    dispatched = 0
    for alert in await repo.waiting_for_inspectors(ctx.session, grid_code):
        dispatched += await _auto_dispatch(ctx, alert)
    await ctx.session.flush()
    return dispatched


# --- the lifecycle, by people -------------------------------------------------------------------

async def act(ctx: EnforcementContext, alert_id: str, verb: Verb, *, note: str | None = None,
              assignees: list[dict[str, str]] | None = None) -> Alert:
    """Dispatch (reassign), acknowledge or resolve an alert on behalf of the caller."""
    alert = await repo.get(ctx.session, alert_id, for_update=True)
    if alert is None:
        raise alert_not_found(alert_id)
    ensure_may_act(ctx.principal, alert, verb)
    detail: dict[str, Any] = {}
    if verb == "dispatch":
        if not assignees:
            inspectors = await projection.get_inspectors(ctx.session, alert.grid_code)
            assignees = list(inspectors.inspectors) if inspectors else []
        if not assignees:
            raise conflict(f"nobody to dispatch alert {alert_id} to: its grid ({alert.grid_code or 'unknown'}) has "
                           "no inspectors; name the assignees")
        lifecycle_check(alert, verb)
        alert.assignees = assignees
        detail = {"assignees": assignees}
    await _move(ctx, alert, verb, ctx.actor, note, detail=detail)
    await ctx.session.flush()
    return alert


def lifecycle_check(alert: Alert, verb: Verb) -> None:
    try:
        lifecycle.transition(alert.status, verb)
    except InvalidTransition as exc:
        raise invalid_transition(str(exc), alert.status) from exc


async def _move(ctx: EnforcementContext, alert: Alert, verb: Verb, actor: str, note: str | None, *,
                detail: dict[str, Any] | None = None) -> None:
    lifecycle_check(alert, verb)
    before = alert.status
    now = ctx.now()
    alert.status = lifecycle.transition(before, verb)
    alert.updated_at = now
    alert.version += 1
    if verb == "acknowledge":
        alert.acknowledged_at, alert.acknowledged_by = now, actor
    elif verb == "resolve":
        alert.resolved_at, alert.resolved_by, alert.resolution_note = now, actor, note
        alert.due_at = None
    step = {"dispatch": "dispatched", "acknowledge": "acknowledged", "resolve": "resolved",
            "escalate": "escalated"}[verb]
    _step(ctx, alert, step, alert.status, from_status=before, actor=actor, note=note, detail=detail or {})
    await ctx.session.flush()
    await _publish(ctx, ALERT_STATUS_CHANGED, alert, events.status_changed(alert, actor, note))


# --- SLA escalation -----------------------------------------------------------------------------

async def escalate(ctx: EnforcementContext, alert: Alert) -> bool:
    """An open alert whose SLA passed moves up: a warning the enterprise let lapse goes to its
    grid's inspectors, anything else to the node above the one responsible, with the escalation
    SLA; at the policy's top level it stays where it is, overdue. True when it moved."""
    policy = ctx.policies.version(alert.policy_version) or ctx.policy()
    now = ctx.now()
    if alert.addressed_to == "enterprise" and alert.escalation_level == 0:
        target = alert.location_code
        inspectors = await projection.get_inspectors(ctx.session, alert.grid_code)
        alert.assignees = list(inspectors.inspectors) if inspectors else []
    else:
        target = sla.escalation_target(alert.responsible_node, policy.escalation.top)
    if target is None:
        alert.due_at = None
        alert.updated_at = now
        _step(ctx, alert, "overdue_at_top", alert.status, note=f"past its SLA at {alert.responsible_node}; "
              f"nowhere higher to escalate to ({policy.escalation.top} is the top)")
        await ctx.session.flush()
        return False
    previous = alert.responsible_node
    alert.responsible_node = target
    alert.escalation_level += 1
    alert.due_at = sla.due_at(policy.escalation.due, now)
    await _move(ctx, alert, "escalate", SYSTEM.sub, f"SLA passed; escalated from {previous} to {target}",
                detail={"from_node": previous, "to_node": target, "level": alert.escalation_level})
    return True


# --- reads --------------------------------------------------------------------------------------

async def list_alerts(ctx: EnforcementContext, filters: dict[str, Any], params: PageParams,
                      after: Any) -> dict[str, Any]:
    scope = alert_scope(ctx.principal)
    within_scope(scope, filters.get("jurisdiction"))
    rows = await repo.search(ctx.session, scope, filters, limit=params.limit, after=after)
    return make_page(rows, params, lambda a: [a.raised_at.isoformat(), a.id])


async def read_alert(ctx: EnforcementContext, alert_id: str) -> tuple[Alert, list[AlertStep], EnterpriseRow | None]:
    alert = await repo.get(ctx.session, alert_id)
    if alert is None:
        raise alert_not_found(alert_id)
    scope: AlertScope = alert_scope(ctx.principal)
    members = await projection.associations_of(ctx.session, alert.enterprise_uscc) if scope.association else frozenset()
    if not sees(scope, alert, members):
        raise forbidden("this alert is not yours to see")
    return alert, await repo.history(ctx.session, alert_id), await projection.get_enterprise(
        ctx.session, alert.enterprise_uscc)


# --- history and events -------------------------------------------------------------------------

def _step(ctx: EnforcementContext, alert: Alert, step: str, to_status: str, *, from_status: str | None = "",
          actor: str | None = None, note: str | None = None, detail: dict[str, Any] | None = None) -> None:
    ctx.session.add(AlertStep(
        alert_id=alert.id, at=ctx.now(), actor=actor or ctx.actor, step=step,
        from_status=alert.status if from_status == "" else from_status, to_status=to_status, note=note,
        detail=detail or {}, request_id=current_cause.get().request_id))


async def _publish(ctx: EnforcementContext, spec: EventSpec[Any], alert: Alert, data: Any) -> None:
    """The event on enforcement.alerts, in the alert's chain (its correlation id), and the
    webhook deliveries it owes, in the same transaction."""
    current = current_cause.get()
    cause = Cause(correlation_id=alert.correlation_id, causation_id=current.causation_id,
                  traceparent=current.traceparent, request_id=current.request_id)
    event = await ctx.outbox.publish(ctx.session, spec, subject=alert.enterprise_uscc, data=data, cause=cause)
    await webhooks.enqueue(ctx, event, alert)
