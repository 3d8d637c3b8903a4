"""Where each service lives and listens (contract.md §1). The CLI and the dev runner read this."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from shared.config import ServiceSettings


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    summary: str

    @property
    def package(self) -> str:
        return f"services.{self.name}"

    def module(self, name: str) -> ModuleType:
        return importlib.import_module(f"{self.package}.{name}")

    def settings(self) -> ServiceSettings:
        return self.module("config").Settings()

    @property
    def migrations(self) -> Path:
        return Path(importlib.import_module(self.package).__file__).parent / "migrations"  # type: ignore[arg-type]

    @property
    def app_path(self) -> str:
        return f"{self.package}.main:create_app"


SERVICES: tuple[ServiceInfo, ...] = (
    ServiceInfo("portal", 8000, "public QR pages, risk map and dashboards, public evaluation API"),
    ServiceInfo("registry", 8001, "jurisdictions, enterprises, equipment, operators, accidents, QR tokens"),
    ServiceInfo("inspection", 8002, "self-inspection tasks, hazards, usage and filling records, daily cut-off"),
    ServiceInfo("scoring", 8003, "indicator model, scores, grades A-D, grade history, credit repair"),
    ServiceInfo("enforcement", 8004, "supervision plans, alerts, patrols, cases, penalties"),
)
BY_NAME = {s.name: s for s in SERVICES}
