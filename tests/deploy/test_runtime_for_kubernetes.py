"""What the manifests rely on in the code: concurrent `safegrid migrate` runs (every new pod's
init container in a rollout) migrate once, and the Kafka clients authenticate as the KafkaUser."""

import asyncio
import ssl

import pytest
from sqlalchemy import text

from services.catalog import BY_NAME
from services.registry.config import Settings as RegistrySettings
from shared.db import build_engine
from shared.events.kafka import producer_options, security_options
from shared.migrations import upgrade
from shared.testing.databases import (
    POSTGRES_REQUIRED,
    create_postgres_database,
    drop_postgres_database,
    postgres_available,
)


async def test_concurrent_migrations_of_one_database_apply_each_revision_once():
    reason = await postgres_available()
    if reason:
        if POSTGRES_REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    url = await create_postgres_database()
    try:
        migrations = BY_NAME["registry"].migrations
        # Without the advisory lock these four collide on CREATE TABLE alembic_version.
        results = await asyncio.wait_for(
            asyncio.gather(*(upgrade(migrations, url) for _ in range(4)), return_exceptions=True), timeout=60)
        assert results == [None] * 4
        engine = build_engine(url)
        try:
            async with engine.connect() as connection:
                versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        finally:
            await engine.dispose()
        assert len(versions) == 1
    finally:
        await drop_postgres_database(url)


def test_plaintext_clients_carry_no_credentials():
    options = producer_options(RegistrySettings(), "c")
    assert options["security_protocol"] == "PLAINTEXT"
    assert "sasl_plain_password" not in options and "ssl_context" not in options


def test_sasl_ssl_clients_authenticate_with_scram_and_trust_the_configured_ca(monkeypatch):
    monkeypatch.setenv("SAFEGRID_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SAFEGRID_REGISTRY_KAFKA_SASL_USERNAME", "registry")
    monkeypatch.setenv("SAFEGRID_REGISTRY_KAFKA_SASL_PASSWORD", "s3cret")
    options = security_options(RegistrySettings())
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("registry", "s3cret")
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert "s3cret" not in repr(RegistrySettings())
