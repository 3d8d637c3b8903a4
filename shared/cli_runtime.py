"""How a service's CLI command runs: on the same runtime and the same context the service builds
(its ``create_app`` declares both), against the database the environment names, migrated first,
acting as an administrator named after the login. Events a command writes wait in the outbox
until the running service's relay publishes them.

    run_in_context(create_app, lambda ctx: use_case(ctx, ...))        # one transaction
    run_with_runtime(create_app, lambda runtime: job(runtime, ...))   # the work opens its own
"""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import typer
from fastapi import FastAPI
from rich.console import Console

from shared.app import ServiceDefinition, ServiceRuntime, build_runtime, stop_runtime
from shared.auth import Principal
from shared.context import unit_of_work
from shared.http.problems import Problem
from shared.migrations import upgrade
from shared.observability import configure_logging

T = TypeVar("T")
console = Console(stderr=True)


def command_principal() -> Principal:
    return Principal(sub=f"cli:{getpass.getuser()}", role="admin")


@asynccontextmanager
async def command_runtime(create_app: Callable[[], FastAPI], *, migrate: bool = True) -> AsyncIterator[ServiceRuntime]:
    """The service's runtime, built but not started (no relay, consumers or jobs), after its
    migrations and start-up steps ran."""
    definition: ServiceDefinition = create_app().state.definition
    settings = definition.settings
    configure_logging(settings.service_name, fmt=settings.log_format, level=settings.log_level)
    if migrate:
        await upgrade(definition.migrations, settings.effective_database_url)
    runtime = build_runtime(definition)
    try:
        for hook in definition.on_startup:
            await hook(runtime)
        yield runtime
    finally:
        await stop_runtime(runtime)


def run_with_runtime(create_app: Callable[[], FastAPI], work: Callable[[ServiceRuntime], Awaitable[T]]) -> T:
    async def main() -> T:
        async with command_runtime(create_app) as runtime:
            return await work(runtime)

    return _run(main)


def run_in_context(create_app: Callable[[], FastAPI], work: Callable[[Any], Awaitable[T]]) -> T:
    """``work(ctx)`` in one unit of work, committed when it returns."""

    async def in_context(runtime: ServiceRuntime) -> T:
        async with unit_of_work(runtime, command_principal()) as ctx:
            return await work(ctx)

    return run_with_runtime(create_app, in_context)


def _run(main: Callable[[], Awaitable[T]]) -> T:
    """A refused command prints its problem (and each field's message) and exits 1."""
    try:
        return asyncio.run(main())  # type: ignore[arg-type]
    except Problem as problem:
        console.print(f"[red]{problem.title}[/]: {problem.detail}")
        for error in problem.errors or []:
            console.print(f"  - {error['field']}: {error['message']}")
        raise typer.Exit(1) from None
