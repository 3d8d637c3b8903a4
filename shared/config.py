"""Settings: one pydantic-settings base, read from the environment only (12-factor).

Every field can be set for all services at once (``SAFEGRID_KAFKA_BOOTSTRAP_SERVERS``) or for
one service (``SAFEGRID_SCORING_KAFKA_BOOTSTRAP_SERVERS``); the service-specific name wins.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEVELOPMENT_JWT_SECRET = "safegrid-development-secret-change-me"


def default_var_dir() -> Path:
    return REPO_ROOT / "var"


def normalise_database_url(url: str) -> str:
    """Accept the URLs operators paste (postgres://, postgresql://) and pick the async drivers."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url


class ServiceSettings(BaseSettings):
    """What every service needs. A service subclasses it and sets ``service_name``."""

    service_name: ClassVar[str] = "service"
    default_port: ClassVar[int] = 8000

    model_config = SettingsConfigDict(extra="ignore", case_sensitive=False)

    environment: Literal["development", "test", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 0  # 0 = the service's default port (contract.md §1)
    database_url: str = ""  # empty = SQLite file var/<service>.db
    database_echo: bool = False
    var_dir: Path = Field(default_factory=default_var_dir)

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_enable_idempotence: bool = False  # the embedded broker lacks idempotent producers
    kafka_client_id_prefix: str = "safegrid"
    # Producers (the relay's, the DLQ's): how long a batch waits for more messages, and how large
    # a partition's batch grows (aiokafka's default is 16 KiB).
    kafka_producer_linger_ms: int = 5
    kafka_producer_batch_bytes: int = 16384
    # Authentication to the brokers (Strimzi KafkaUser): SASL_SSL + SCRAM-SHA-512 in production.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-512"
    kafka_sasl_username: str = ""
    kafka_sasl_password: SecretStr = SecretStr("")
    kafka_ssl_cafile: str = ""  # the brokers' CA (PEM); empty = the system's trust store
    consumers_enabled: bool = True
    relay_enabled: bool = True
    relay_batch_size: int = 2000  # rows per read and per mark, at most (a drain starts smaller)
    relay_poll_interval_s: float = 0.05
    kafka_session_timeout_ms: int = 10000  # how long a dead consumer holds its partitions
    # How long the broker may hold a consumer's fetch while no message is there (Kafka answers as
    # soon as one arrives; the embedded broker may hold it, so `safegrid dev` shortens it).
    kafka_fetch_max_wait_ms: int = Field(500, ge=1, le=30000)
    consumer_max_retries: int = 3
    # How long a write's Idempotency-Key is honoured: a retry within it gets the stored response;
    # after it the key is forgotten (the draft lets a server expire keys) and a retry is new. A
    # week covers an offline phone's late retries (submissions are accepted 48 hours late).
    idempotency_key_ttl_h: float = Field(168.0, gt=0)
    idempotency_prune_interval_s: float = Field(3600.0, gt=0)  # how often expired keys are deleted
    consumer_retry_backoff_s: float = 0.2

    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = DEVELOPMENT_JWT_SECRET
    jwt_jwks_url: str = ""
    jwt_issuer: str = "safegrid"
    jwt_audience: str = "safegrid"
    cursor_secret: str = ""  # signs pagination cursors; empty = derived from jwt_secret

    public_base_url: str = "http://127.0.0.1:8000"  # where the portal's public pages live
    log_format: Literal["console", "json"] = "console"
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_database_url(value) if value else value

    @model_validator(mode="after")
    def _no_development_secrets_in_production(self) -> ServiceSettings:
        if self.environment == "production" and self.jwt_algorithm == "HS256" and \
                self.jwt_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("production needs SAFEGRID_JWT_ALGORITHM=RS256 with a JWKS URL, "
                             "or at least a secret of its own")
        if self.environment == "production" and self.cursor_signing_secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("production needs SAFEGRID_CURSOR_SECRET of its own (it signs pagination cursors)")
        return self

    @property
    def cursor_signing_secret(self) -> str:
        return self.cursor_secret or self.jwt_secret

    @property
    def effective_port(self) -> int:
        return self.port or self.default_port

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.var_dir / (self.service_name + '.db')}"

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        service_env = EnvSettingsSource(settings_cls, env_prefix=f"SAFEGRID_{cls.service_name.upper()}_")
        common_env = EnvSettingsSource(settings_cls, env_prefix="SAFEGRID_")
        return init_settings, service_env, common_env, file_secret_settings
