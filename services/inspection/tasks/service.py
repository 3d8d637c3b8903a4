"""Use cases of self-inspection tasks (自查任务): templates (日管控/周排查/月调度, ad-hoc campaigns)
and their occurrences, issuing to one enterprise or a filtered set within the issuer's
jurisdiction, assigning, submissions held to 五定 (rejected or flagged with the exact reason;
failed items raise hazards), and closing tasks once their window and grace have passed
(task.closed, once per task). Every submission is a link of the enterprise's record chain."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.engine import RowMapping

from services.inspection import access
from services.inspection.blobs import service as blobs
from services.inspection.chain import service as chain
from services.inspection.context import InspectionContext
from services.inspection.domain import tasks as rules
from services.inspection.domain.chain import Broken
from services.inspection.errors import (
    conflict,
    enterprise_not_found,
    field_error,
    forbidden,
    not_allowed_now,
    not_found,
    submission_rejected,
)
from services.inspection.hazards import service as hazards
from services.inspection.ledger import repository as ledger
from services.inspection.repository import audit
from services.inspection.tasks import repository as repo
from services.inspection.tasks.schemas import (
    AssigneeIn,
    CampaignIssueIn,
    SubmissionIn,
    TaskIssueIn,
    TemplateIn,
    TemplatePatch,
    stored_matters,
)
from shared.contracts.inspection import (
    TASK_CLOSED,
    TASK_ISSUED,
    TASK_SUBMITTED,
    SelfInspectionTaskClosed,
    SelfInspectionTaskIssued,
    SelfInspectionTaskSubmitted,
)
from shared.contracts.registry import EnterpriseSnapshot
from shared.contracts.scoring import ScoreUpdated
from shared.http.pagination import PageParams, make_page
from shared.http.preconditions import require_if_match
from shared.locality import BUSINESS_TIMEZONE, business_date, jurisdiction_prefix

SUBMISSION = "task_submission"
NAMESPACE = uuid.UUID("6d1f4f0e-2a52-4d8e-9a55-1f3e0c6b7a11")  # occurrence ids: uuid5(template, period, uscc)

# --- the facts tasks are targeted by (consumers.py) --------------------------------------------


async def record_key_supervision(ctx: InspectionContext, snapshot: EnterpriseSnapshot, event_id: str) -> None:
    await repo.save_key_supervision(ctx.session, snapshot.uscc, snapshot.revision, snapshot.key_supervision)


async def record_grade(ctx: InspectionContext, score: ScoreUpdated, event_id: str) -> None:
    await repo.save_grade(ctx.session, score.enterprise_uscc, score.grade, score.computed_at)


# --- targets -----------------------------------------------------------------------------------

def _target_scope(ctx: InspectionContext, target: dict[str, Any]) -> str:
    """The jurisdiction a set's filter covers (default: the issuer's; an admin's: everything)."""
    code = target.get("jurisdiction_code") or ctx.principal.jurisdiction
    if code is None and not ctx.principal.is_admin:
        raise field_error("target.jurisdiction_code", "name the jurisdiction the tasks go to")
    return code or ""


async def resolve_targets(ctx: InspectionContext, target: dict[str, Any]) -> tuple[list[RowMapping],
                                                                                     list[dict[str, str]]]:
    """(the enterprises a target names, those left out with the reason): 404/403 for one named
    enterprise the ledger lacks or the issuer does not cover; a set is filtered."""
    uscc = target.get("enterprise_uscc")
    if uscc:
        rows = await repo.targets(ctx.session, uscc=uscc, prefix=None)
        if not rows:
            raise enterprise_not_found(uscc)
        access.ensure_may_issue(ctx.principal, rows[0]["jurisdiction_code"])
    else:
        scope = _target_scope(ctx, target)
        if scope:
            access.ensure_may_issue(ctx.principal, scope)
        rows = await repo.targets(ctx.session, uscc=None, prefix=jurisdiction_prefix(scope) if scope else None)
        grades, kinds, key = target.get("grades"), target.get("kinds"), target.get("key_supervision")
        rows = [r for r in rows if (not grades or r["grade"] in grades)
                and (not kinds or set(kinds) & set(r["kinds"] or ()))
                and (key is None or bool(r["key_supervision"]) == key)]
    chosen, skipped = [], []
    for row in rows:
        if not row["operating"]:
            skipped.append({"enterprise_uscc": row["uscc"], "reason": "not operating"})
        else:
            chosen.append(row)
    return chosen, skipped


