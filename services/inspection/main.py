"""The inspection service app."""

from pathlib import Path

from fastapi import FastAPI

from services.inspection.config import Settings
from services.inspection.models import platform
from shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        migrations=Path(__file__).parent / "migrations",
        title="safegrid inspection",
        description=(
            "Self-inspection tasks (五定), submissions, hazards, usage and filling records, and the daily cut-off."
        ),
    )
