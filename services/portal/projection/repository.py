"""The read model's queries: the enterprise row every write about an enterprise starts with
(locked; a placeholder when a score arrives before the snapshot), associations, equipment,
jurisdictions, alerts and the reports they follow."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import (
    AlertRow,
    EnterpriseAssociation,
    EnterpriseRow,
    EquipmentRow,
    JurisdictionRow,
    Report,
)
from shared.queries import insert_missing


async def lock_enterprise(session: AsyncSession, uscc: str) -> EnterpriseRow:
    """The enterprise's row, locked for this transaction (PostgreSQL); revision 0 is a placeholder."""
    await insert_missing(session, EnterpriseRow.__table__, [{  # type: ignore[arg-type]
        "uscc": uscc, "revision": 0, "kinds": [], "key_supervision": False, "operating": True}], key=["uscc"])
    return (await session.execute(select(EnterpriseRow).where(EnterpriseRow.uscc == uscc)
                                  .with_for_update().execution_options(populate_existing=True))).scalar_one()


async def set_associations(session: AsyncSession, uscc: str, associations: list[str]) -> None:
    await session.execute(delete(EnterpriseAssociation).where(EnterpriseAssociation.uscc == uscc))
    session.add_all(EnterpriseAssociation(association=a, uscc=uscc) for a in dict.fromkeys(associations))
    await session.flush()


async def associations_of(session: AsyncSession, uscc: str) -> list[str]:
    rows = await session.execute(select(EnterpriseAssociation.association)
                                 .where(EnterpriseAssociation.uscc == uscc).order_by(EnterpriseAssociation.association))
    return list(rows.scalars())


async def lock_equipment(session: AsyncSession, equipment_id: str) -> EquipmentRow | None:
    return (await session.execute(select(EquipmentRow).where(EquipmentRow.equipment_id == equipment_id)
                                  .with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()


async def lock_jurisdiction(session: AsyncSession, code: str) -> JurisdictionRow:
    """The node's row, locked for this transaction (PostgreSQL); revision 0: not named yet."""
    await insert_missing(session, JurisdictionRow.__table__, [{  # type: ignore[arg-type]
        "code": code, "revision": 0, "name": code, "level": ""}], key=["code"])
    return (await session.execute(select(JurisdictionRow).where(JurisdictionRow.code == code)
                                  .with_for_update().execution_options(populate_existing=True))).scalar_one()


async def lock_alert(session: AsyncSession, alert_id: str) -> AlertRow | None:
    return (await session.execute(select(AlertRow).where(AlertRow.alert_id == alert_id)
                                  .with_for_update().execution_options(populate_existing=True))).scalar_one_or_none()


async def report_caused(session: AsyncSession, *, event_id: str | None = None,
                        alert_id: str | None = None) -> Report | None:
    """The report whose event raised an alert (by the event's id), or that follows ``alert_id``."""
    condition = Report.event_id == event_id if event_id is not None else Report.alert_id == alert_id
    return (await session.execute(select(Report).where(condition).with_for_update()
                                  .execution_options(populate_existing=True))).scalar_one_or_none()
