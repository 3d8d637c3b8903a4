"""Settings of the portal service (environment prefix SAFEGRID_PORTAL_, then SAFEGRID_)."""

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "portal"
    default_port: ClassVar[int] = 8000
