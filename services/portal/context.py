"""The ``ctx`` every portal use case receives: the unit of work (session, principal) with typed
access to what the service builds once per process: the rate limiters and registry's resolver."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import httpx
import jinja2
from sqlalchemy import event
from sqlalchemy.orm import Session

from services.portal.config import Settings
from services.portal.domain.cache import SingleFlight, TtlCache
from services.portal.domain.limits import SlidingWindow
from shared.app import ServiceRuntime
from shared.context import ServiceContext
from shared.locality import BUSINESS_TIMEZONE

TEMPLATES = Path(__file__).parent / "templates"
CHANGED_UNITS = "portal.changed_units"  # in session.info: the units whose pages to drop after the commit


@dataclass
class Limits:
    """One sliding window per purpose, keyed by client (see domain/limits.py)."""

    lookups: SlidingWindow
    probe_misses: SlidingWindow
    ratings: SlidingWindow
    reports: SlidingWindow


@dataclass
class Resources:
    limits: Limits
    templates: jinja2.Environment
    views: TtlCache  # what each scanned token shows, for page_cache_s
    remembering: SingleFlight[Any] = field(default_factory=SingleFlight)  # the views being made, by token
    # How calls to registry's public API travel: None is the network; tests hand in an ASGI
    # transport to a real registry app.
    registry_transport: httpx.AsyncBaseTransport | None = field(default=None)


def build_resources(settings: Settings) -> Resources:
    limits = Limits(
        lookups=SlidingWindow(settings.lookups_per_minute, 60.0),
        probe_misses=SlidingWindow(settings.probe_misses_per_window, settings.probe_window_s),
        ratings=SlidingWindow(settings.ratings_per_hour, 3600.0),
        reports=SlidingWindow(settings.reports_per_hour, 3600.0))
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                                   undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    templates.globals["shanghai"] = BUSINESS_TIMEZONE
    return Resources(limits=limits, templates=templates, views=TtlCache(settings.page_cache_s))


@dataclass
class PortalContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``); time
    comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    @property
    def settings(self) -> Settings:
        return cast(Settings, self.runtime.settings)

    @property
    def limits(self) -> Limits:
        return cast(Resources, self.runtime.resources).limits

    @property
    def views(self) -> TtlCache:
        return cast(Resources, self.runtime.resources).views

    def unit_changed(self, uscc: str) -> None:
        """What the unit's QR pages show changed: drop them from this process's cache, now and
        again once this unit of work commits (a scan in between, on PostgreSQL, reads what is
        still committed and would remember it until it aged out)."""
        self.views.drop_tag(uscc)
        changed: set[str] | None = self.session.info.get(CHANGED_UNITS)
        if changed is None:
            changed = self.session.info[CHANGED_UNITS] = set()
            views = self.views

            def after_commit(session: Session) -> None:
                for tag in session.info.pop(CHANGED_UNITS, ()):
                    views.drop_tag(tag)

            event.listen(self.session.sync_session, "after_commit", after_commit)
        changed.add(uscc)

    def render(self, template: str, **values: object) -> str:
        """A server-rendered page (Jinja2, autoescaped): readable without JavaScript."""
        return render(self.runtime, template, **values)

    def registry_client(self) -> httpx.AsyncClient:
        """A client of registry's public API (one per call: tokens are resolved rarely, then kept)."""
        resources = cast(Resources, self.runtime.resources)
        return httpx.AsyncClient(base_url=self.settings.registry_url, timeout=self.settings.registry_timeout_s,
                                 transport=resources.registry_transport)


def render(runtime: ServiceRuntime, template: str, **values: object) -> str:
    """``PortalContext.render`` without a unit of work (a page from what the process remembers)."""
    env = cast(Resources, runtime.resources).templates
    base_url = cast(Settings, runtime.settings).public_base_url.rstrip("/")
    return env.get_template(template).render(base_url=base_url, **values)
