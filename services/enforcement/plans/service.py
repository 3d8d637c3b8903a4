"""Supervision plans: generating a jurisdiction's month from the projection and the supervision
policy, keeping it current when a unit's grade or key-supervision status changes, assigning
visits, completing them from patrols, and 双随机 draws.

A plan is created once per (jurisdiction, month); every change to it runs with the plan row
locked (``SELECT … FOR UPDATE``) and bumps its ``revision``; an item is changed with its row
locked and its ``version`` bumped.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.enforcement.access import ensure_reads, ensure_regulates, read_scope
from services.enforcement.context import EnforcementContext
from services.enforcement.domain import sampling
from services.enforcement.domain.supervision import (
    Standing,
    SupervisionGrade,
    SupervisionPolicy,
    Visit,
    month_end,
    sampling_rate,
    supervision_grade,
    visits,
)
from services.enforcement.errors import conflict, field_error, forbidden, not_found
from services.enforcement.models import EnterpriseRow, PlanItem, SamplingDraw, SupervisionPlan
from services.enforcement.plans import repository as repo
from services.enforcement.projection import repository as projection
from services.enforcement.repository import audit
from shared.http.pagination import PageParams, make_page
from shared.locality import in_jurisdiction


@dataclass(frozen=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        return cls(int(text[:4]), int(text[5:7]))

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    def months_after(self, other: Month) -> int:
        return (self.year - other.year) * 12 + self.month - other.month


MAX_MONTHS_AHEAD = 12


def _location(row: Any) -> str | None:
    return row.grid_code or row.jurisdiction_code


# --- generating and updating --------------------------------------------------------------------

async def generate_plan(ctx: EnforcementContext, jurisdiction_code: str, month_text: str) -> SupervisionPlan:
    ensure_regulates(ctx.principal, jurisdiction_code, "generate supervision plans")
    month, current = Month.parse(month_text), Month.of(ctx.today())
    ahead = month.months_after(current)
    if not 0 <= ahead <= MAX_MONTHS_AHEAD:
        raise field_error("month", f"a plan is generated for this month ({current}) or up to {MAX_MONTHS_AHEAD} "
                                   f"months ahead, not {month}")
    policy = ctx.supervision(month.first)
    now = ctx.now()
    plan, created = await repo.create_plan(ctx.session, {
        "id": str(uuid.uuid4()), "jurisdiction_code": jurisdiction_code, "month": str(month),
        "policy_version": policy.version, "generated_at": now, "generated_by": ctx.actor, "updated_at": now,
        "revision": 1})
    if not created:
        raise conflict(f"the plan of {jurisdiction_code} for {month} exists already ({plan.id}); it keeps itself "
                       "current as grades change", plan_id=plan.id)
    units = await repo.population(ctx.session, jurisdiction_code, share_lock=True)
    accidents = await repo.accident_dates(ctx.session, [u.uscc for u in units])
    inspectors = await repo.inspectors_by_grid(ctx.session, jurisdiction_code)
    from_date = ctx.today() if ahead == 0 else None
    wanted = {u.uscc: _wanted(policy, u, accidents.get(u.uscc, ()), month, from_date, ctx.today()) for u in units}
    held = await repo.slots_planned(ctx.session, {v.slot for _, vs in wanted.values() for v in vs if v.periodic},
                                    exclude_plan=plan.id)
    for unit in units:
        standing, planned = wanted[unit.uscc]
        for visit in planned:
            if not (visit.periodic and (unit.uscc, visit.mode, visit.slot) in held):
                _add_item(ctx, plan, unit, visit, standing, inspectors.get(unit.grid_code or "", []))
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="plan.generated", subject=plan.id, detail={
        "jurisdiction_code": jurisdiction_code, "month": str(month), "policy_version": policy.version,
        "units": len(units)})
    return plan


def _wanted(policy: SupervisionPolicy, unit: EnterpriseRow, accident_dates: tuple[date, ...], month: Month,
            from_date: date | None, today: date) -> tuple[SupervisionGrade, list[Visit]]:
    standing = supervision_grade(policy, Standing(unit.uscc, unit.grade, unit.venue_type, unit.key_supervision,
                                                  accident_dates), today)
    return standing, visits(policy, standing.grade, unit.uscc, month.year, month.month, from_date=from_date)


def _add_item(ctx: EnforcementContext, plan: SupervisionPlan, unit: EnterpriseRow, visit: Visit,
              standing: SupervisionGrade, inspectors: list[dict[str, str]]) -> PlanItem:
    now = ctx.now()
    item = PlanItem(
        id=str(uuid.uuid4()), plan_id=plan.id, enterprise_uscc=unit.uscc, jurisdiction_code=unit.jurisdiction_code,
        grid_code=unit.grid_code, mode=visit.mode, slot=visit.slot, frequency=visit.frequency, source="schedule",
        supervision_grade=standing.grade, reasons=list(standing.reasons), due_date=visit.due_date, status="open",
        assignees=list(inspectors), created_at=now, updated_at=now, version=1)
    ctx.session.add(item)
    return item


async def follow_enterprise(ctx: EnforcementContext, uscc: str) -> int:
    """A unit's grade, key supervision or place changed: every plan of this month or later that
    covers it gets the visits it needs now (open scheduled visits it no longer needs are cancelled,
    new ones added; done visits and drawn samples stay). How many items changed."""
    unit = await projection.get_enterprise(ctx.session, uscc)
    if unit is None or unit.revision == 0:
        return 0
    today, location = ctx.today(), _location(unit)
    accidents = (await repo.accident_dates(ctx.session, [uscc])).get(uscc, ())
    total = 0
    holding = await repo.plans_holding(ctx.session, uscc)
    candidates = [p for p in await repo.plans_from(ctx.session, str(Month.of(today)))
                  if p.id in holding or (location and in_jurisdiction(p.jurisdiction_code, location))]
    for candidate in candidates:  # locked one by one, in id order: only the plans this unit touches
        plan = await repo.get_plan(ctx.session, candidate.id, for_update=True)
        assert plan is not None
        covers = bool(location) and unit.operating and in_jurisdiction(plan.jurisdiction_code, location)  # type: ignore[arg-type]
        items = await repo.items_of_plan(ctx.session, plan.id, uscc)
        changed = 0
        month = Month.parse(plan.month)
        policy = ctx.supervision(month.first)
        standing, planned = _wanted(policy, unit, accidents, month,
                                    today if month == Month.of(today) else None, today)
        held = await repo.slots_planned(ctx.session, {v.slot for v in planned if v.periodic}, exclude_plan=plan.id)
        desired = {(v.mode, v.slot): v for v in planned
                   if covers and not (v.periodic and (uscc, v.mode, v.slot) in held)}
        mine = {(i.mode, i.slot): i for i in items}
        for key, item in mine.items():
            if item.status == "open" and item.source == "schedule" and key not in desired:
                _cancel(ctx, item, f"no longer needed: {'; '.join(standing.reasons)}" if covers
                        else "the unit left this plan's jurisdiction or stopped operating")
                changed += 1
            elif item.status == "open" and key in desired and item.supervision_grade != standing.grade:
                item.supervision_grade, item.reasons = standing.grade, list(standing.reasons)
                _touch(ctx, item)
        inspectors = (await repo.inspectors_by_grid(ctx.session, unit.grid_code)).get(unit.grid_code or "", []) \
            if unit.grid_code else []
        for key, visit in desired.items():
            if key not in mine:
                _add_item(ctx, plan, unit, visit, standing, inspectors)
                changed += 1
            elif mine[key].status == "cancelled":  # needed again: reopen it
                mine[key].status, mine[key].cancelled_reason = "open", None
                mine[key].supervision_grade, mine[key].reasons = standing.grade, list(standing.reasons)
                _touch(ctx, mine[key])
                changed += 1
        if changed:
            plan.revision += 1
            plan.updated_at = ctx.now()
        total += changed
    await ctx.session.flush()
    return total


def _cancel(ctx: EnforcementContext, item: PlanItem, reason: str) -> None:
    item.status, item.cancelled_reason = "cancelled", reason[:500]
    _touch(ctx, item)


def _touch(ctx: EnforcementContext, item: PlanItem) -> None:
    item.updated_at = ctx.now()
    item.version += 1


# --- assigning and completing -------------------------------------------------------------------

async def assign(ctx: EnforcementContext, item_id: str, assignees: list[dict[str, str]]) -> PlanItem:
    item = await repo.get_item(ctx.session, item_id, for_update=True)
    if item is None:
        raise not_found("plan item", item_id)
    ensure_regulates(ctx.principal, _location(item), "assign plan items")
    if item.status != "open":
        raise conflict(f"plan item {item_id} is {item.status}; only open items are assigned")
    minimum = ctx.supervision(item.due_date).inspection.min_inspectors
    if item.mode == "onsite" and len({a["id"] for a in assignees}) < minimum:
        raise field_error("assignees", f"an on-site inspection needs at least {minimum} different inspectors")
    item.assignees = assignees
    _touch(ctx, item)
    await audit(ctx.session, actor=ctx.actor, action="plan_item.assigned", subject=item.id,
                detail={"assignees": assignees})
    await ctx.session.flush()
    return item


async def complete_visit(ctx: EnforcementContext, uscc: str, mode: str, day: date, patrol_id: str,
                         item_id: str | None) -> PlanItem | None:
    """A completed patrol fulfils the visit it names, else the open one of its mode due soonest."""
    item = await repo.get_item(ctx.session, item_id, for_update=True) if item_id else \
        await repo.open_item_for(ctx.session, uscc, mode, day)
    if item is None or item.status != "open":
        return None
    item.status, item.patrol_id, item.completed_at = "done", patrol_id, ctx.now()
    _touch(ctx, item)
    plan = await repo.get_plan(ctx.session, item.plan_id, for_update=True)
    if plan is not None:
        plan.revision += 1
        plan.updated_at = ctx.now()
    await ctx.session.flush()
    return item


async def check_plan_item(ctx: EnforcementContext, item_id: str, uscc: str, mode: str) -> None:
    """A patrol that names a plan item must be that item's unit and mode, and the item open."""
    item = await repo.get_item(ctx.session, item_id)
    if item is None:
        raise field_error("plan_item_id", f"no plan item {item_id}")
    if (item.enterprise_uscc, item.mode) != (uscc, mode):
        raise field_error("plan_item_id", f"plan item {item_id} is a {item.mode} visit of {item.enterprise_uscc}")
    if item.status != "open":
        raise field_error("plan_item_id", f"plan item {item_id} is {item.status}")