def _fence(row: RowMapping, centre: tuple[float, float] | None, radius: float) -> dict[str, float] | None:
    if centre is not None:
        return {"lat": centre[0], "lon": centre[1], "radius_m": radius}
    location = row["location"]
    if not location or "lat" not in location or "lon" not in location:
        return None
    return {"lat": float(location["lat"]), "lon": float(location["lon"]), "radius_m": radius}


async def _issue_one(ctx: InspectionContext, row: RowMapping, spec: dict[str, Any]) -> str | None:
    """Insert the task (insert-or-ignore for an occurrence) and announce it; its id, or None
    when this occurrence existed already."""
    values = {**spec, "enterprise_uscc": row["uscc"], "jurisdiction_code": row["jurisdiction_code"],
              "status": "open", "completed_at": None, "closed_at": None, "closed_event_id": None,
              "issued_by": ctx.actor, "issued_at": ctx.now()}
    if spec.get("period_key"):
        values["id"] = str(uuid.uuid5(NAMESPACE, f"{spec['template_id']}/{spec['period_key']}/{row['uscc']}"))
        if values["assignee"] is None:
            values["assignee"] = await repo.last_assignee(ctx.session, spec["template_id"], row["uscc"])
    else:
        values["id"] = str(uuid.uuid4())
    if not await repo.insert_task(ctx.session, values):
        return None
    await ctx.outbox.publish(ctx.session, TASK_ISSUED, subject=row["uscc"], data=SelfInspectionTaskIssued(
        task_id=values["id"], enterprise_uscc=row["uscc"], title=values["title"], cycle=values["cycle"],
        template_id=values["template_id"], window_start=values["window_start"], window_end=values["window_end"],
        due_date=values["due_date"]))
    return values["id"]


async def _issue(ctx: InspectionContext, target: dict[str, Any], spec: dict[str, Any],
                 centre: tuple[float, float] | None, radius: float) -> dict[str, Any]:
    rows, skipped = await resolve_targets(ctx, target)
    issued = []
    for row in rows:
        fence = _fence(row, centre, radius)
        if fence is None:
            skipped.append({"enterprise_uscc": row["uscc"], "reason": "no location in the ledger for the geofence"})
            continue
        task_id = await _issue_one(ctx, row, {**spec, "fence": fence})
        if task_id:
            issued.append(task_id)
    return {"issued": len(issued), "task_ids": issued, "skipped": skipped}


def _dump(model: Any) -> Any:
    return None if model is None else model.model_dump(mode="json")


# --- templates -----------------------------------------------------------------------------------

def matters_out(matters: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {m["code"]: {"text": m["text"], "severity": m["severity"]} for m in matters}


def template_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "name", "cycle", "target", "opens_at", "closes_at", "fence_radius_m",
                               "assignee", "scene", "policy", "active", "created_by", "created_at", "revision",
                               "updated_at")}
    return {**out, "matters": matters_out(row["matters"])}


async def _template_scope(ctx: InspectionContext, target: dict[str, Any]) -> str:
    """The jurisdiction a template's target lies in, which the issuer must cover (404/403 for an
    enterprise it may not target; "" for an admin's set over everything)."""
    if target.get("enterprise_uscc"):
        await resolve_targets(ctx, target)
        return (await ledger.get_enterprise(ctx.session, target["enterprise_uscc"]))["jurisdiction_code"]  # type: ignore[index]
    scope = _target_scope(ctx, target)
    if scope:
        access.ensure_may_issue(ctx.principal, scope)
    return scope


