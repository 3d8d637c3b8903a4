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


REBUILD_HELP = (
    "Replay every topic the service consumes, from the start, into an EMPTY database (migrated first), "
    "through the service's own consumer groups; stop once every partition is caught up to its end offset "
    "at the start.\n\n"
    "The groups are the service's own (as configured), so that their inbox rows and committed offsets are "
    "the ones the live service uses: started on the rebuilt database afterwards, it continues from where "
    "the rebuild ended. Their committed offsets are first moved back to the start of every partition, which "
    "needs the service stopped (every replica). Refused when the database's inbox already holds applied "
    "events. Events the handlers write wait in the outbox for the service's relay.")


def rebuild_command(create_app: Callable[[], FastAPI]) -> Callable[[], None]:
    """The ``rebuild`` command of a consuming service (see ``shared.events.rebuild``), with a
    progress bar: events read of the total, events applied, events/s."""

    def rebuild() -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from shared.events.rebuild import RebuildRefused
        from shared.events.rebuild import rebuild as replay

        columns = (TextColumn("[bold]rebuild[/]"), BarColumn(), MofNCompleteColumn(), TextColumn("events"),
                   TextColumn("{task.fields[applied]} applied"), TextColumn("{task.fields[rate]:,.0f} events/s"),
                   TimeElapsedColumn())

        async def main() -> Any:
            bar = Progress(*columns, console=console)
            task: Any = None
            reading_since = 0.0

            def show(read: int, total: int, applied: int) -> None:  # from the plan on: a refusal shows no bar
                nonlocal task, reading_since
                now = asyncio.get_running_loop().time()
                if task is None:
                    bar.start()
                    task = bar.add_task("rebuild", total=total, applied=0, rate=0.0)
                reading_since = reading_since or (now if read else 0.0)
                bar.update(task, completed=read, applied=applied,
                           rate=read / (now - reading_since) if reading_since and now > reading_since else 0.0)

            try:
                async with command_runtime(create_app) as runtime:
                    return await replay(runtime, show)
            finally:
                bar.stop()

        try:
            result = asyncio.run(main())
        except RebuildRefused as refused:
            console.print(f"[red]refused[/]: {refused}")
            raise typer.Exit(1) from None
        console.print(f"[green]rebuilt[/]: {result.events} events read ({result.applied} applied) in "
                      f"{result.elapsed_s:.1f} s ({result.joining_s:.1f} s of it joining the consumer groups), "
                      f"{result.rate:,.0f} events/s")

    rebuild.__doc__ = REBUILD_HELP
    return rebuild
