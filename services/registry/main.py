"""The registry service app."""

from fastapi import FastAPI

from services.registry import ledger_router, router
from services.registry.config import Settings
from services.registry.jobs import daily_job
from services.registry.models import platform
from services.registry.service import seed_jurisdictions, transaction
from shared.app import ServiceRuntime, create_service_app


async def load_jurisdiction_tree(runtime: ServiceRuntime) -> None:
    """An empty registry starts with the configured jurisdiction tree (default: 日照市)."""
    async with transaction(runtime.session_factory) as session:
        await seed_jurisdictions(session, runtime.settings)  # type: ignore[arg-type]


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        title="safegrid registry",
        description="The ledger: jurisdictions, enterprises, equipment, operators, accidents and QR tokens.",
        routers=[router.router, ledger_router.router, ledger_router.public_router],
        background=[daily_job],
        on_startup=[load_jurisdiction_tree],
    )
