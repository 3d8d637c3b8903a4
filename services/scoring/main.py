"""The scoring service app: its composition root."""

from pathlib import Path

from fastapi import FastAPI

from services.scoring import consumers, jobs
from services.scoring.config import Settings
from services.scoring.context import ScoringContext
from services.scoring.model_versions import router as model_versions
from services.scoring.model_versions.service import ModelCache
from services.scoring.models import platform
from services.scoring.repairs import router as repairs
from services.scoring.scores import router as scores
from shared.app import create_service_app
from shared.events.consumer import Subscription

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        tables=platform,
        migrations=MIGRATIONS,
        title="safegrid scoring",
        description="The indicator model, scores, grades A–D, grade history and credit repair.",
        context=ScoringContext,
        resources=lambda _settings: ModelCache(),
        routers=[scores.router, repairs.router, model_versions.router],
        subscriptions=[Subscription(name=settings.projection_consumer, handlers_by_spec=consumers.SUBSCRIPTIONS,
                                    batch=consumers.apply_batch)],
        background=[jobs.nightly_rescore] if settings.nightly_rescore_enabled else [],
    )