async def create_template(ctx: InspectionContext, body: TemplateIn) -> dict[str, Any]:
    """Store the template (its target checked against the issuer's jurisdiction) and, for a
    recurring one, issue the current period's occurrence right away."""
    target = body.target.model_dump(mode="json", exclude_none=True)
    scope = await _template_scope(ctx, target)
    values = {"id": str(uuid.uuid4()), "name": body.name, "cycle": body.cycle, "target": target,
              "opens_at": time.fromisoformat(body.opens_at).isoformat(),
              "closes_at": time.fromisoformat(body.closes_at).isoformat(),
              "fence_radius_m": body.fence_radius_m or ctx.settings.default_fence_radius_m,
              "assignee": _dump(body.assignee), "scene": body.scene.stored(),
              "matters": stored_matters(body.matters), "policy": _dump(body.policy),
              "active": body.active, "issuer_jurisdiction": scope or None, "created_by": ctx.actor,
              "created_at": ctx.now(), "revision": 1, "updated_at": None}
    await repo.insert_template(ctx.session, values)
    await audit(ctx.session, actor=ctx.actor, action="task_template.created", subject=values["id"],
                detail={"name": body.name, "cycle": body.cycle, "target": target})
    issued = 0
    if body.cycle != "adhoc" and body.active:
        issued = (await _occurrences(ctx, values, ctx.today()))["issued"]
    return {**template_out(values), "issued": issued}


def _patched(patch: TemplatePatch, held: RowMapping) -> dict[str, Any]:
    """The columns the patch changes, as stored (fields left out are not in ``model_fields_set``)."""
    given = patch.model_fields_set
    stored: dict[str, Any] = {
        "name": lambda: patch.name, "active": lambda: patch.active,
        "opens_at": lambda: time.fromisoformat(patch.opens_at).isoformat(),
        "closes_at": lambda: time.fromisoformat(patch.closes_at).isoformat(),
        "fence_radius_m": lambda: patch.fence_radius_m, "assignee": lambda: _dump(patch.assignee),
        "scene": lambda: patch.scene.stored(), "matters": lambda: stored_matters(patch.matters),
        "policy": lambda: _dump(patch.policy),
        "target": lambda: patch.target.model_dump(mode="json", exclude_none=True),
    }
    values = {name: make() for name, make in stored.items() if name in given}
    return {name: value for name, value in values.items() if value != held[name]}


async def update_template(ctx: InspectionContext, template_id: str, patch: TemplatePatch,
                          if_match: str | None) -> dict[str, Any]:
    """Change a template (read under lock, the revision named in If-Match: 428/412 otherwise):
    later occurrences follow it, tasks issued keep theirs. ``active: false`` stops the
    occurrences (the daily job locks each template as it issues, so none slips past); reactivated,
    a recurring template issues the current period's at once, as on creation."""
    held = await get_template(ctx, template_id, lock=True)
    if held["issuer_jurisdiction"]:
        access.ensure_may_issue(ctx.principal, held["issuer_jurisdiction"])
    else:
        access.ensure_role(ctx.principal, "admin")  # a template over everything is the admin's
    require_if_match(if_match, held["revision"])
    changes = _patched(patch, held)
    if "target" in changes:
        changes["issuer_jurisdiction"] = (await _template_scope(ctx, changes["target"])) or None
    if not changes:
        return {**template_out(held), "issued": 0}
    changes["updated_at"] = ctx.now()
    if not await repo.update_template(ctx.session, template_id, held["revision"], changes):
        require_if_match(if_match, held["revision"] + 1)  # changed between our read and write (no lock held)
    row = {**held, **changes, "revision": held["revision"] + 1}
    await audit(ctx.session, actor=ctx.actor, action="task_template.updated", subject=template_id,
                detail={"revision": row["revision"], "changed": sorted(changes.keys() - {"updated_at"}),
                        **({"active": row["active"]} if "active" in changes else {})})
    issued = 0
    if changes.get("active") is True and row["cycle"] != "adhoc":
        issued = (await _occurrences(ctx, row, ctx.today()))["issued"]
    return {**template_out(row), "issued": issued}


async def get_template(ctx: InspectionContext, template_id: str, *, lock: bool = False) -> RowMapping:
    access.ensure_role(ctx.principal, "regulator")
    row = await repo.get_template(ctx.session, template_id, lock=lock)
    if row is None:
        raise not_found("task template", template_id)
    if row["issuer_jurisdiction"] and not ctx.principal.covers(row["issuer_jurisdiction"]):
        raise forbidden(f"{ctx.principal.describe()} may not see template {template_id}: it covers "
                               f"{row['issuer_jurisdiction']}")
    return row


