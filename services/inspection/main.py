"""The inspection service app: its composition root."""

from pathlib import Path

import yaml
from fastapi import FastAPI

from services.inspection import consumers, jobs
from services.inspection.blobs import router as blobs
from services.inspection.blobs.store import build_store
from services.inspection.chain import router as chain
from services.inspection.config import Settings
from services.inspection.context import InspectionContext, Resources
from services.inspection.corrections import router as corrections
from services.inspection.cutoffs import router as cutoffs
from services.inspection.domain.maintenance import MaintenancePolicy
from services.inspection.hazards import router as hazards
from services.inspection.ledger import router as ledger
from services.inspection.ledger.facts import LedgerFactsCache
from services.inspection.models import platform
from services.inspection.records import router as records
from services.inspection.tasks import router as tasks
from shared.app import create_service_app
from shared.events.consumer import Subscription

MIGRATIONS = Path(__file__).parent / "migrations"


def load_resources(settings: Settings) -> Resources:
    text = Path(settings.maintenance_policy_file).read_text(encoding="utf-8")
    facts = LedgerFactsCache(capacity=settings.ledger_facts_cache_size, ttl=settings.ledger_facts_ttl_s)
    return Resources(maintenance_policy=MaintenancePolicy.parse(yaml.safe_load(text)), ledger_facts=facts,
                     blob_store=build_store(settings))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    background = [jobs.chain_head_timer]
    if settings.cutoff_enabled:
        background.append(jobs.daily_cutoff)
    if settings.maintenance_check_enabled:
        background.append(jobs.daily_maintenance_check)
    if settings.task_jobs_enabled:
        background += [jobs.daily_task_jobs, jobs.task_closer]
    return create_service_app(
        settings,
        tables=platform,
        migrations=MIGRATIONS,
        title="safegrid inspection",
        description=(
            "Self-inspection tasks (五定), submissions, hazards, usage and filling records, and the daily cut-off."
        ),
        context=InspectionContext,
        resources=load_resources,  # type: ignore[arg-type]
        routers=[records.router, corrections.router, ledger.router, chain.router, cutoffs.router,
                 tasks.router, hazards.router, blobs.router],
        subscriptions=[Subscription(name=settings.ledger_consumer, handlers_by_spec=consumers.SUBSCRIPTIONS),
                       Subscription(name=settings.task_consumer, handlers_by_spec=consumers.TASK_SUBSCRIPTIONS)],
        background=background,
    )
