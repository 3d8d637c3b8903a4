"""The enforcement service app: its composition root."""

from pathlib import Path

from fastapi import FastAPI

from services.enforcement import consumers, jobs
from services.enforcement.alerts import router as alerts
from services.enforcement.cases import router as cases
from services.enforcement.config import Settings
from services.enforcement.context import EnforcementContext, EnforcementResources
from services.enforcement.models import platform
from services.enforcement.patrols import router as patrols
from services.enforcement.plans import router as plans
from services.enforcement.webhooks import router as webhooks
from shared.app import create_service_app
from shared.events.consumer import Subscription

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    background = ([jobs.sla_sweep] if settings.sla_sweep_enabled else []) + (
        [jobs.webhook_worker] if settings.webhooks_enabled else []) + (
        [jobs.monthly_plans] if settings.plans_enabled else [])
    return create_service_app(
        settings,
        tables=platform,
        migrations=MIGRATIONS,
        title="safegrid enforcement",
        description="Alerts (with their policy, lifecycle, SLA escalation and webhooks), differentiated "
                    "supervision plans with 双随机 sampling, 332211 patrols, cases, decisions and orders to correct.",
        context=EnforcementContext,
        resources=EnforcementResources.load,
        routers=[alerts.router, plans.router, patrols.router, cases.router, webhooks.router],
        subscriptions=[Subscription(name=settings.alerts_consumer, handlers_by_spec=consumers.SUBSCRIPTIONS,
                                    batch=consumers.apply_batch)],
        background=background,
    )
