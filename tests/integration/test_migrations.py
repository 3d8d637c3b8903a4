"""Every service's migrations build exactly the schema its models declare, on SQLite and
PostgreSQL, and can be rolled back and re-applied."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from services.catalog import SERVICES
from shared.db import build_engine
from shared.migrations import downgrade, upgrade


@pytest.mark.parametrize("info", SERVICES, ids=lambda s: s.name)
async def test_migrations_match_the_models_and_round_trip(info, empty_database_url):
    database_url = empty_database_url
    metadata = info.module("models").Base.metadata
    await upgrade(info.migrations, database_url)
    await downgrade(info.migrations, database_url, "base")
    await upgrade(info.migrations, database_url)
    engine = build_engine(database_url)
    try:
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}),
                                              metadata))
    finally:
        await engine.dispose()
    assert diff == [], f"{info.name}: models and migrations disagree: {diff}"
