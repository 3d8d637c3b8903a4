"""The ``ctx`` every scoring use case receives: the unit of work (session, principal) with typed
access to what the service builds once per process (the model cache, see ``main.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from shared.context import ServiceContext

if TYPE_CHECKING:
    from services.scoring.config import Settings
    from services.scoring.model_versions.service import ModelCache


@dataclass
class ScoringContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``);
    time comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    @property
    def settings(self) -> Settings:
        return cast("Settings", self.runtime.settings)

    @property
    def models(self) -> ModelCache:
        """Parsed model versions, shared by every unit of work of this process."""
        return cast("ModelCache", self.runtime.resources)
