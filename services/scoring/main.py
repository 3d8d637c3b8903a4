"""The scoring service app."""

from fastapi import FastAPI

from services.scoring.config import Settings
from services.scoring.models import platform
from shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        title="safegrid scoring",
        description="The indicator model, scores, grades A–D, grade history and credit repair.",
    )