# --- 双随机 draws --------------------------------------------------------------------------------

async def draw(ctx: EnforcementContext, plan_id: str, rates: dict[str, float] | None, per_unit: int | None,
               inspectors: list[dict[str, str]] | None, seed: str | None) -> SamplingDraw:
    plan = await repo.get_plan(ctx.session, plan_id, for_update=True)
    if plan is None:
        raise not_found("plan", plan_id)
    ensure_regulates(ctx.principal, plan.jurisdiction_code, "draw samples for this plan")
    month = Month.parse(plan.month)
    policy = ctx.supervision(month.first)
    per_unit = per_unit or policy.inspection.min_inspectors
    if per_unit < policy.inspection.min_inspectors:
        raise field_error("inspectors_per_unit", f"an on-site inspection needs at least "
                                                 f"{policy.inspection.min_inspectors} inspectors")
    unknown = sorted(set(rates or {}) - set(policy.sampling))
    if unknown:
        raise field_error("rates", f"grades {unknown} are not sampled under {policy.version}; sampled: "
                                   f"{sorted(policy.sampling)}")
    published: dict[str, str] = {}
    for grade in sorted(policy.sampling):
        try:
            published[grade] = str(sampling_rate(policy, grade, (rates or {}).get(grade)))
        except ValueError as exc:
            raise field_error(f"rates.{grade}", str(exc)) from exc
    units = await repo.population(ctx.session, plan.jurisdiction_code)
    accidents = await repo.accident_dates(ctx.session, [u.uscc for u in units])
    strata: dict[str, list[str]] = {g: [] for g in published}
    for unit in units:
        grade = supervision_grade(policy, Standing(unit.uscc, unit.grade, unit.venue_type, unit.key_supervision,
                                                   accidents.get(unit.uscc, ())), ctx.today()).grade
        if grade in strata:
            strata[grade].append(unit.uscc)
    if inspectors is None:
        pool = {i["id"]: i for people in (await repo.inspectors_by_grid(ctx.session, plan.jurisdiction_code)).values()
                for i in people}
    else:
        pool = {i["id"]: i for i in inspectors}
    people = [pool[k] for k in sorted(pool)]
    if len(people) < per_unit:
        raise field_error("inspectors", f"the inspector list holds {len(people)}; each unit needs {per_unit}")
    seed = seed or secrets.token_hex(32)
    drawn = sampling.draw(seed, {g: sorted(u) for g, u in strata.items()}, published, [p["id"] for p in people],
                          per_unit)
    row = SamplingDraw(
        id=str(uuid.uuid4()), plan_id=plan.id, jurisdiction_code=plan.jurisdiction_code, algorithm=sampling.ALGORITHM,
        seed=seed, rates=published, inspectors_per_unit=per_unit, units={g: sorted(u) for g, u in strata.items()},
        inspectors=people, sample=[{"enterprise_uscc": d.uscc, "stratum": d.stratum, "rank_hash": d.rank_hash,
                                    "inspectors": list(d.inspectors)} for d in drawn],
        drawn_at=ctx.now(), drawn_by=ctx.actor)
    ctx.session.add(row)
    by_uscc = {u.uscc: u for u in units}
    for d in drawn:
        unit = by_uscc[d.uscc]
        visit = Visit("onsite", f"S:{row.id}", month_end(month.year, month.month), "none")
        item = _add_item(ctx, plan, unit, visit, SupervisionGrade(d.stratum, (f"drawn at random ({d.stratum})",)),  # type: ignore[arg-type]
                         [pool[i] for i in d.inspectors])
        item.source, item.frequency, item.draw_id = "sampling", "sampling", row.id
    plan.revision += 1
    plan.updated_at = ctx.now()
    await ctx.session.flush()
    await audit(ctx.session, actor=ctx.actor, action="sampling.drawn", subject=row.id, detail={
        "plan_id": plan.id, "seed": seed, "rates": published, "drawn": [d.uscc for d in drawn],
        "population": {g: len(u) for g, u in strata.items()}, "inspectors": len(people)})
    return row


