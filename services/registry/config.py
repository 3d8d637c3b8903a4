"""Settings of the registry service (environment prefix SAFEGRID_REGISTRY_, then SAFEGRID_)."""

from datetime import time
from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    default_port: ClassVar[int] = 8001

    id_hash_key: str = Field("safegrid-development-id-hash-key-change-me",
                             description="secret salt of the keyed hash that replaces operator ID numbers")
    jurisdictions_file: str = Field("", description="jurisdiction tree (YAML) loaded into an empty registry at "
                                                    "start-up; empty = the packaged demo city 日照市")
    seed_jurisdictions: bool = Field(True, description="load the jurisdiction tree when the table is empty")
    daily_job_enabled: bool = Field(True, description="run the daily ledger job inside the service")
    daily_job_time: time = Field(time(0, 10), description="when the daily job runs (Asia/Shanghai)")
    key_supervision_accident_years: int = Field(3, ge=1, description="an accident keeps a unit under key "
                                                                     "supervision this many years")
    import_chunk_size: int = Field(2000, ge=100, le=50_000, description="rows per transaction in bulk imports")
    import_max_bytes: int = Field(100 * 1024 * 1024, description="largest upload POST /api/v1/imports accepts")
