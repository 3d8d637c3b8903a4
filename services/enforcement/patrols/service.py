"""332211 patrols (巡查): start one (online, or on site with at least two inspectors), mark the
12 items one by one with notes and photo references, complete it (``patrol.completed`` in the
same transaction, which scoring turns into the score at once, and the planned visit it fulfils
done), and follow a failed item with a finding, an order to correct or a case.

A patrol is changed with its row locked and its ``version`` bumped; a completed patrol is final.
"""

from __future__ import annotations

import uuid
from typing import Any

from services.enforcement import events
from services.enforcement.access import Scope, ensure_reads, ensure_regulates, read_scope
from services.enforcement.alerts import repository as alerts_repo
from services.enforcement.alerts import service as alerts
from services.enforcement.cases import service as cases
from services.enforcement.context import EnforcementContext
from services.enforcement.domain import checklist
from services.enforcement.errors import conflict, field_error, forbidden, not_found
from services.enforcement.models import Finding, Patrol, PatrolMark
from services.enforcement.patrols import repository as repo
from services.enforcement.plans import service as plans
from services.enforcement.projection import repository as projection
from services.enforcement.repository import audit
from shared.contracts.enforcement import PATROL_COMPLETED
from shared.http.pagination import PageParams, make_page
from shared.locality import in_jurisdiction


async def known_enterprise(ctx: EnforcementContext, uscc: str, field_name: str = "enterprise_uscc") -> Any:
    """The enterprise as registry last described it; a 422 when enforcement never heard of it."""
    row = await projection.get_enterprise(ctx.session, uscc)
    if row is None or row.revision == 0:
        raise field_error(field_name, f"no enterprise {uscc} is known to enforcement (registry has not published it)")
    return row


async def start(ctx: EnforcementContext, uscc: str, mode: str, inspectors: list[dict[str, str]],
                plan_item_id: str | None, alert_id: str | None) -> Patrol:
    unit = await known_enterprise(ctx, uscc)
    location = unit.grid_code or unit.jurisdiction_code
    ensure_regulates(ctx.principal, location, "patrol this enterprise")
    minimum = ctx.supervision().inspection.min_inspectors
    if mode == "onsite" and len({i["id"] for i in inspectors}) < minimum:
        raise field_error("inspectors", f"an on-site inspection needs at least {minimum} different inspectors")
    if plan_item_id:
        await plans.check_plan_item(ctx, plan_item_id, uscc, mode)
    if alert_id:
        alert = await alerts_repo.get(ctx.session, alert_id)
        if alert is None or alert.enterprise_uscc != uscc:
            raise field_error("alert_id", f"no alert {alert_id} of enterprise {uscc}")
    now = ctx.now()
    patrol = Patrol(id=str(uuid.uuid4()), enterprise_uscc=uscc, jurisdiction_code=unit.jurisdiction_code,
                    grid_code=unit.grid_code, location_code=location, mode=mode, status="in_progress",
                    inspectors=inspectors, plan_item_id=plan_item_id, alert_id=alert_id, started_at=now,
                    started_by=ctx.actor, version=1)
    ctx.session.add(patrol)
    await ctx.session.flush()
    return patrol


async def _locked(ctx: EnforcementContext, patrol_id: str, verb: str) -> Patrol:
    patrol = await repo.get(ctx.session, patrol_id, for_update=True)
    if patrol is None:
        raise not_found("patrol", patrol_id)
    ensure_regulates(ctx.principal, patrol.location_code, verb)
    return patrol


async def mark_item(ctx: EnforcementContext, patrol_id: str, item: int, mark: str, note: str | None,
                    photos: list[str]) -> tuple[Patrol, PatrolMark]:
    """Mark one item (again, while the patrol is in progress: the latest mark counts)."""
    patrol = await _locked(ctx, patrol_id, "mark this patrol")
    if patrol.status != "in_progress":
        raise conflict(f"patrol {patrol_id} is {patrol.status}; its marks are final")
    if mark == "fail" and not note:
        raise field_error("note", "a failed item needs a note saying what was found")
    row = await repo.mark(ctx.session, patrol_id, item)
    if row is None:
        row = PatrolMark(patrol_id=patrol_id, item=item)
        ctx.session.add(row)
    row.mark, row.note, row.photos, row.marked_at, row.marked_by = mark, note, photos, ctx.now(), ctx.actor
    patrol.version += 1
    await ctx.session.flush()
    return patrol, row