# --- reads --------------------------------------------------------------------------------------

def _plan_visible(ctx: EnforcementContext, plan: SupervisionPlan) -> str | None:
    """The node the caller reads the plan through (None: all of it); 403 when it sees none of it."""
    scope = read_scope(ctx.principal, "supervision plans", enterprise_reads=False)
    if scope.node is None:
        return None
    if in_jurisdiction(scope.node, plan.jurisdiction_code):
        return None
    if in_jurisdiction(plan.jurisdiction_code, scope.node):
        return scope.node  # a grid's or township's share of a district plan
    raise forbidden("this plan lies outside your jurisdiction")


async def list_plans(ctx: EnforcementContext, filters: dict[str, Any], params: PageParams,
                     after: Any) -> dict[str, Any]:
    scope = read_scope(ctx.principal, "supervision plans", enterprise_reads=False)
    asked = filters.get("jurisdiction")
    if asked and scope.node and not (in_jurisdiction(scope.node, asked) or in_jurisdiction(asked, scope.node)):
        raise forbidden(f"jurisdiction {asked} lies outside yours ({scope.node})")
    rows = await repo.search_plans(ctx.session, scope.node, filters, limit=params.limit, after=after)
    return make_page(rows, params, lambda p: [p.generated_at.isoformat(), p.id])


