"""Scoring: load a model version, rescore everyone, list the models.

These work on the scoring database named by the environment (as the service does); the events
they write wait in the outbox until the running service's relay publishes them.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from services.scoring import jobs, repository
from services.scoring.service import ScoringContext, model_summary
from shared.cli_runtime import run_with_runtime

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)
console = Console(stderr=True)
T = TypeVar("T")


def _run(work: Callable[[Any, ScoringContext], Awaitable[T]]) -> T:
    from services.scoring.main import create_app

    return run_with_runtime(create_app, lambda runtime: work(runtime.session_factory, runtime.resources))


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
