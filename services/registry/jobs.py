"""The daily ledger job: as dates pass, publish ``equipment.inspection_overdue`` and
``operator.certificate_expired`` (once per item per due date), and release key supervision
whose only accident left its window. Runs inside the service every day, from the CLI
(``safegrid registry daily-job --date``) and from ``POST /api/v1/admin/daily-job``; running it
twice for a date publishes nothing the second time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date

import structlog

from services.registry.context import RegistryContext
from services.registry.domain.dates import years_before
from services.registry.domain.equipment import inspection_overdue
from services.registry.domain.operators import certificate_expired
from services.registry.enterprises import repository as enterprise_repo
from services.registry.enterprises.service import publish_enterprise, refresh_key_supervision
from services.registry.equipment import repository as equipment_repo
from shared.app import ServiceRuntime
from shared.auth import SYSTEM
from shared.context import unit_of_work
from shared.contracts.registry import (
    ENTERPRISE_KEY_SUPERVISION_CHANGED,
    EQUIPMENT_INSPECTION_OVERDUE,
    OPERATOR_CERTIFICATE_EXPIRED,
    EquipmentInspectionOverdue,
    OperatorCertificateExpired,
)
from shared.schedule import run_daily

log = structlog.get_logger(__name__)

RETRY_AFTER_FAILURE_S = 60.0


@dataclass
class DailyJobResult:
    date: date
    inspections_overdue: list[str] = field(default_factory=list)  # equipment ids
    certificates_expired: list[str] = field(default_factory=list)  # operator ids
    key_supervision_released: list[str] = field(default_factory=list)  # USCCs


async def run_daily_job(ctx: RegistryContext, today: date) -> DailyJobResult:
    """The job for the business date ``today``. Each item remembers the due date it was reported
    for; the rows are locked (skipped when another runner holds them) so two runners never both
    report."""
    result = DailyJobResult(date=today)
    for equipment in await equipment_repo.overdue_unreported(ctx.session, today):
        if not inspection_overdue(equipment.status, equipment.next_inspection_due, today):
            continue  # the query and the rule must agree; the rule decides
        equipment.overdue_reported_for = equipment.next_inspection_due
        await ctx.outbox.publish(ctx.session, EQUIPMENT_INSPECTION_OVERDUE, subject=equipment.uscc,
                                 data=EquipmentInspectionOverdue(
                                     uscc=equipment.uscc, equipment_id=equipment.id,
                                     next_inspection_due=equipment.next_inspection_due,  # type: ignore[arg-type]
                                     detected_on=today))
        result.inspections_overdue.append(equipment.id)
    for operator in await equipment_repo.expired_unreported(ctx.session, today):
        if not certificate_expired(operator.active, operator.certificate_valid_until, today):
            continue
        operator.expiry_reported_for = operator.certificate_valid_until
        await ctx.outbox.publish(ctx.session, OPERATOR_CERTIFICATE_EXPIRED, subject=operator.uscc,
                                 data=OperatorCertificateExpired(
                                     uscc=operator.uscc, operator_id=operator.id,
                                     certificate_valid_until=operator.certificate_valid_until,  # type: ignore[arg-type]
                                     detected_on=today))
        result.certificates_expired.append(operator.id)
    years = ctx.settings.key_supervision_accident_years
    for enterprise in await enterprise_repo.enterprises_with_lapsed_accidents(ctx.session, years_before(today, years)):
        if refresh_key_supervision(enterprise, today, years):
            await publish_enterprise(ctx, enterprise, ENTERPRISE_KEY_SUPERVISION_CHANGED)
            result.key_supervision_released.append(enterprise.uscc)
    await ctx.session.flush()
    return result


async def run_daily_job_now(runtime: ServiceRuntime, day: date | None = None) -> DailyJobResult:
    """One run in its own unit of work, for ``day`` (default: today's business date), as the
    job's own principal (the background loop and the CLI)."""
    async with unit_of_work(runtime, SYSTEM) as ctx:
        return await run_daily_job(ctx, day or ctx.today())


async def daily_job(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    """Background job: catch up once at start-up, then run every day at the configured time."""
    settings = runtime.settings
    if not settings.daily_job_enabled:
        return

    async def once() -> None:
        result = await run_daily_job_now(runtime)
        log.info("registry.daily_job", date=str(result.date), overdue=len(result.inspections_overdue),
                 expired=len(result.certificates_expired), released=len(result.key_supervision_released))

    await run_daily(stop, lambda: settings.daily_job_time, once, name="registry.daily_job", run_at_start=True,
                    retry_after_failure_s=RETRY_AFTER_FAILURE_S)
