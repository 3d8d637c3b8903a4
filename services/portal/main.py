"""The portal service app: its composition root."""

from pathlib import Path

from fastapi import FastAPI

from services.portal import consumers
from services.portal.associations import router as associations
from services.portal.config import Settings
from services.portal.context import PortalContext, build_resources
from services.portal.dashboards import router as dashboards
from services.portal.feedback import router as feedback
from services.portal.map import router as map_
from services.portal.models import platform
from services.portal.open311 import router as open311
from services.portal.qr import router as qr
from shared.app import create_service_app
from shared.events.consumer import Subscription

MIGRATIONS = Path(__file__).parent / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    return create_service_app(
        settings,
        tables=platform,
        migrations=MIGRATIONS,
        title="safegrid portal",
        description="Public QR pages (一企一码, 风险防控码) and their JSON, public ratings (moderated) and problem "
                    "reports with a status page; Open311 GeoReport v2 for city systems. The read model is built from "
                    "events.",
        context=PortalContext,
        resources=build_resources,  # type: ignore[arg-type]
        hot_routes=[*qr.json_router.routes, *qr.page_router.routes],
        routers=[qr.router, feedback.router, open311.router, associations.router,
                 dashboards.router, map_.router],
        subscriptions=[Subscription(name=settings.read_model_consumer, handlers_by_spec=consumers.SUBSCRIPTIONS)],
    )
