"""The registry's ``ctx``: who acts, in which unit of work, on which runtime (see
``shared.context``). Requests, jobs, the demo loader and the CLI all get one the same way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from services.registry.config import Settings
from shared.context import ServiceContext


@dataclass
class RegistryContext(ServiceContext):
    """Every registry use case receives this: ``async def verb(ctx: RegistryContext, ...)``."""

    @property
    def settings(self) -> Settings:
        return cast(Settings, self.runtime.settings)