async def list_templates(ctx: InspectionContext, page: PageParams, after: Any) -> dict[str, Any]:
    access.ensure_role(ctx.principal, "regulator")
    prefix = None if ctx.principal.is_admin else jurisdiction_prefix(ctx.principal.jurisdiction or "")
    rows = await repo.list_templates(ctx.session, prefix, after, page.limit + 1)
    return make_page(rows, page, lambda r: [r["created_at"].isoformat(), r["id"]], template_out)


async def _occurrences(ctx: InspectionContext, template: RowMapping | dict[str, Any], day: date) -> dict[str, Any]:
    period = rules.period_of(template["cycle"], day)
    start, end = rules.window_of(period, time.fromisoformat(template["opens_at"]),
                                 time.fromisoformat(template["closes_at"]), BUSINESS_TIMEZONE)
    if end <= ctx.now():
        return {"issued": 0, "task_ids": [], "skipped": []}  # the period's window is over: nothing to do now
    spec = {"template_id": template["id"], "period_key": period.key, "title": template["name"],
            "cycle": template["cycle"], "window_start": start, "window_end": end, "due_date": period.last_day,
            "assignee": template["assignee"], "scene": template["scene"], "matters": template["matters"],
            "policy": template["policy"]}
    return await _issue(ctx, template["target"], spec, None, template["fence_radius_m"])


async def generate_occurrences(ctx: InspectionContext, day: date) -> dict[str, Any]:
    """Each active recurring template's occurrence for the period containing ``day``, once per
    (template, period, enterprise) however often this runs (the daily job; on template creation)."""
    issued, templates = 0, 0
    for listed in await repo.recurring_templates(ctx.session):
        # locked, and re-read: a deactivation committed since the list was read is seen, one in
        # progress waits for these occurrences (they were due while it was active)
        template = await repo.get_template(ctx.session, listed["id"], lock=True)
        if template is None or not template["active"]:
            continue
        templates += 1
        issued += (await _occurrences(ctx, template, day))["issued"]
    return {"date": day, "templates": templates, "issued": issued}


# --- tasks ---------------------------------------------------------------------------------------

def task_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "template_id", "period_key", "enterprise_uscc", "jurisdiction_code", "title",
                               "cycle", "window_start", "window_end", "due_date", "fence", "assignee", "scene",
                               "policy", "status", "completed_at", "closed_at", "issued_by", "issued_at")}
    return {**out, "matters": matters_out(row["matters"])}


def _window(ctx: InspectionContext, start: datetime, minutes: int) -> tuple[datetime, datetime]:
    end = start + timedelta(minutes=minutes)
    if end <= ctx.now():
        raise not_allowed_now(f"the window ({start.isoformat()} for {minutes} min) has already closed",
                              field="window_start")
    return start, end


async def issue(ctx: InspectionContext, body: TaskIssueIn) -> dict[str, Any]:
    """Tasks now, to one enterprise or a set, with the 五定 the body fixes."""
    start, end = _window(ctx, body.window_start, body.duration_minutes)
    fence = body.fence
    radius = (fence.radius_m if fence else None) or ctx.settings.default_fence_radius_m
    centre = (fence.centre.lat, fence.centre.lon) if fence and fence.centre else None
    spec = {"template_id": None, "period_key": None, "title": body.title, "cycle": "adhoc", "window_start": start,
            "window_end": end, "due_date": business_date(end), "assignee": _dump(body.assignee),
            "scene": body.scene.stored(), "matters": stored_matters(body.matters), "policy": _dump(body.policy)}
    return await _issue_audited(ctx, body.target.model_dump(mode="json", exclude_none=True), spec, centre, radius)


async def issue_campaign(ctx: InspectionContext, template_id: str, body: CampaignIssueIn) -> dict[str, Any]:
    """A template's tasks now (an ad-hoc campaign, or a recurring template's extra round); an
    inactive template issues none."""
    template = await get_template(ctx, template_id)
    if not template["active"]:
        raise conflict(f"template {template_id} is inactive: reactivate it (PATCH active true) to issue its tasks")
    start, end = _window(ctx, body.window_start, body.duration_minutes)
    spec = {"template_id": template["id"], "period_key": None, "title": template["name"], "cycle": template["cycle"],
            "window_start": start, "window_end": end, "due_date": business_date(end),
            "assignee": template["assignee"], "scene": template["scene"], "matters": template["matters"],
            "policy": template["policy"]}
    target = body.target.model_dump(mode="json", exclude_none=True) if body.target else template["target"]
    return await _issue_audited(ctx, target, spec, None, template["fence_radius_m"])


