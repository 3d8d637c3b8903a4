"""Settings of the scoring service (environment prefix SAFEGRID_SCORING_, then SAFEGRID_)."""

from typing import ClassVar

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "scoring"
    default_port: ClassVar[int] = 8003
