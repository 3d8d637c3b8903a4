"""Settings of the registry service (environment prefix SAFEGRID_REGISTRY_, then SAFEGRID_)."""

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    default_port: ClassVar[int] = 8001
