"""Use cases of an enterprise's equipment ledger (台账): special equipment and its periodic
inspections, gas cylinders, operators. Same rules as ``enterprises.service``: ``fn(ctx, ...)``,
flush, never commit; every row changed is read ``FOR UPDATE`` first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.exc import IntegrityError

from services.registry import access
from services.registry.context import RegistryContext
from services.registry.domain.dates import future_violation, order_violation
from services.registry.domain.equipment import equipment_violations, status_change_violation
from services.registry.domain.operators import hash_id_number, operator_violations
from services.registry.domain.violations import Violation
from services.registry.enterprises.service import get_enterprise, read_enterprise
from services.registry.equipment import repository as repo
from services.registry.equipment.schemas import (
    CylinderBatch,
    CylinderIn,
    EquipmentCreate,
    EquipmentPatch,
    InspectionCreate,
    OperatorCreate,
    OperatorPatch,
    UpsertCounts,
)
from services.registry.errors import duplicate, invalid, not_found
from services.registry.events import cylinder_snapshot, equipment_snapshot, operator_snapshot
from services.registry.models import Enterprise, Equipment, EquipmentInspection, GasCylinder, Operator
from shared.contracts.registry import (
    EQUIPMENT_INSPECTED,
    EQUIPMENT_REGISTERED,
    EQUIPMENT_UPDATED,
    GAS_CYLINDER_REGISTERED,
    GAS_CYLINDER_UPDATED,
    OPERATOR_REGISTERED,
    OPERATOR_UPDATED,
)
from shared.contracts.vocabulary import CYLINDER_CATEGORY
from shared.http.preconditions import require_if_match


def _raise_if(violations: Iterable[Violation | None]) -> None:
    found = [v for v in violations if v is not None]
    if found:
        raise invalid(found)


async def _ledger_of(ctx: RegistryContext, uscc: str) -> Enterprise:
    enterprise = await get_enterprise(ctx, uscc)
    access.ensure_can_keep_ledger(ctx.principal, uscc, enterprise.division_code)
    return enterprise


def _changed(row: Any, values: dict[str, Any]) -> bool:
    """Apply ``values`` to ``row``; True when any of them differed."""
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return changed


# --- equipment ---------------------------------------------------------------------------------

async def _ensure_unique_equipment(ctx: RegistryContext, uscc: str, registration_no: str | None,
                                   equipment_code: str | None, exclude_id: str | None = None) -> None:
    if registration_no:
        holder = await repo.equipment_by_registration_no(ctx.session, registration_no)
        if holder is not None and holder.id != exclude_id:
            raise duplicate("registration_no", registration_no)
    if equipment_code:
        holder = await repo.equipment_by_code(ctx.session, uscc, equipment_code)
        if holder is not None and holder.id != exclude_id:
            raise duplicate("equipment_code", equipment_code, owner=f"equipment {holder.id}")


async def register_equipment(ctx: RegistryContext, uscc: str, data: EquipmentCreate) -> Equipment:
    await _ledger_of(ctx, uscc)
    values = data.model_dump()
    _raise_if(equipment_violations(values, ctx.today()))
    await _ensure_unique_equipment(ctx, uscc, data.registration_no, data.equipment_code)
    row = Equipment(uscc=uscc, revision=1, **{k: v for k, v in values.items() if k != "safety_accessories"},
                    safety_accessories=[a.model_dump(mode="json") for a in data.safety_accessories])
    ctx.session.add(row)
    try:
        await ctx.session.flush()
    except IntegrityError as exc:  # a concurrent registration took the number first
        raise duplicate("registration_no", data.registration_no or "") from exc
    await ctx.outbox.publish(ctx.session, EQUIPMENT_REGISTERED, subject=uscc, data=equipment_snapshot(row))
    return row


async def read_equipment(ctx: RegistryContext, equipment_id: str, *, for_update: bool = False) -> Equipment:
    row = await repo.get_equipment(ctx.session, equipment_id, for_update=for_update)
    if row is None:
        raise not_found("equipment", equipment_id)
    await read_enterprise(ctx, row.uscc)
    return row


async def update_equipment(ctx: RegistryContext, equipment_id: str, patch: EquipmentPatch,
                           if_match: str | None) -> Equipment:
    row = await read_equipment(ctx, equipment_id, for_update=True)
    await _ledger_of(ctx, row.uscc)
    require_if_match(if_match, row.revision)
    values = {name: getattr(patch, name) for name in patch.model_fields_set}
    if "safety_accessories" in values:
        values["safety_accessories"] = [a.model_dump(mode="json") for a in patch.safety_accessories or []]
    merged = {"last_inspection_date": row.last_inspection_date, "next_inspection_due": row.next_inspection_due,
              **values}
    _raise_if([*equipment_violations(merged, ctx.today()),
               status_change_violation(row.status, values["status"]) if "status" in values else None])
    await _ensure_unique_equipment(ctx, row.uscc, values.get("registration_no"), values.get("equipment_code"),
                                   exclude_id=row.id)
    if not _changed(row, values):
        return row
    row.revision += 1
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        raise duplicate("registration_no", row.registration_no or "") from exc
    await ctx.outbox.publish(ctx.session, EQUIPMENT_UPDATED, subject=row.uscc, data=equipment_snapshot(row))
    return row


async def record_inspection(ctx: RegistryContext, equipment_id: str, data: InspectionCreate) -> EquipmentInspection:
    """A periodic inspection (定期检验): its next due date becomes the unit's. A report older
    than the last one recorded joins the history without moving the unit's dates."""
    row = await read_equipment(ctx, equipment_id, for_update=True)
    await _ledger_of(ctx, row.uscc)
    _raise_if([
        future_violation(data.inspected_date, ctx.today(), "inspected_date"),
        Violation("next_due_date", "required unless the unit failed the inspection")
        if data.next_due_date is None and data.result != "failed" else None,
        order_violation(data.inspected_date, data.next_due_date, "inspected_date", "next_due_date"),
    ])
    inspection = EquipmentInspection(equipment_id=row.id, recorded_by=ctx.actor, **data.model_dump())
    ctx.session.add(inspection)
    if row.last_inspection_date is None or data.inspected_date >= row.last_inspection_date:
        row.last_inspection_date, row.last_inspection_result = data.inspected_date, data.result
        if data.next_due_date is not None:
            row.next_inspection_due = data.next_due_date
        row.revision += 1
        await ctx.session.flush()
        await ctx.outbox.publish(ctx.session, EQUIPMENT_INSPECTED, subject=row.uscc, data=equipment_snapshot(row))
    await ctx.session.flush()
    return inspection


