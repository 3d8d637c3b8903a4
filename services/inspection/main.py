"""The inspection service app: its composition root."""

from pathlib import Path

import yaml
from fastapi import FastAPI

from services.inspection import consumers, jobs
from services.inspection.chain import router as chain
from services.inspection.config import Settings
from services.inspection.context import InspectionContext, Resources
from services.inspection.cutoffs import router as cutoffs
from services.inspection.domain.maintenance import MaintenancePolicy
from services.inspection.ledger import router as ledger
from services.inspection.models import platform
from services.inspection.records import router as records
from shared.app import create_service_app
from shared.events.consumer import Subscription

MIGRATIONS = Path(__file__).parent / "migrations"


def load_resources(settings: Settings) -> Resources:
    text = Path(settings.maintenance_policy_file).read_text(encoding="utf-8")
    return Resources(maintenance_policy=MaintenancePolicy.parse(yaml.safe_load(text)))


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    background = [jobs.chain_head_timer]
    if settings.cutoff_enabled:
        background.append(jobs.daily_cutoff)
    if settings.maintenance_check_enabled:
        background.append(jobs.daily_maintenance_check)
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
        routers=[records.router, ledger.router, chain.router, cutoffs.router],
        subscriptions=[Subscription(name=settings.ledger_consumer, handlers_by_spec=consumers.SUBSCRIPTIONS)],
        background=background,
    )
