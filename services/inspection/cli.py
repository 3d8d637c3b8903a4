"""Inspection: run the daily cut-off or the maintenance check now, verify a record chain, publish chain heads.

These work on the inspection database named by the environment (as the service does); the events
they write wait in the outbox until the running service's relay publishes them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import typer
from rich.console import Console

from services.inspection import jobs
from services.inspection.chain import service as chain
from services.inspection.context import InspectionContext
from services.inspection.corrections.service import content_checks as correction_checks
from services.inspection.hazards.service import content_checks as self_inspection_checks
from services.inspection.records.service import content_checks
from shared.cli_runtime import REBUILD_HELP, command_principal, rebuild_command, run_in_context, run_with_runtime
from shared.locality import is_division_code

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)
console = Console(stderr=True)


def _create_app():  # type: ignore[no-untyped-def]
    from services.inspection.main import create_app

    return create_app()


app.command("rebuild", help=REBUILD_HELP)(rebuild_command(_create_app))


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=lambda v: v.isoformat() if isinstance(v, date | datetime)
                      else str(v))


@app.command()
def cutoff(day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                        help="the business date (default: today, Asia/Shanghai)"),
           jurisdiction: str = typer.Option(None, "--jurisdiction",
                                            help="only this subtree's units, e.g. one city (default: all)")) -> None:
    """Run the daily cut-off for a business date now (what the scheduler does at each city's cut-off time)."""
    if jurisdiction is not None and not is_division_code(jurisdiction):
        raise typer.BadParameter(f"{jurisdiction} is not a division code (6, 9 or 12 digits)",
                                 param_hint="--jurisdiction")
    principal = command_principal()

    async def work(runtime):  # type: ignore[no-untyped-def]
        from shared.context import unit_of_work

        when = day.date() if day else None
        if when is None:
            async with unit_of_work(runtime) as ctx:
                when = ctx.today()
        return await jobs.run_cutoff(runtime, when, principal, trigger="cli", jurisdiction_code=jurisdiction)

    print(_json(run_with_runtime(_create_app, work)))


@app.command("verify-chain")
def verify_chain(uscc: str = typer.Argument(..., help="the enterprise's USCC")) -> None:
    """Recompute an enterprise's record chain; exit 1 and name the first broken link if it does not hold."""

    async def work(ctx: InspectionContext) -> dict[str, Any]:
        return await chain.verify(ctx, uscc, [*content_checks(), *correction_checks(), *self_inspection_checks()])

    result = run_in_context(_create_app, work)
    print(_json(result))
    if not result["intact"]:
        broken = result["first_broken"]
        console.print(f"[red]broken[/] at link {broken['sequence']}: {broken['reason']}")
        raise typer.Exit(1)
    console.print(f"[green]intact[/]: {result['links']} links, {result['published_heads']} published heads agree")


@app.command("maintenance-check")
def maintenance_check(day: datetime = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                                   help="as of this business date (default: today)")) -> None:
    """Report maintenance lapses now (what the daily job does)."""
    principal = command_principal()
    print(_json(run_with_runtime(_create_app, lambda runtime: jobs.run_maintenance_check(
        runtime, day.date() if day else None, principal))))


@app.command("publish-heads")
def publish_heads() -> None:
    """Publish the heads of chains that grew since their last published head (what the timer does)."""
    published = run_in_context(_create_app, lambda ctx: chain.publish_due_heads(ctx))
    console.print(f"published {len(published)} chain heads")
