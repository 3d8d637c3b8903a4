"""Settings of the inspection service (environment prefix SAFEGRID_INSPECTION_, then SAFEGRID_)."""

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "inspection"
    default_port: ClassVar[int] = 8002
