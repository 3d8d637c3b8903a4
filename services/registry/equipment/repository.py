"""Every query of the equipment ledger: equipment, inspections, gas cylinders, operators."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.models import Equipment, EquipmentInspection, GasCylinder, Operator

# --- equipment ---------------------------------------------------------------------------------

async def get_equipment(session: AsyncSession, equipment_id: str, *, for_update: bool = False) -> Equipment | None:
    if not for_update:
        return await session.get(Equipment, equipment_id)
    statement = select(Equipment).where(Equipment.id == equipment_id).with_for_update()
    return (await session.execute(statement.execution_options(populate_existing=True))).scalar_one_or_none()


async def equipment_by_registration_no(session: AsyncSession, registration_no: str) -> Equipment | None:
    statement = select(Equipment).where(Equipment.registration_no == registration_no)
    return (await session.execute(statement)).scalar_one_or_none()


async def equipment_by_code(session: AsyncSession, uscc: str, equipment_code: str) -> Equipment | None:
    statement = select(Equipment).where(Equipment.uscc == uscc, Equipment.equipment_code == equipment_code)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_equipment(session: AsyncSession, uscc: str, *, limit: int, after: str | None,
                         category: str | None = None, status: str | None = None) -> Sequence[Equipment]:
    statement = select(Equipment).where(Equipment.uscc == uscc).order_by(Equipment.id)
    if category:
        statement = statement.where(Equipment.category == category)
    if status:
        statement = statement.where(Equipment.status == status)
    if after is not None:
        statement = statement.where(Equipment.id > after)
    return (await session.execute(statement.limit(limit + 1))).scalars().all()


async def equipment_in_use(session: AsyncSession, uscc: str) -> Sequence[Equipment]:
    statement = select(Equipment).where(Equipment.uscc == uscc, Equipment.status != "scrapped")
    return (await session.execute(statement.order_by(Equipment.category, Equipment.id))).scalars().all()


async def inspections_of(session: AsyncSession, equipment_id: str) -> Sequence[EquipmentInspection]:
    statement = (select(EquipmentInspection).where(EquipmentInspection.equipment_id == equipment_id)
                 .order_by(EquipmentInspection.inspected_date.desc(), EquipmentInspection.recorded_at.desc()))
    return (await session.execute(statement)).scalars().all()


async def overdue_unreported(session: AsyncSession, today: date) -> Sequence[Equipment]:
    """In-use equipment past its due date whose lapse of that due date was not yet published."""
    statement = (
        select(Equipment)
        .where(Equipment.status == "in_use", Equipment.next_inspection_due < today,
               or_(Equipment.overdue_reported_for.is_(None),
                   Equipment.overdue_reported_for != Equipment.next_inspection_due))
        .order_by(Equipment.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()


# --- gas cylinders -----------------------------------------------------------------------------

async def cylinders_by_number(session: AsyncSession, uscc: str, numbers: Sequence[str], *,
                              for_update: bool = False) -> dict[str, GasCylinder]:
    statement = select(GasCylinder).where(GasCylinder.uscc == uscc, GasCylinder.cylinder_no.in_(numbers))
    if for_update:  # in number order, so that two batches queue instead of deadlocking
        statement = (statement.order_by(GasCylinder.cylinder_no).with_for_update()
                     .execution_options(populate_existing=True))
    return {c.cylinder_no: c for c in (await session.execute(statement)).scalars()}


async def list_cylinders(session: AsyncSession, uscc: str, *, limit: int, after: str | None,
                         inspection_due_before: date | None = None) -> Sequence[GasCylinder]:
    statement = select(GasCylinder).where(GasCylinder.uscc == uscc).order_by(GasCylinder.cylinder_no)
    if inspection_due_before is not None:
        statement = statement.where(GasCylinder.next_inspection_date < inspection_due_before)
    if after is not None:
        statement = statement.where(GasCylinder.cylinder_no > after)
    return (await session.execute(statement.limit(limit + 1))).scalars().all()


# --- operators ---------------------------------------------------------------------------------

async def get_operator(session: AsyncSession, operator_id: str, *, for_update: bool = False) -> Operator | None:
    return await session.get(Operator, operator_id, with_for_update=for_update, populate_existing=for_update)


async def operator_by_certificate_no(session: AsyncSession, certificate_no: str) -> Operator | None:
    statement = select(Operator).where(Operator.certificate_no == certificate_no)
    return (await session.execute(statement)).scalar_one_or_none()


async def list_operators(session: AsyncSession, uscc: str, *, limit: int, after: str | None) -> Sequence[Operator]:
    statement = select(Operator).where(Operator.uscc == uscc).order_by(Operator.id)
    if after is not None:
        statement = statement.where(Operator.id > after)
    return (await session.execute(statement.limit(limit + 1))).scalars().all()


async def expired_unreported(session: AsyncSession, today: date) -> Sequence[Operator]:
    statement = (
        select(Operator)
        .where(Operator.active.is_(True), Operator.certificate_valid_until < today,
               or_(Operator.expiry_reported_for.is_(None),
                   Operator.expiry_reported_for != Operator.certificate_valid_until))
        .order_by(Operator.id)
        .with_for_update(skip_locked=True)
    )
    return (await session.execute(statement)).scalars().all()