async def list_equipment(ctx: RegistryContext, uscc: str, *, limit: int, after: str | None, category: str | None,
                         status: str | None) -> list[Equipment]:
    await read_enterprise(ctx, uscc)
    return list(await repo.list_equipment(ctx.session, uscc, limit=limit, after=after, category=category,
                                          status=status))


async def list_inspections(ctx: RegistryContext, equipment_id: str) -> list[EquipmentInspection]:
    await read_equipment(ctx, equipment_id)
    return list(await repo.inspections_of(ctx.session, equipment_id))


# --- gas cylinders -----------------------------------------------------------------------------

def cylinder_violations(item: CylinderIn, prefix: str, today: Any) -> list[Violation | None]:
    return [
        future_violation(item.manufactured_date, today, f"{prefix}.manufactured_date"),
        order_violation(item.manufactured_date, item.next_inspection_date, "manufactured_date",
                        f"{prefix}.next_inspection_date"),
        order_violation(item.manufactured_date, item.scrap_date, "manufactured_date", f"{prefix}.scrap_date"),
    ]


async def upsert_cylinders(ctx: RegistryContext, uscc: str, batch: CylinderBatch) -> UpsertCounts:
    """Register or update a filling unit's cylinders by number, all or nothing; an unchanged
    cylinder publishes nothing."""
    await _ledger_of(ctx, uscc)
    violations: list[Violation | None] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(batch.cylinders):
        prefix = f"cylinders.{index}"
        violations.extend(cylinder_violations(item, prefix, ctx.today()))
        if item.cylinder_no in seen:
            violations.append(Violation(f"{prefix}.cylinder_no", f"repeats cylinders.{seen[item.cylinder_no]}"))
        seen.setdefault(item.cylinder_no, index)
        if item.equipment_id is not None:
            equipment = await repo.get_equipment(ctx.session, item.equipment_id)
            if equipment is None or equipment.uscc != uscc or equipment.category != CYLINDER_CATEGORY:
                violations.append(Violation(f"{prefix}.equipment_id",
                                            "not a gas-cylinder (2300) registration of this enterprise"))
    _raise_if(violations)
    existing = await repo.cylinders_by_number(ctx.session, uscc, list(seen), for_update=True)
    counts = UpsertCounts()
    for item in batch.cylinders:
        values = item.model_dump()
        row = existing.get(item.cylinder_no)
        if row is None:
            row = GasCylinder(uscc=uscc, revision=1, **values)
            ctx.session.add(row)
            try:
                await ctx.session.flush()
            except IntegrityError as exc:  # a concurrent batch registered the number first
                raise duplicate("cylinder_no", item.cylinder_no, owner=uscc) from exc
            await ctx.outbox.publish(ctx.session, GAS_CYLINDER_REGISTERED, subject=uscc, data=cylinder_snapshot(row))
            counts.inserted += 1
        elif _changed(row, values):
            row.revision += 1
            await ctx.session.flush()
            await ctx.outbox.publish(ctx.session, GAS_CYLINDER_UPDATED, subject=uscc, data=cylinder_snapshot(row))
            counts.updated += 1
        else:
            counts.unchanged += 1
    return counts


