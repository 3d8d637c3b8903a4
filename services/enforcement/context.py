"""The ``ctx`` every enforcement use case receives: the unit of work (session, principal) with
typed access to what the service builds once per process (the alert policies, see ``main.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from shared.context import ServiceContext

if TYPE_CHECKING:
    from services.enforcement.config import Settings
    from services.enforcement.domain.policy import AlertPolicy, PolicyBook


@dataclass
class EnforcementContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``);
    time comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    @property
    def settings(self) -> Settings:
        return cast("Settings", self.runtime.settings)

    @property
    def policies(self) -> PolicyBook:
        """Every alert policy version, validated at start-up."""
        return cast("PolicyBook", self.runtime.resources)

    def policy(self) -> AlertPolicy:
        """The alert policy in effect today (its effective date passed)."""
        return self.policies.in_effect(self.today())
