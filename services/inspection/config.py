"""Settings of the inspection service (environment prefix SAFEGRID_INSPECTION_, then SAFEGRID_)."""

from datetime import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings

DEFAULT_MAINTENANCE_POLICY = Path(__file__).parent / "policy" / "maintenance.yaml"


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "inspection"
    default_port: ClassVar[int] = 8002

    cutoff_enabled: bool = Field(True, description="run the daily cut-off by itself at cutoff_at")
    cutoff_at: time = Field(time(21, 0), description=(
        "when the daily cut-off runs, Asia/Shanghai wall time: operating filling units with no filling record "
        "for the day (and no declared closure) yield filling_records.missing"))
    cutoff_chunk_size: int = Field(500, ge=1, le=10000, description=(
        "filling units checked and committed per transaction in a cut-off run"))
    ledger_consumer: str = Field("ledger", description=(
        "name of the consumer group that builds the ledger projection (safegrid.inspection.<name>)"))
    chain_head_every: int = Field(50, ge=1, description=(
        "publish an enterprise's chain head (chain.head_published) once this many links were appended since "
        "the last one published"))
    chain_head_interval_s: float = Field(300.0, gt=0, description=(
        "and at least this often for chains with links not yet covered by a published head"))
    chain_verify_chunk: int = Field(20000, ge=100, description="links read per query when a chain is verified")
    maintenance_check_enabled: bool = Field(True, description="run the daily maintenance-lapse check")
    maintenance_check_at: time = Field(time(0, 30), description="when it runs, Asia/Shanghai wall time")
    maintenance_policy_file: Path = Field(DEFAULT_MAINTENANCE_POLICY, description=(
        "the maintenance intervals per equipment category (YAML, versioned; default: lifts every 15 days)"))
    max_clock_skew_s: float = Field(600.0, ge=0, description=(
        "how far in the future a filling record's filled_at may lie (scale clocks drift) before it is rejected"))
