"""The ``ctx`` every inspection use case receives: the unit of work (session, principal) with
typed access to what the service builds once per process (the maintenance policy, see main.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from services.inspection.config import Settings
from services.inspection.domain.maintenance import MaintenancePolicy
from services.inspection.ledger.facts import LedgerFactsCache
from shared.context import ServiceContext

if TYPE_CHECKING:
    from services.inspection.blobs.store import BlobStore


@dataclass(frozen=True)
class Resources:
    """Built once per process from the settings."""

    maintenance_policy: MaintenancePolicy
    ledger_facts: LedgerFactsCache  # what the filling rules know of cylinders and operators
    blob_store: BlobStore | None = None  # photos of submissions and hazard evidence (blobs/store.py)


@dataclass
class InspectionContext(ServiceContext):
    """Requests, consumed events, jobs and CLI commands all get one (``runtime.context``); time
    comes from ``now()`` / ``today()`` (tests set ``runtime.clock``)."""

    @property
    def settings(self) -> Settings:
        return cast(Settings, self.runtime.settings)

    @property
    def maintenance_policy(self) -> MaintenancePolicy:
        return cast(Resources, self.runtime.resources).maintenance_policy

    @property
    def ledger_facts(self) -> LedgerFactsCache:
        return cast(Resources, self.runtime.resources).ledger_facts

    @property
    def blob_store(self) -> BlobStore:
        store = cast(Resources, self.runtime.resources).blob_store
        if store is None:
            raise RuntimeError("this process was built without a blob store (main.load_resources)")
        return store
