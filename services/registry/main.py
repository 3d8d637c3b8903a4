"""The registry service app."""

from fastapi import FastAPI

from services.registry.config import Settings
from services.registry.models import platform
from shared.app import create_service_app


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        title="safegrid registry",
        description="The ledger: jurisdictions, enterprises, equipment, operators, accidents and QR tokens.",
    )