async def list_cylinders(ctx: RegistryContext, uscc: str, *, limit: int, after: str | None,
                         inspection_due_before: Any = None) -> list[GasCylinder]:
    await read_enterprise(ctx, uscc)
    return list(await repo.list_cylinders(ctx.session, uscc, limit=limit, after=after,
                                          inspection_due_before=inspection_due_before))


async def read_cylinder(ctx: RegistryContext, uscc: str, cylinder_no: str) -> GasCylinder:
    await read_enterprise(ctx, uscc)
    row = (await repo.cylinders_by_number(ctx.session, uscc, [cylinder_no])).get(cylinder_no)
    if row is None:
        raise not_found("cylinder", f"{cylinder_no} of {uscc}")
    return row


# --- operators ---------------------------------------------------------------------------------

async def _ensure_unique_certificate(ctx: RegistryContext, certificate_no: str | None,
                                     exclude_id: str | None = None) -> None:
    if certificate_no:
        holder = await repo.operator_by_certificate_no(ctx.session, certificate_no)
        if holder is not None and holder.id != exclude_id:
            raise duplicate("certificate_no", certificate_no)


def _operator_columns(values: dict[str, Any], id_hash_key: str) -> dict[str, Any]:
    columns = {k: v for k, v in values.items() if k != "id_number"}
    if "id_number" in values:
        columns["id_number_hash"] = hash_id_number(values["id_number"], id_hash_key) if values["id_number"] else None
    return columns


async def register_operator(ctx: RegistryContext, uscc: str, data: OperatorCreate) -> Operator:
    await _ledger_of(ctx, uscc)
    values = data.model_dump()
    _raise_if(operator_violations(values, ctx.today()))
    await _ensure_unique_certificate(ctx, data.certificate_no)
    row = Operator(uscc=uscc, revision=1, **_operator_columns(values, ctx.settings.id_hash_key))
    ctx.session.add(row)
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        raise duplicate("certificate_no", data.certificate_no or "") from exc
    await ctx.outbox.publish(ctx.session, OPERATOR_REGISTERED, subject=uscc, data=operator_snapshot(row))
    return row


async def read_operator(ctx: RegistryContext, operator_id: str, *, for_update: bool = False) -> Operator:
    row = await repo.get_operator(ctx.session, operator_id, for_update=for_update)
    if row is None:
        raise not_found("operator", operator_id)
    await read_enterprise(ctx, row.uscc)
    return row


async def update_operator(ctx: RegistryContext, operator_id: str, patch: OperatorPatch,
                          if_match: str | None) -> Operator:
    row = await read_operator(ctx, operator_id, for_update=True)
    await _ledger_of(ctx, row.uscc)
    require_if_match(if_match, row.revision)
    values = {name: getattr(patch, name) for name in patch.model_fields_set}
    merged = {"certificate_no": row.certificate_no, "certificate_category": row.certificate_category,
              "certificate_issued_date": row.certificate_issued_date,
              "certificate_valid_until": row.certificate_valid_until, **values}
    if "id_number" not in values:
        merged.pop("id_number", None)
    _raise_if(operator_violations(merged, ctx.today()))
    await _ensure_unique_certificate(ctx, values.get("certificate_no"), exclude_id=row.id)
    if not _changed(row, _operator_columns(values, ctx.settings.id_hash_key)):
        return row
    row.revision += 1
    try:
        await ctx.session.flush()
    except IntegrityError as exc:
        raise duplicate("certificate_no", row.certificate_no or "") from exc
    await ctx.outbox.publish(ctx.session, OPERATOR_UPDATED, subject=row.uscc, data=operator_snapshot(row))
    return row


async def list_operators(ctx: RegistryContext, uscc: str, *, limit: int, after: str | None) -> list[Operator]:
    await read_enterprise(ctx, uscc)
    return list(await repo.list_operators(ctx.session, uscc, limit=limit, after=after))
