"""The registry's ledger: import a city's files, load the demo city, run the daily job.

Commands act directly on the registry's database (SAFEGRID_REGISTRY_DATABASE_URL), migrating it
first, as an administrator; the events they write leave through the running service's outbox
relay (or the next time it starts)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.app import ServiceRuntime
from shared.cli_runtime import run_in_context, run_with_runtime

if TYPE_CHECKING:
    from services.registry.context import RegistryContext

app = typer.Typer(help=__doc__, no_args_is_help=True)
jurisdictions_app = typer.Typer(help="The jurisdiction tree (三级网络、网格化).", no_args_is_help=True)
app.add_typer(jurisdictions_app, name="jurisdictions")
console = Console(stderr=True)


def _run(work: Callable[[ServiceRuntime], Any]) -> Any:
    """``work(runtime)``: it opens its own units of work (imports, the demo, the daily job)."""
    from services.registry.main import create_app

    return run_with_runtime(create_app, work)


def _run_in_context(work: Callable[[RegistryContext], Any]) -> Any:
    """``work(ctx)`` in one unit of work, acting as the administrator named after the login."""
    from services.registry.main import create_app

    return run_in_context(create_app, work)


@app.command("import")
def import_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="CSV or XLSX file"),
    mapping: Path | None = typer.Option(None, exists=True, dir_okay=False,
                                           help="YAML mapping of your headers to ours (see `example-mapping`)"),
    report: Path | None = typer.Option(None, help="write the row-level report (CSV) here"),
    kind: str | None = typer.Option(None, help="enterprises | equipment | operators (default: inferred)"),
    allow_invalid_check_digit: bool = typer.Option(False, help="accept USCCs failing the checksum"),
) -> None:
    """Load enterprises, equipment and operators; rows are upserted, bad rows reported."""
    from services.registry.imports.mapping import MappingError, load_mapping
    from services.registry.imports.readers import UnreadableFile
    from services.registry.imports.service import import_file

    try:
        loaded_mapping = load_mapping(mapping)
    except MappingError as exc:  # a wrong mapping file: say where, exit 1, no traceback
        console.print(f"--mapping {mapping}: {exc}", style="red", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from exc
    content = file.read_bytes()

    async def work(ctx: RegistryContext) -> Any:  # import_file commits per chunk itself, through ctx.runtime
        columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress:
            tasks: dict[str, Any] = {}

            def on_progress(sheet_kind: str, done: int, total: int | None) -> None:
                if sheet_kind not in tasks:
                    tasks[sheet_kind] = progress.add_task(sheet_kind, total=total)
                progress.update(tasks[sheet_kind], completed=done, total=max(total or done, done))

            return await import_file(ctx, content, filename=file.name, mapping=loaded_mapping,
                                     kind=kind, progress=on_progress,
                                     allow_invalid_check_digit=allow_invalid_check_digit)

    try:
        run, result = _run_in_context(work)
    except (MappingError, UnreadableFile) as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    table = Table("ledger", "rows", "inserted", "updated", "unchanged", "rejected")
    for ledger_kind, counts in result.counts.items():
        table.add_row(ledger_kind, *(str(getattr(counts, k)) for k in ("rows", "inserted", "updated", "unchanged",
                                                                          "rejected")))
    Console().print(table)
    if report:
        report.write_text(result.report_csv(), encoding="utf-8")
        console.print(f"report: {report} ({len(result.errors)} row errors)")
    else:
        for error in result.errors[:20]:
            console.print(f"[yellow]{error.sheet} row {error.row}[/] {error.field}: {error.message}")
        if len(result.errors) > 20:
            console.print(f"… {len(result.errors) - 20} more; pass --report FILE for all of them")
    console.print(f"import {run.id}: {result.events} events queued")
    raise typer.Exit(1 if result.errors else 0)


@app.command("example-mapping")
def example_mapping() -> None:
    """Print the example mapping file (Chinese headers of a legacy city export)."""
    from services.registry.imports.mapping import EXAMPLE_MAPPING

    print(EXAMPLE_MAPPING.read_text(encoding="utf-8"), end="")


@app.command("demo")
def demo(
    enterprises: int = typer.Option(300, min=20, max=200_000, help="how many enterprises"),
    seed: int = typer.Option(371100, help="the same seed, the same city"),
    with_headline: bool = typer.Option(
        False, help="also register the headline enterprise of contract.md §5 (left out by default so that a "
                    "black-box run of the headline chain can register it itself)"),
    if_empty: bool = typer.Option(False, "--if-empty", help="a registry that holds enterprises is not an error"),
) -> None:
    """Load the registry's part of the demo city 日照市 into an empty registry (`safegrid demo load`
    loads the whole city, every service)."""
    from services.registry.demo import load_demo

    async def work(runtime: ServiceRuntime) -> int:
        return len(await load_demo(runtime, enterprises, include_headline=with_headline, seed=seed))

    loaded = _run(work)
    if loaded == 0:
        console.print("the registry already holds enterprises: nothing loaded")
        raise typer.Exit(0 if if_empty else 1)
    else:
        console.print(f"[green]loaded[/] {loaded} enterprises of 日照市 (371100)")


@app.command("daily-job")
def daily_job(
    day: datetime | None = typer.Option(None, "--date", formats=["%Y-%m-%d"],
                                           help="business date (default today, Asia/Shanghai)"),
) -> None:
    """Publish inspections overdue and certificates expired as of a date (idempotent)."""
    from services.registry.jobs import run_daily_job_now

    business_date: date | None = day.date() if day else None
    result = _run(lambda runtime: run_daily_job_now(runtime, business_date))
    console.print(f"{result.date}: {len(result.inspections_overdue)} inspections overdue, "
                  f"{len(result.certificates_expired)} certificates expired, "
                  f"{len(result.key_supervision_released)} released from accident key supervision")


@jurisdictions_app.command("load")
def load_jurisdictions(file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                                   help="YAML tree, like services/registry/data/rizhao.yaml")) -> None:
    """Upsert a jurisdiction tree (codes, names, bounds, grid inspectors)."""
    from services.registry.enterprises.service import load_jurisdictions as load

    async def work(ctx: RegistryContext) -> int:
        return await load(ctx, file)

    try:
        count = _run_in_context(work)
    except ValueError as exc:
        console.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    console.print(f"[green]loaded[/] {count} jurisdictions")
