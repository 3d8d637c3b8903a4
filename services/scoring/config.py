"""Settings of the scoring service (environment prefix SAFEGRID_SCORING_, then SAFEGRID_)."""

import os
from datetime import time
from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings
from shared.locality import DIVISION_CODE_PATTERN


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "scoring"
    default_port: ClassVar[int] = 8003

    nightly_rescore_enabled: bool = Field(True, description="run the nightly pass that applies time windows")
    nightly_rescore_at: time = Field(time(2, 30), description="when the nightly pass runs, Asia/Shanghai wall time")
    nightly_claim_lease_s: float = Field(600.0, gt=0, description=(
        "how long a replica's claim on a nightly pass holds without being renewed (it is renewed after "
        "every chunk); a replica that died mid-pass leaves a claim another replica takes over after this"))
    rescore_chunk_size: int = Field(1000, ge=1, le=20000, description=(
        "enterprises loaded, scored and written per transaction in a full rescore"))
    rescore_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0, le=64, description=(
        "worker processes that read and score a large full rescore's chunks while the service writes "
        "(default: one per core; 0: everything in the service process)"))
    rescore_parallel_from: int = Field(20000, ge=0, description=(
        "a full rescore of at least this many enterprises uses the worker processes (starting one takes "
        "about a second)"))
    projection_consumer: str = Field("projection", description=(
        "name of the consumer group that builds the projection (safegrid.scoring.<name>); a new name "
        "replays every topic from the start into an empty database"))
    root_jurisdiction: str = Field("371100", pattern=DIVISION_CODE_PATTERN, description=(
        "the division this deployment scores (default 371100, 日照市): a model version rescores every "
        "enterprise, so only an admin or a regulator whose jurisdiction is exactly this code may load one; "
        "a regulator of another city (or of a district below it) may not"))
    max_model_bytes: int = Field(1_000_000, description="largest model file POST /api/v1/models accepts")