async def _issue_audited(ctx: InspectionContext, target: dict[str, Any], spec: dict[str, Any],
                         centre: tuple[float, float] | None, radius: float) -> dict[str, Any]:
    result = await _issue(ctx, target, spec, centre, radius)
    await audit(ctx.session, actor=ctx.actor, action="tasks.issued", subject=target.get("enterprise_uscc"),
                detail={"target": target, "issued": result["issued"], "template_id": spec["template_id"]})
    return result


async def readable_task(ctx: InspectionContext, task_id: str, *, lock: bool = False) -> RowMapping:
    row = await repo.get_task(ctx.session, task_id, lock=lock)
    if row is None:
        raise not_found("task", task_id)
    access.ensure_may_read(ctx.principal, row["enterprise_uscc"], row["jurisdiction_code"])
    return row


async def list_tasks(ctx: InspectionContext, *, enterprise: str | None, status: str | None, start: date | None,
                     end: date | None, template_id: str | None, page: PageParams, after: Any) -> dict[str, Any]:
    access.ensure_may_list(ctx.principal)
    table = repo.tasks
    conditions = repo.visible(table, ctx.principal)
    if enterprise:
        conditions.append(table.c.enterprise_uscc == enterprise)
    if status:
        conditions.append(table.c.status == status)
    if template_id:
        conditions.append(table.c.template_id == template_id)
    if start:
        conditions.append(table.c.due_date >= start)
    if end:
        conditions.append(table.c.due_date <= end)
    rows = await repo.list_tasks(ctx.session, conditions, after, page.limit + 1)
    return make_page(rows, page, lambda r: [r["window_end"].isoformat(), r["id"]], task_out)


async def assign(ctx: InspectionContext, task_id: str, assignee: AssigneeIn) -> dict[str, Any]:
    """定人 for a task issued without one (or reassigned): the enterprise itself, or a regulator
    covering it; while the task is open. Later occurrences of its template inherit it."""
    task = await readable_task(ctx, task_id, lock=True)
    if ctx.principal.role not in ("enterprise", "regulator") and not ctx.principal.is_admin:
        raise forbidden(f"role {ctx.principal.role} may not assign tasks")
    if task["closed_at"] is not None or task["status"] != "open":
        raise conflict(f"task {task_id} is {task['status']}{' and closed' if task['closed_at'] else ''}: "
                       "only an open task is assigned")
    if assignee.kind == "operator":
        known = await repo.active_operator(ctx.session, task["enterprise_uscc"], assignee.id)
        if not known:
            raise field_error("id", f"operator {assignee.id} is not an active operator of {task['enterprise_uscc']}")
    value = assignee.model_dump(mode="json")
    await repo.set_assignee(ctx.session, task_id, value)
    await audit(ctx.session, actor=ctx.actor, action="task.assigned", subject=task["enterprise_uscc"],
                detail={"task_id": task_id, "assignee": value})
    return task_out({**task, "assignee": value})


# --- submissions ---------------------------------------------------------------------------------

def submission_out(row: RowMapping | dict[str, Any], hazard_ids: Sequence[str] = ()) -> dict[str, Any]:
    out = {k: row[k] for k in ("id", "task_id", "enterprise_uscc", "client_id", "submitted_by", "operator_id",
                               "device_time", "server_time", "gps_accuracy_m", "mock_location", "equipment_id",
                               "spot", "photos", "results", "flags", "note", "chain_sequence")}
    results = {r["code"]: {"passed": r["passed"], "note": r["note"]} for r in row["results"]}
    return {**out, "results": results, "location": {"lat": row["lat"], "lon": row["lon"]},
            "corrects": row["corrects_id"], "hazard_ids": list(hazard_ids)}


def _facts(task: RowMapping) -> rules.TaskFacts:
    fence, scene, assignee = task["fence"], task["scene"], task["assignee"]
    return rules.TaskFacts(
        window_start=task["window_start"], window_end=task["window_end"],
        fence=rules.Fence(fence["lat"], fence["lon"], fence["radius_m"]),
        assignee=rules.Assignee(assignee["kind"], assignee["id"]) if assignee else None,
        scene=rules.Scene(scene.get("equipment_id"), scene.get("spot"), scene.get("photo_required", True)),
        matters=[m["code"] for m in task["matters"]], policy=task["policy"])


