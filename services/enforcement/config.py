"""Settings of the enforcement service (environment prefix SAFEGRID_ENFORCEMENT_, then SAFEGRID_)."""

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "enforcement"
    default_port: ClassVar[int] = 8004
