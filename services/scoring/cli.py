"""Scoring: load a model version, rescore everyone, list the models.

These work on the scoring database named by the environment (as the service does); the events
they write wait in the outbox until the running service's relay publishes them.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from services.scoring import jobs, repository
from services.scoring.config import Settings
from services.scoring.models import platform
from services.scoring.service import ScoringContext, model_summary
from shared.db import build_engine, build_session_factory
from shared.events.outbox import Outbox
from shared.http.problems import Problem
from shared.observability import configure_logging

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)
console = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[Any, ScoringContext], Awaitable[T]]) -> T:
    settings = Settings()
    configure_logging(settings.service_name, fmt=settings.log_format, level=settings.log_level)  # to stderr

    async def go() -> T:
        engine = build_engine(settings.effective_database_url)
        try:
            context = ScoringContext(settings=settings, outbox=Outbox(platform))
            return await work(build_session_factory(engine), context)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(go())
    except Problem as problem:
        console.print(f"[red]{problem.title}[/]: {problem.detail}")
        for error in problem.errors or []:
            console.print(f"  - {error['field']}: {error['message']}")
        raise typer.Exit(1) from None


@app.command("load-model")
def load_model(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="the model file (YAML or JSON)"),
    loaded_by: str = typer.Option(None, "--by", help="who loads it, for the audit log (default: your login)"),
) -> None:
    """Validate and store a new model version; rescore everyone when it is in effect today."""
    text = file.read_text(encoding="utf-8")
    row, summary = _run(lambda sessions, ctx: jobs.load_model(sessions, ctx, text, loaded_by or getpass.getuser()))
    console.print(f"[green]loaded[/] {row['version']} (effective from {row['effective_from']})")
    if summary is None:
        console.print("not in effect today: the nightly pass rescores everyone once it takes effect")
    else:
        console.print(f"rescored {summary['rescored']} enterprises ({summary['changed']} changed, "
                      f"{summary['grade_changes']} grade changes)")


@app.command()
def rescore() -> None:
    """Rescore every enterprise now with the model in effect (what the nightly pass does)."""
    summary = _run(lambda sessions, ctx: jobs.rescore_everyone(sessions, ctx, jobs.ADMIN_RESCORE,
                                                               actor=f"cli:{getpass.getuser()}"))
    print(json.dumps({**summary, "as_of": summary["as_of"].isoformat()}, ensure_ascii=False))


@app.command()
def models() -> None:
    """The stored model versions, newest loaded first (tab-separated)."""

    async def listing(sessions: Any, ctx: ScoringContext) -> list[dict[str, Any]]:
        async with sessions() as session, session.begin():
            await ctx.models.in_effect(session, ctx.today())
            rows = await repository.list_models(session, None, 1000)
            return [await model_summary(session, ctx, row) for row in rows]

    print("\t".join(("version", "effective_from", "in_effect", "loaded_at", "loaded_by", "rescored")))
    for m in _run(listing):
        print("\t".join((m["version"], str(m["effective_from"]), "yes" if m["in_effect"] else "no",
                         m["loaded_at"].isoformat(), m["loaded_by"], str(m["rescored_enterprises"] or "-"))))
