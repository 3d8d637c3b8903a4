"""The ``ctx`` every scoring use case receives: the unit of work (session, principal) with typed
access to what the service builds once per process (the model cache, see ``main.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from shared.context import ServiceContext

if TYPE_CHECKING:
    from services.scoring.config import Settings
    from services.scoring.model_versions.service import ModelCache
    from services.scoring.projection.repository import Deferred


@dataclass
class ScoringContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``);
    time comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    # The enterprises' profile rows this unit of work holds locked, as last written (see
    # projection.service.locked): a batch of events locks each enterprise once, not per event.
    locked: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    # Set while a batch records a round of events: the facts' writes wait for one bulk write.
    deferred: Deferred | None = field(default=None, repr=False)

    @property
    def settings(self) -> Settings:
        return cast("Settings", self.runtime.settings)

    @property
    def models(self) -> ModelCache:
        """Parsed model versions, shared by every unit of work of this process."""
        return cast("ModelCache", self.runtime.resources)
