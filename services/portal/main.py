"""The portal service app."""

from pathlib import Path

from fastapi import FastAPI

from services.portal.config import Settings
from services.portal.models import platform
from shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        migrations=Path(__file__).parent / "migrations",
        title="safegrid portal",
        description="Public QR pages, risk map, dashboards and the public evaluation API.",
    )
