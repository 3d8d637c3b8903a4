"""Settings of the registry service (environment prefix SAFEGRID_REGISTRY_, then SAFEGRID_)."""

from datetime import time
from typing import ClassVar

from pydantic import Field, model_validator

from shared.config import ServiceSettings

DEVELOPMENT_ID_HASH_KEY = "safegrid-development-id-hash-key-change-me"


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "registry"
    default_port: ClassVar[int] = 8001

    id_hash_key: str = Field(DEVELOPMENT_ID_HASH_KEY,
                             description="secret salt of the keyed hash that replaces operator ID numbers; "
                                         "set once per deployment and never change it")
    jurisdictions_file: str = Field("", description="jurisdiction tree (YAML) loaded into an empty registry at "
                                                    "start-up; empty = the packaged demo city 日照市")
    seed_jurisdictions: bool = Field(True, description="load the jurisdiction tree when the table is empty")
    daily_job_enabled: bool = Field(True, description="run the daily ledger job inside the service")
    daily_job_time: time = Field(time(0, 10), description="when the daily job runs (Asia/Shanghai)")
    key_supervision_accident_years: int = Field(3, ge=1, description="an accident keeps a unit under key "
                                                                     "supervision this many years")
    import_chunk_size: int = Field(2000, ge=100, le=50_000, description="rows per transaction in bulk imports")
    import_max_bytes: int = Field(100 * 1024 * 1024, description="largest upload POST /api/v1/imports accepts")

    @model_validator(mode="after")
    def _own_id_hash_key_in_production(self) -> "Settings":
        if self.environment == "production" and self.id_hash_key == DEVELOPMENT_ID_HASH_KEY:
            raise ValueError("production needs SAFEGRID_REGISTRY_ID_HASH_KEY of its own (operator ID hashes)")
        return self
