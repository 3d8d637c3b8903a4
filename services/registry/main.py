"""The registry service app: the composition root."""

import asyncio
from pathlib import Path

import structlog
from fastapi import FastAPI

from services.registry.config import Settings
from services.registry.context import RegistryContext
from services.registry.enterprises import router as enterprises
from services.registry.enterprises.service import seed_jurisdictions
from services.registry.equipment import router as equipment
from services.registry.imports import router as imports
from services.registry.jobs import daily_job
from services.registry.models import platform
from services.registry.qr import router as qr
from shared.app import ServiceRuntime, create_service_app
from shared.context import unit_of_work
from shared.schedule import wait_or_stop

log = structlog.get_logger(__name__)
SEED_RETRY_S = 2.0


async def _seed(runtime: ServiceRuntime) -> bool:
    try:
        async with unit_of_work(runtime) as ctx:
            await seed_jurisdictions(ctx)
        return True
    except Exception as exc:  # the database may be down at start-up: /readyz says so, the job retries
        log.warning("registry.jurisdiction_seed_failed", error=str(exc) or type(exc).__name__)
        return False


async def load_jurisdiction_tree(runtime: ServiceRuntime) -> None:
    """An empty registry starts with the configured jurisdiction tree (default: 日照市)."""
    runtime.extras["jurisdictions_seeded"] = await _seed(runtime)


async def retry_jurisdiction_tree(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
    while not runtime.extras.get("jurisdictions_seeded") and not await wait_or_stop(stop, SEED_RETRY_S):
        runtime.extras["jurisdictions_seeded"] = await _seed(runtime)


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        settings or Settings(),
        tables=platform,
        migrations=Path(__file__).parent / "migrations",
        context=RegistryContext,
        title="safegrid registry",
        description="The ledger: jurisdictions, enterprises, equipment, operators, accidents and QR tokens.",
        routers=[enterprises.router, equipment.router, qr.router, imports.router, qr.public_router],
        background=[daily_job, retry_jurisdiction_tree],
        on_startup=[load_jurisdiction_tree],
    )
