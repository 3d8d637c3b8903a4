"""The ``ctx`` every enforcement use case receives: the unit of work (session, principal) with
typed access to what the service builds once per process (the policy files, see ``main.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, cast

from services.enforcement.domain.legal_basis import CATALOGUE_DIR, Catalogue, CatalogueBook, load_catalogues
from services.enforcement.domain.policy import POLICY_DIR, AlertPolicy, PolicyBook, load_policies
from services.enforcement.domain.supervision import (
    SUPERVISION_DIR,
    SupervisionBook,
    SupervisionPolicy,
    load_supervision,
)
from shared.context import ServiceContext

if TYPE_CHECKING:
    from services.enforcement.config import Settings
    from services.enforcement.models import EnterpriseRow, MissingRecordsDay, WebhookSubscription


@dataclass(frozen=True)
class EnforcementResources:
    """Every versioned data file, validated at start-up (a bad one stops the service)."""

    alerts: PolicyBook
    supervision: SupervisionBook
    catalogues: CatalogueBook

    @classmethod
    def load(cls, settings: Settings) -> EnforcementResources:
        def where(configured: str | None, default: Path) -> Path:
            return Path(configured) if configured else default

        return cls(load_policies(where(settings.policy_dir, POLICY_DIR)),
                   load_supervision(where(settings.supervision_policy_dir, SUPERVISION_DIR)),
                   load_catalogues(where(settings.legal_basis_dir, CATALOGUE_DIR)))


@dataclass
class EnforcementContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``);
    time comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    # Rows this unit of work holds locked (see projection.service): a row stays locked until the
    # transaction ends, so a batch of events, or one event's several steps, locks each once.
    enterprises: dict[str, EnterpriseRow] = field(default_factory=dict, repr=False)
    missing_days: dict[tuple[str, date], MissingRecordsDay] = field(default_factory=dict, repr=False)
    # The active webhook subscriptions, read once per unit of work (webhooks.service.enqueue).
    subscriptions: list[WebhookSubscription] | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return cast("Settings", self.runtime.settings)

    @property
    def files(self) -> EnforcementResources:
        return cast(EnforcementResources, self.runtime.resources)

    @property
    def policies(self) -> PolicyBook:
        """Every alert policy version, validated at start-up."""
        return self.files.alerts

    def policy(self) -> AlertPolicy:
        """The alert policy in effect today (its effective date passed)."""
        return self.policies.in_effect(self.today())

    def supervision(self, day: date | None = None) -> SupervisionPolicy:
        """The supervision policy in effect on ``day`` (default: today)."""
        return self.files.supervision.in_effect(day or self.today())

    def catalogue(self) -> Catalogue:
        """The legal-basis catalogue in effect today."""
        return self.files.catalogues.in_effect(self.today())
