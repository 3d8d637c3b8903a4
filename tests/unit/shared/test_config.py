from typing import ClassVar

import pytest

from shared.config import ServiceSettings, normalise_database_url


class ExampleSettings(ServiceSettings):
    service_name: ClassVar[str] = "example"
    default_port: ClassVar[int] = 8123


@pytest.mark.parametrize(("given", "expected"), [
    ("postgres://u@h:5432/db", "postgresql+asyncpg://u@h:5432/db"),
    ("postgresql://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgresql+psycopg2://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("postgresql+asyncpg://u@h/db", "postgresql+asyncpg://u@h/db"),
    ("sqlite:///var/x.db", "sqlite+aiosqlite:///var/x.db"),
])
def test_database_urls_are_normalised_to_async_drivers(given, expected):
    assert normalise_database_url(given) == expected


def test_the_service_specific_variable_wins_over_the_common_one(monkeypatch):
    monkeypatch.setenv("SAFEGRID_KAFKA_BOOTSTRAP_SERVERS", "common:9092")
    monkeypatch.setenv("SAFEGRID_EXAMPLE_KAFKA_BOOTSTRAP_SERVERS", "mine:9092")
    monkeypatch.setenv("SAFEGRID_LOG_FORMAT", "json")
    settings = ExampleSettings()
    assert settings.kafka_bootstrap_servers == "mine:9092"
    assert settings.log_format == "json"


def test_defaults_are_an_embedded_sqlite_file_per_service_and_the_contract_port(monkeypatch, tmp_path):
    monkeypatch.setenv("SAFEGRID_VAR_DIR", str(tmp_path))
    settings = ExampleSettings()
    assert settings.effective_port == 8123
    assert settings.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'example.db'}"


def test_a_postgres_url_from_the_environment_is_normalised(monkeypatch):
    monkeypatch.setenv("SAFEGRID_EXAMPLE_DATABASE_URL", "postgres://svc@db:5432/example")
    assert ExampleSettings().effective_database_url == "postgresql+asyncpg://svc@db:5432/example"


def test_invalid_values_are_refused(monkeypatch):
    monkeypatch.setenv("SAFEGRID_LOG_FORMAT", "xml")
    with pytest.raises(ValueError, match="log_format"):
        ExampleSettings()


def test_production_refuses_the_development_signing_secret(monkeypatch):
    monkeypatch.setenv("SAFEGRID_ENVIRONMENT", "production")
    with pytest.raises(ValueError, match="production needs"):
        ExampleSettings()
    monkeypatch.setenv("SAFEGRID_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("SAFEGRID_JWT_JWKS_URL", "https://idp.example/jwks.json")
    monkeypatch.setenv("SAFEGRID_CURSOR_SECRET", "a-cursor-secret-of-this-deployment")
    assert ExampleSettings().is_production


def test_production_refuses_to_sign_cursors_with_the_development_secret(monkeypatch):
    """RS256 leaves the HS256 secret at its public default: cursors need a secret of their own."""
    monkeypatch.setenv("SAFEGRID_ENVIRONMENT", "production")
    monkeypatch.setenv("SAFEGRID_JWT_ALGORITHM", "RS256")
    monkeypatch.setenv("SAFEGRID_JWT_JWKS_URL", "https://idp.example/jwks.json")
    with pytest.raises(ValueError, match="SAFEGRID_CURSOR_SECRET"):
        ExampleSettings()
    monkeypatch.setenv("SAFEGRID_CURSOR_SECRET", "a-cursor-secret-of-this-deployment")
    assert ExampleSettings().cursor_signing_secret == "a-cursor-secret-of-this-deployment"
    monkeypatch.delenv("SAFEGRID_CURSOR_SECRET")
    monkeypatch.setenv("SAFEGRID_JWT_ALGORITHM", "HS256")
    monkeypatch.setenv("SAFEGRID_JWT_SECRET", "an-hs256-secret-of-this-deployment")
    assert ExampleSettings().cursor_signing_secret == "an-hs256-secret-of-this-deployment"