def _limits(ctx: InspectionContext) -> rules.Limits:
    s = ctx.settings
    return rules.Limits(grace=timedelta(seconds=s.submission_grace_s),
                        max_clock_skew=timedelta(seconds=s.submission_clock_skew_s),
                        max_gps_accuracy_m=s.gps_max_accuracy_m)


async def submit(ctx: InspectionContext, task_id: str, body: SubmissionIn) -> tuple[dict[str, Any], bool]:
    """Hold the submission to 五定: a rule the task's policy rejects for is a 422 naming it (and
    nothing is stored); one it flags is kept with its reason. Failed items raise hazards. A retry
    with the same ``client_id`` returns what was stored (the bool: stored now)."""
    task = await readable_task(ctx, task_id, lock=True)
    uscc = task["enterprise_uscc"]
    access.ensure_enterprise_acts(ctx.principal, uscc, "submit tasks")
    fingerprint = hashlib.sha256(json.dumps(body.model_dump(mode="json", exclude={"client_id"}),
                                            sort_keys=True).encode()).hexdigest()
    if body.client_id:
        held = await repo.submission_by_client_id(ctx.session, task_id, body.client_id)
        if held is not None:
            if held["fingerprint"] != fingerprint or held["submitted_by"] != ctx.actor:
                raise conflict(f"submission {body.client_id} of task {task_id} was stored with other content")
            return submission_out(held), False
    matters = {m["code"] for m in task["matters"]}
    for code in body.results:
        if code not in matters:
            raise field_error(f"results.{code}", f"{code} is not a checklist item of task {task_id} "
                                                 f"({', '.join(sorted(matters))})")
    await blobs.ensure_held(ctx, uscc, body.photos)
    corrected = None
    if body.corrects:
        corrected = await repo.get_submission(ctx.session, body.corrects)
        if corrected is None or corrected["task_id"] != task_id:
            raise field_error("corrects", f"{body.corrects} is not a submission of task {task_id}")
    now = ctx.now()
    judgement = rules.judge(_facts(task), rules.SubmissionFacts(
        device_time=body.device_time, server_time=now, lat=body.location.lat, lon=body.location.lon,
        gps_accuracy_m=body.gps_accuracy_m, mock_location=body.mock_location, submitted_by=ctx.actor,
        operator_id=body.operator_id, equipment_id=body.equipment_id, spot=body.spot, photos=len(body.photos),
        results={code: r.passed for code, r in body.results.items()}), _limits(ctx))
    if not judgement.accepted:
        raise submission_rejected([f.as_dict() for f in judgement.rejected])
    flags = [f.as_dict() for f in judgement.flagged]
    submission_id = str(uuid.uuid4())
    results = [{"code": code, **r.model_dump(mode="json")} for code, r in body.results.items()]
    client_id = body.client_id or submission_id
    payload = {"submission_id": submission_id, "task_id": task_id, "client_id": client_id,
               "submitted_by": ctx.actor, "operator_id": body.operator_id,
               "device_time": body.device_time.isoformat(), "server_time": now.isoformat(),
               "location": {"lat": body.location.lat, "lon": body.location.lon},
               "gps_accuracy_m": body.gps_accuracy_m, "mock_location": body.mock_location,
               "equipment_id": body.equipment_id, "spot": body.spot, "photos": list(body.photos),
               "results": results, "flags": flags, "note": body.note,
               "corrects_submission_id": body.corrects}
    [link] = await chain.append(ctx, uscc, SUBMISSION, [payload],
                                corrects=[corrected["chain_sequence"]] if corrected else None)
    values = {"id": submission_id, "task_id": task_id, "enterprise_uscc": uscc, "client_id": client_id,
              "fingerprint": fingerprint, "submitted_by": ctx.actor, "operator_id": body.operator_id,
              "device_time": body.device_time, "server_time": now, "lat": body.location.lat,
              "lon": body.location.lon, "gps_accuracy_m": body.gps_accuracy_m, "mock_location": body.mock_location,
              "equipment_id": body.equipment_id, "spot": body.spot, "photos": list(body.photos), "results": results,
              "flags": flags, "note": body.note, "corrects_id": body.corrects, "chain_sequence": link.sequence}
    await repo.insert_submission(ctx.session, values)
    await repo.complete(ctx.session, task_id, now)
    raised = await hazards.raise_for(ctx, task, values, [r for r in results if not r["passed"]])
    await ctx.outbox.publish(ctx.session, TASK_SUBMITTED, subject=uscc, data=SelfInspectionTaskSubmitted(
        task_id=task_id, submission_id=submission_id, enterprise_uscc=uscc, submitted_at=now,
        device_time=body.device_time, flags=[f["code"] for f in flags], hazards=len(raised),
        corrects_submission_id=body.corrects))
    return submission_out(values, raised), True


