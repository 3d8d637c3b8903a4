"""Settings of the inspection service (environment prefix SAFEGRID_INSPECTION_, then SAFEGRID_)."""

from datetime import time
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator

from services.inspection.domain.cutoff import CutoffGroup, cutoff_groups, cutoff_time_for
from shared.config import ServiceSettings
from shared.locality import level_of

DEFAULT_MAINTENANCE_POLICY = Path(__file__).parent / "policy" / "maintenance.yaml"


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "inspection"
    default_port: ClassVar[int] = 8002

    cutoff_enabled: bool = Field(True, description="run the daily cut-off by itself, at each city's cut-off time")
    cutoff_at: time = Field(time(21, 0), description=(
        "when the daily cut-off runs, Asia/Shanghai wall time, for units of cities not in cutoff_at_by_city: "
        "operating filling units with no filling record for the day (and no declared closure) yield "
        "filling_records.missing"))
    cutoff_at_by_city: dict[str, time] = Field({}, description=(
        "the cut-off time of particular cities, Asia/Shanghai wall time, as JSON: city division code (6 digits "
        "ending in 00) -> HH:MM, e.g. {\"371100\": \"20:30\"}; a city's units are those whose division code "
        "starts with its first 4 digits"))
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
    ledger_facts_cache_size: int = Field(200_000, ge=0, description=(
        "cylinders and operator certificates whose facts (dates, status) a process remembers for the filling "
        "rules, over all enterprises; 0 remembers none"))
    ledger_facts_ttl_s: float = Field(300.0, ge=0, description=(
        "the longest a process uses remembered facts without reading them again (a change in the ledger is "
        "seen at once: this bounds only a writer of the release before, during a rolling upgrade)"))
    max_clock_skew_s: float = Field(600.0, ge=0, description=(
        "how far in the future a filling record's filled_at may lie (scale clocks drift) before it is rejected"))

    # --- self-inspection tasks, hazards, photo blobs ---------------------------------------------
    task_jobs_enabled: bool = Field(True, description=(
        "run the task jobs: the daily generation of recurring templates' occurrences and hazard-overdue check "
        "(at task_daily_at), and the closing of tasks whose window and grace ended (every task_close_interval_s)"))
    task_daily_at: time = Field(time(0, 5), description="when the daily task jobs run, Asia/Shanghai wall time")
    task_close_interval_s: float = Field(60.0, gt=0, description="how often tasks whose window closed are closed")
    task_consumer: str = Field("tasks", description=(
        "name of the consumer group that keeps the facts tasks are targeted by (key supervision, grade)"))
    submission_grace_s: float = Field(48 * 3600.0, ge=0, description=(
        "how long after a task's window closed an offline submission (judged by its device time) is still "
        "accepted; tasks close (task.closed) once it has passed"))
    submission_clock_skew_s: float = Field(300.0, ge=0, description=(
        "how far ahead of the server's clock a submission's device_time may lie before the time rule fails"))
    gps_max_accuracy_m: float = Field(100.0, gt=0, description=(
        "the worst GPS accuracy (metres) a submission's location is accepted with"))
    default_fence_radius_m: float = Field(200.0, gt=0, description="a task's geofence radius unless it names one")
    hazard_deadline_days_general: int = Field(7, ge=1, description="days to rectify a general hazard (一般隐患)")
    hazard_deadline_days_major: int = Field(30, ge=1, description="days to rectify a major hazard (重大隐患)")
    hazard_recheck_working_days: int = Field(10, ge=1, description=(
        "working days after the evidence within which a regulator re-checks a rectification"))
    blob_store: Literal["local", "s3"] = Field("local", description=(
        "where photo blobs live: local disk (under blob_dir) or S3-compatible object storage"))
    blob_dir: Path | None = Field(None, description="the local blob directory (default: <var_dir>/blobs/inspection)")
    blob_max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="the largest photo accepted (413 beyond)")
    blob_content_types: list[str] = Field(["image/jpeg", "image/png", "image/webp"], description=(
        "the photo types accepted (415 otherwise); the bytes must be of the type declared"))
    blob_s3_bucket: str = Field("safegrid-inspection", description="the S3 bucket of photo blobs")
    blob_s3_prefix: str = Field("blobs/", description="key prefix of the blobs in the bucket")
    blob_s3_endpoint_url: str | None = Field(None, description=(
        "the S3-compatible endpoint (MinIO, Ceph, a cloud's); none: AWS's"))
    blob_s3_region: str = Field("us-east-1", description="the bucket's region")
    blob_s3_access_key_id: str | None = Field(None, description="S3 credentials (none: boto3's default chain)")
    blob_s3_secret_access_key: SecretStr | None = Field(None, description="S3 secret key")

    @field_validator("cutoff_at_by_city")
    @classmethod
    def _cities_only(cls, value: dict[str, time]) -> dict[str, time]:
        wrong = sorted(code for code in value if level_of(code) != "city")
        if wrong:
            raise ValueError(f"not city division codes (6 digits ending in 00, not 0000): {', '.join(wrong)}")
        return value

    def cutoff_time_for(self, jurisdiction_code: str | None) -> time:
        """The cut-off time of the city this division code lies in."""
        return cutoff_time_for(jurisdiction_code, self.cutoff_at, self.cutoff_at_by_city)

    @property
    def cutoff_groups(self) -> list[CutoffGroup]:
        return cutoff_groups(self.cutoff_at, self.cutoff_at_by_city)

    @property
    def blob_directory(self) -> Path:
        return self.blob_dir or Path(self.var_dir) / "blobs" / "inspection"

    @property
    def hazard_deadline_days(self) -> dict[str, int]:
        return {"general": self.hazard_deadline_days_general, "major": self.hazard_deadline_days_major}
