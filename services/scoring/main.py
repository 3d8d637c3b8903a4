"""The scoring service app."""

from pathlib import Path

from fastapi import FastAPI

from services.scoring.config import Settings
from services.scoring.consumers import subscriptions
from services.scoring.jobs import nightly_rescore_job
from services.scoring.models import platform
from services.scoring.router import router
from services.scoring.service import ScoringContext
from shared.app import create_service_app
from shared.events.outbox import Outbox

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    context = ScoringContext(settings=settings, outbox=Outbox(platform))
    app = create_service_app(
        settings,
        tables=platform,
        migrations=MIGRATIONS,
        title="safegrid scoring",
        description="The indicator model, scores, grades A–D, grade history and credit repair.",
        resources=lambda _settings: context,
        routers=[router],
        subscriptions=subscriptions(context),
        background=[nightly_rescore_job(context)] if settings.nightly_rescore_enabled else [],
    )
    app.state.scoring = context
    return app