async def complete(ctx: EnforcementContext, patrol_id: str, summary: str | None) -> Patrol:
    patrol = await _locked(ctx, patrol_id, "complete this patrol")
    if patrol.status != "in_progress":
        raise conflict(f"patrol {patrol_id} is {patrol.status} already")
    marks = await repo.marks(ctx.session, patrol_id)
    missing = checklist.unmarked({m.item: m.mark for m in marks})
    if missing:
        raise field_error("items", f"every item of the 332211 checklist needs its mark; unmarked: {missing}")
    patrol.status, patrol.completed_at, patrol.summary = "completed", ctx.now(), summary
    patrol.version += 1
    await ctx.session.flush()
    await ctx.outbox.publish(ctx.session, PATROL_COMPLETED, subject=patrol.enterprise_uscc,
                             data=events.patrol_completed(patrol, marks))
    visit = await plans.complete_visit(ctx, patrol.enterprise_uscc, patrol.mode, ctx.today(), patrol.id,
                                       patrol.plan_item_id)
    failed = checklist.failed({m.item: m.mark for m in marks})
    if patrol.alert_id:
        await alerts.patrolled(ctx, patrol.alert_id, patrol.id, failed)
    await audit(ctx.session, actor=ctx.actor, action="patrol.completed", subject=patrol.id, detail={
        "enterprise_uscc": patrol.enterprise_uscc, "failed": failed, "plan_item_id": visit.id if visit else None})
    return patrol


async def add_finding(ctx: EnforcementContext, patrol_id: str, item: int, note: str,
                      order: dict[str, Any] | None, case: dict[str, Any] | None) -> Finding:
    """A failed item's finding, and the order to correct or the case it opens, together."""
    patrol = await _locked(ctx, patrol_id, "record findings of this patrol")
    row = await repo.mark(ctx.session, patrol_id, item)
    if row is None or row.mark != "fail":
        raise field_error("item", f"item {item} is not marked failed in patrol {patrol_id}")
    finding = Finding(id=str(uuid.uuid4()), patrol_id=patrol_id, enterprise_uscc=patrol.enterprise_uscc, item=item,
                      note=note, created_at=ctx.now(), created_by=ctx.actor)
    ctx.session.add(finding)
    await ctx.session.flush()
    if case is not None:
        opened = await cases.open_case(ctx, patrol.enterprise_uscc, case["offence_code"], "finding", finding.id,
                                       case.get("summary") or note, field_prefix="case.")
        finding.case_id = opened.id
    if order is not None:
        issued = await cases.issue_order(ctx, patrol.enterprise_uscc, order.get("requirement") or note,
                                         order["deadline_date"], case_id=finding.case_id, finding_id=finding.id,
                                         field_prefix="order.")
        finding.order_id = issued.id
    await ctx.session.flush()
    return finding


# --- reads --------------------------------------------------------------------------------------

async def list_patrols(ctx: EnforcementContext, filters: dict[str, Any], params: PageParams,
                       after: Any) -> dict[str, Any]:
    scope: Scope = read_scope(ctx.principal, "patrols", enterprise_reads=True)
    if filters.get("jurisdiction") and scope.node and not in_jurisdiction(scope.node, filters["jurisdiction"]):
        raise forbidden(f"jurisdiction {filters['jurisdiction']} lies outside yours ({scope.node})")
    rows = await repo.search(ctx.session, scope, filters, limit=params.limit, after=after)
    return make_page(rows, params, lambda p: [p.started_at.isoformat(), p.id])


async def read_patrol(ctx: EnforcementContext, patrol_id: str) -> tuple[Patrol, list[PatrolMark], list[Finding]]:
    patrol = await repo.get(ctx.session, patrol_id)
    if patrol is None:
        raise not_found("patrol", patrol_id)
    ensure_reads(ctx.principal, "patrol", patrol.location_code, patrol.enterprise_uscc)
    return patrol, await repo.marks(ctx.session, patrol_id), await repo.findings(ctx.session, patrol_id)
