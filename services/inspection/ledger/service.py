"""The ledger projection (投影) of registry events: what inspection knows of enterprises, their
equipment, gas cylinders and operators (never registry's tables); and the closed days declared
against it. Handlers record one event each; snapshots apply when newer than what is held."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.engine import RowMapping

from services.inspection.context import InspectionContext
from services.inspection.cutoffs import service as cutoffs
from services.inspection.domain import closures
from services.inspection.domain.cutoff import is_filling_unit
from services.inspection.errors import not_allowed_now, not_found
from services.inspection.ledger import repository as repo
from services.inspection.repository import audit
from shared.contracts.registry import (
    EnterpriseSnapshot,
    EquipmentSnapshot,
    GasCylinderSnapshot,
    LedgerItemRemoved,
    OperatorSnapshot,
)
from shared.http.pagination import PageParams, make_page

# --- the projection (consumers.py wires these) -------------------------------------------------


async def record_enterprise(ctx: InspectionContext, snapshot: EnterpriseSnapshot, event_id: str) -> None:
    await repo.save_enterprise(ctx.session, {
        "uscc": snapshot.uscc, "revision": snapshot.revision, "name": snapshot.name,
        "jurisdiction_code": snapshot.jurisdiction_code, "grid_code": snapshot.grid_code,
        "kinds": list(snapshot.kinds), "filling_unit": is_filling_unit(snapshot.kinds),
        "operating": snapshot.operating and snapshot.operating_status == "operating",
        "operating_status": snapshot.operating_status, "location": snapshot.location,
        "first_seen_at": ctx.now(), "event_id": event_id})


async def record_equipment(ctx: InspectionContext, snapshot: EquipmentSnapshot, event_id: str) -> None:
    await repo.save_equipment(ctx.session, {
        "uscc": snapshot.uscc, "equipment_id": snapshot.equipment_id, "revision": snapshot.revision,
        "category": snapshot.category, "registration_no": snapshot.registration_no, "status": snapshot.status,
        "next_inspection_due": snapshot.next_inspection_due, "first_seen_at": ctx.now(), "event_id": event_id})


async def record_cylinder(ctx: InspectionContext, snapshot: GasCylinderSnapshot, event_id: str) -> None:
    await repo.save_cylinder(ctx.session, {
        "uscc": snapshot.uscc, "cylinder_id": snapshot.cylinder_id, "cylinder_no": snapshot.cylinder_no,
        "revision": snapshot.revision, "medium": snapshot.medium,
        "next_inspection_date": snapshot.next_inspection_date, "scrap_date": snapshot.scrap_date,
        "status": snapshot.status, "event_id": event_id})


async def record_operator(ctx: InspectionContext, snapshot: OperatorSnapshot, event_id: str) -> None:
    await repo.save_operator(ctx.session, {
        "uscc": snapshot.uscc, "operator_id": snapshot.operator_id, "revision": snapshot.revision,
        "certificate_no": snapshot.certificate_no, "certificate_valid_until": snapshot.certificate_valid_until,
        "active": snapshot.active, "event_id": event_id})


def removal(kind: str):  # type: ignore[no-untyped-def]
    """The handler of an item leaving an enterprise: keyed by (uscc, item id), the row goes
    unless what is held is newer than the removal (it came back since)."""

    async def record_removed(ctx: InspectionContext, removed: LedgerItemRemoved, event_id: str) -> None:
        await repo.delete_item(ctx.session, kind, removed.uscc, removed.item_id, removed.revision)

    return record_removed


# --- closed days ------------------------------------------------------------------------------


def closed_day_out(row: RowMapping | dict[str, Any]) -> dict[str, Any]:
    return {"enterprise_uscc": row["uscc"], "date": row["business_date"], "reason": row["reason"],
            "declared_by": row["declared_by"], "declared_by_role": row["declared_by_role"],
            "declared_at": row["declared_at"], "cancelled_at": row["cancelled_at"],
            "cancelled_by": row["cancelled_by"]}


async def declare_closed_day(ctx: InspectionContext, enterprise: RowMapping, day: date,
                             reason: str) -> tuple[dict[str, Any], bool]:
    """Declare ``day`` closed (the caller's right to do so for this enterprise was checked);
    (the closure, whether it is new). Declaring an open closure again changes nothing. An
    enterprise declares before its city's cut-off time; a closure of a day the cut-off already
    found missing withdraws that finding (once)."""
    principal, now = ctx.principal, ctx.now()
    held = await repo.get_closed_day(ctx.session, enterprise["uscc"], day, lock=True)
    if held is not None and held["cancelled_at"] is None:
        return closed_day_out(held), False
    cutoff_at = ctx.settings.cutoff_time_for(enterprise["jurisdiction_code"])
    refusal = (closures.enterprise_may_declare(day, now, cutoff_at) if principal.role == "enterprise"
               else closures.regulator_may_record(day, ctx.today()))
    if refusal:
        raise not_allowed_now(refusal)
    values = {"uscc": enterprise["uscc"], "business_date": day, "reason": reason, "declared_by": principal.sub,
              "declared_by_role": "enterprise" if principal.role == "enterprise" else "regulator",
              "declared_at": now, "cancelled_at": None, "cancelled_by": None}
    await repo.save_closed_day(ctx.session, values)
    await audit(ctx.session, actor=ctx.actor, action="closed_day.declared", subject=enterprise["uscc"],
                detail={"date": day.isoformat(), "reason": reason})
    await cutoffs.withdraw_for_closure(ctx, enterprise["uscc"], day)
    return closed_day_out(values), True


async def cancel_closed_day(ctx: InspectionContext, enterprise: RowMapping, day: date) -> None:
    held = await repo.get_closed_day(ctx.session, enterprise["uscc"], day, lock=True)
    if held is None or held["cancelled_at"] is not None:
        raise not_found("closed day", f"{day} of {enterprise['uscc']}")
    if ctx.principal.role == "enterprise":
        refusal = closures.enterprise_may_cancel(held["declared_by_role"], day, ctx.now(),
                                                 ctx.settings.cutoff_time_for(enterprise["jurisdiction_code"]))
        if refusal:
            raise not_allowed_now(refusal)
    await repo.cancel_closed_day(ctx.session, enterprise["uscc"], day, ctx.now(), ctx.actor)
    await audit(ctx.session, actor=ctx.actor, action="closed_day.cancelled", subject=enterprise["uscc"],
                detail={"date": day.isoformat()})


async def list_closed_days(ctx: InspectionContext, uscc: str, start: date | None, end: date | None,
                           page: PageParams, after: date | None, include_cancelled: bool) -> dict[str, Any]:
    rows = await repo.list_closed_days(ctx.session, uscc, start, end, after, page.limit + 1, include_cancelled)
    return make_page(rows, page, lambda r: [r["business_date"].isoformat()], closed_day_out)
