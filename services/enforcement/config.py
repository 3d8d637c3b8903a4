"""Settings of the enforcement service (environment prefix SAFEGRID_ENFORCEMENT_, then SAFEGRID_)."""

from datetime import time
from typing import ClassVar

from pydantic import Field

from shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: ClassVar[str] = "enforcement"
    default_port: ClassVar[int] = 8004

    policy_dir: str | None = Field(None, description=(
        "directory of alert policy files (*.yaml); default: the packaged services/enforcement/policy_files"))
    supervision_policy_dir: str | None = Field(None, description=(
        "directory of supervision policy files (*.yaml: frequencies by grade, sampling rates); default: the "
        "packaged services/enforcement/policy_files/supervision"))
    legal_basis_dir: str | None = Field(None, description=(
        "directory of legal-basis catalogues (*.yaml: offences, articles, fine ranges, the three lists); "
        "default: the packaged services/enforcement/policy_files/legal_basis"))
    plans_enabled: bool = Field(True, description=(
        "generate each district's supervision plan for the month by itself (at start-up and daily)"))
    plans_daily_at: time = Field(time(0, 20), description="when (Asia/Shanghai) the daily plan generation runs")
    alerts_consumer: str = Field("alerts", description=(
        "name of the consumer group that builds the projection and raises alerts (safegrid.enforcement.<name>)"))
    sla_sweep_enabled: bool = Field(True, description="run the SLA sweep that escalates overdue alerts")
    sla_sweep_interval_s: float = Field(30.0, gt=0, description="how often the SLA sweep looks for overdue alerts")
    score_wait_s: float = Field(
        300.0, gt=0, description="how long a missing-records day waits for the score.updated it causes before "
        "the sweep raises its alert with the grade enforcement holds (re-graded when the score arrives)")
    webhooks_enabled: bool = Field(True, description="run the webhook delivery worker in this process")
    webhook_poll_interval_s: float = Field(1.0, gt=0, description="how often the worker looks for due deliveries")
    webhook_timeout_s: float = Field(10.0, gt=0, description="how long one delivery attempt may take")
    webhook_max_attempts: int = Field(8, ge=1, le=50, description="attempts before a delivery is marked failed")
    webhook_backoff_base_s: float = Field(10.0, gt=0, description=(
        "delay after the first failed attempt; each further failure doubles it"))
    webhook_backoff_cap_s: float = Field(3600.0, gt=0, description="the longest delay between two attempts")
    webhook_batch_size: int = Field(50, ge=1, le=1000, description="deliveries claimed per worker round")
