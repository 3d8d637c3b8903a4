"""Alembic, run per service: each service owns its schema and its ``migrations/`` folder.

Migrations run inside an async engine's connection (``run_sync``), so the same code path serves
``safegrid migrate``, dev start-up and the tests, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.types import TypeDecorator

from shared.db import build_engine

FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(slug)s_%%(rev)s"


def alembic_config(script_location: Path, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    cfg.set_main_option("truncate_slug_length", "40")
    return cfg


def advisory_lock_key(script_location: Path) -> int:
    """The PostgreSQL advisory lock a service's migrations run under (a signed 64-bit key)."""
    digest = hashlib.sha256(f"safegrid.migrate.{script_location.resolve().parent.name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def upgrade(script_location: Path, database_url: str, revision: str = "head") -> None:
    """Migrate to ``revision``. On PostgreSQL the transaction first takes the service's advisory
    lock, so that concurrent runs (every new pod's init container in a rollout) migrate once:
    the first applies the revisions, the others wait for it, then find nothing left to do."""
    engine = build_engine(database_url)
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                         {"key": advisory_lock_key(script_location)})
            await connection.run_sync(_run, alembic_config(script_location, database_url), "upgrade", revision)
    finally:
        await engine.dispose()


async def downgrade(script_location: Path, database_url: str, revision: str) -> None:
    engine = build_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, alembic_config(script_location, database_url), "downgrade", revision)
    finally:
        await engine.dispose()


def _run(connection: Connection, cfg: Config, verb: str, revision: str) -> None:
    cfg.attributes["connection"] = connection
    getattr(command, verb)(cfg, revision)


def autogenerate(script_location: Path, database_url: str, message: str) -> None:
    """Write a new revision from the difference between the models and an up-to-date database."""
    async def _go() -> None:
        await upgrade(script_location, database_url)
        engine = build_engine(database_url)
        try:
            async with engine.begin() as connection:
                cfg = alembic_config(script_location, database_url)
                cfg.attributes["connection"] = connection
                await connection.run_sync(lambda c: (cfg.attributes.__setitem__("connection", c),
                                                     command.revision(cfg, message=message, autogenerate=True)))
        finally:
            await engine.dispose()

    asyncio.run(_go())


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Render the platform's column types as their plain SQLAlchemy implementation, so that
    migrations never import application code that may later change."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def run_env(context: Any, target_metadata: MetaData) -> None:
    """The body of every service's ``migrations/env.py``."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through `safegrid migrate`, which provides the connection")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()