async def list_submissions(ctx: InspectionContext, task_id: str, page: PageParams, after: Any) -> dict[str, Any]:
    await readable_task(ctx, task_id)
    rows = await repo.list_submissions(ctx.session, task_id, after, page.limit + 1)
    return make_page(rows, page, lambda r: [r["server_time"].isoformat(), r["id"]], submission_out)


# --- closing -------------------------------------------------------------------------------------

async def close_due(ctx: InspectionContext, now: datetime, limit: int = 500) -> list[dict[str, Any]]:
    """task.closed once per task whose window and grace have passed: completed (a submission was
    accepted) or missed. Safe to repeat and to run on every replica."""
    ended_before = now - timedelta(seconds=ctx.settings.submission_grace_s)
    closed = []
    for task_id in await repo.due_to_close(ctx.session, ended_before, limit):
        row = await repo.claim_close(ctx.session, task_id, now)
        if row is None:
            continue
        completed = row["status"] == "completed"
        event = await ctx.outbox.publish(ctx.session, TASK_CLOSED, subject=row["enterprise_uscc"],
                                         data=SelfInspectionTaskClosed(
                                             task_id=task_id, enterprise_uscc=row["enterprise_uscc"],
                                             due_date=row["due_date"], completed=completed, closed_at=now))
        await repo.set_closed_event(ctx.session, task_id, event.id)
        closed.append({"task_id": task_id, "enterprise_uscc": row["enterprise_uscc"], "completed": completed,
                       "event_id": event.id})
    return closed



# --- what verification compares with the links (chain.service.verify) ---------------------------

class SubmissionCheck:
    """Each task_submission link's row is still there with what the link sealed (who, when, where,
    the photos' hashes, the results and flags); and no submission is stored that no link sealed."""

    kind = SUBMISSION

    def __init__(self) -> None:
        self.sealed = 0

    async def check(self, session: Any, uscc: str, links: Sequence[Any]) -> Any:
        held = await repo.submissions_at(session, uscc, [link.sequence for link in links])
        for link in links:
            self.sealed += 1
            row = held.get(link.sequence)
            if row is None or sealed_submission(row) != sealed_submission_of(json.loads(link.payload)):
                return Broken(link.sequence, f"the submission link {link.sequence} sealed was "
                                             f"{'deleted' if row is None else 'edited'}")
        return None

    async def finish(self, session: Any, uscc: str, length: int) -> Any:
        held = await repo.count_submissions(session, uscc)
        if held != self.sealed:
            return Broken(length + 1, f"{held} submissions are stored but the chain sealed {self.sealed}")
        return None


def sealed_submission(row: Any) -> tuple[Any, ...]:
    return (row["id"], row["task_id"], row["submitted_by"], row["operator_id"], row["device_time"].timestamp(),
            row["server_time"].timestamp(), row["lat"], row["lon"], row["gps_accuracy_m"], row["mock_location"],
            row["equipment_id"], row["spot"], list(row["photos"]), list(row["results"]), list(row["flags"]),
            row["note"], row["corrects_id"])


def sealed_submission_of(p: dict[str, Any]) -> tuple[Any, ...]:
    return (p["submission_id"], p["task_id"], p["submitted_by"], p["operator_id"],
            datetime.fromisoformat(p["device_time"]).timestamp(), datetime.fromisoformat(p["server_time"]).timestamp(),
            p["location"]["lat"], p["location"]["lon"], p["gps_accuracy_m"], p["mock_location"], p["equipment_id"],
            p["spot"], p["photos"], p["results"], p["flags"], p["note"], p["corrects_submission_id"])