async def read_plan(ctx: EnforcementContext, plan_id: str) -> tuple[SupervisionPlan, list[tuple[Any, ...]]]:
    plan = await repo.get_plan(ctx.session, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    node = _plan_visible(ctx, plan)
    return plan, await repo.completion(ctx.session, plan_id, node)


async def list_items(ctx: EnforcementContext, plan_id: str, filters: dict[str, Any], params: PageParams,
                     after: Any) -> dict[str, Any]:
    plan = await repo.get_plan(ctx.session, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    node = _plan_visible(ctx, plan)
    if filters.get("grid") and node and not in_jurisdiction(node, filters["grid"]):
        raise forbidden(f"grid {filters['grid']} lies outside your jurisdiction ({node})")
    rows = await repo.search_items(ctx.session, plan_id, node, filters, limit=params.limit, after=after)
    return make_page(rows, params, lambda i: [i.created_at.isoformat(), i.id])


async def read_item(ctx: EnforcementContext, item_id: str) -> PlanItem:
    item = await repo.get_item(ctx.session, item_id)
    if item is None:
        raise not_found("plan item", item_id)
    ensure_reads(ctx.principal, "plan item", _location(item), enterprise_reads=False)
    return item


async def read_draw(ctx: EnforcementContext, draw_id: str) -> SamplingDraw:
    """Published (一公开): anyone may read a draw and check it."""
    row = await repo.get_draw(ctx.session, draw_id)
    if row is None:
        raise not_found("draw", draw_id)
    return row


async def list_draws(ctx: EnforcementContext, plan_id: str, params: PageParams, after: Any) -> dict[str, Any]:
    plan = await repo.get_plan(ctx.session, plan_id)
    if plan is None:
        raise not_found("plan", plan_id)
    _plan_visible(ctx, plan)
    rows = await repo.draws_of(ctx.session, plan_id, limit=params.limit, after=after)
    return make_page(rows, params, lambda d: [d.drawn_at.isoformat(), d.id])
