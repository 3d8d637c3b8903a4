"""The enforcement service app."""

from pathlib import Path

from fastapi import FastAPI

from services.enforcement.config import Settings
from services.enforcement.models import platform
from shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        migrations=Path(__file__).parent / "migrations",
        title="safegrid enforcement",
        description="Supervision plans, alerts, 332211 patrols, cases and penalties.",
    )
