"""Scoring: load a model version, rescore everyone, list the models.

These work on the scoring database named by the environment (as the service does); the events
they write wait in the outbox until the running service's relay publishes them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from services.scoring import jobs
from services.scoring.context import ScoringContext
from services.scoring.model_versions import service as model_versions
from shared.cli_runtime import REBUILD_HELP, command_principal, rebuild_command, run_in_context, run_with_runtime

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)
console = Console(stderr=True)


def _create_app():  # type: ignore[no-untyped-def]
    from services.scoring.main import create_app

    return create_app()


app.command("rebuild", help=REBUILD_HELP)(rebuild_command(_create_app))


@app.command("load-model")
def load_model(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="the model file (YAML or JSON)"),
    loaded_by: str = typer.Option(None, "--by", help="who loads it, for the audit log (default: your login)"),
) -> None:
    """Validate and store a new model version; rescore everyone when it is in effect today."""
    text = file.read_text(encoding="utf-8")
    principal = command_principal()
    loaded = run_with_runtime(_create_app, lambda runtime: jobs.load_model(
        runtime, text, principal, loaded_by or principal.sub.removeprefix("cli:")))
    console.print(f"[green]loaded[/] {loaded['version']} (effective from {loaded['effective_from']})")
    summary = loaded["rescore"]
    if summary is None:
        console.print("not in effect today: the nightly pass rescores everyone once it takes effect")
    else:
        console.print(f"rescored {summary['rescored']} enterprises ({summary['changed']} changed, "
                      f"{summary['grade_changes']} grade changes)")


@app.command()
def rescore() -> None:
    """Rescore every enterprise now with the model in effect (what the nightly pass does)."""
    actor = command_principal().sub
    summary = run_with_runtime(_create_app, lambda runtime: jobs.rescore_everyone(runtime, jobs.ADMIN_RESCORE,
                                                                                   actor=actor))
    print(json.dumps({**summary, "as_of": summary["as_of"].isoformat()}, ensure_ascii=False))


@app.command()
def models() -> None:
    """The stored model versions, newest loaded first (tab-separated)."""

    async def listing(ctx: ScoringContext) -> list[dict[str, Any]]:
        return await model_versions.all_models(ctx)

    print("\t".join(("version", "effective_from", "in_effect", "loaded_at", "loaded_by", "rescored")))
    for m in run_in_context(_create_app, listing):
        print("\t".join((m["version"], str(m["effective_from"]), "yes" if m["in_effect"] else "no",
                         m["loaded_at"].isoformat(), m["loaded_by"], str(m["rescored_enterprises"] or "-"))))
