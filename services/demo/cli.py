"""The demo city 日照市 across every service: its ledger, weeks of records, cut-offs, alerts,
self-inspection, hazards, patrols, cases, ratings and reports."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
import typer
from rich.console import Console

from services.catalog import SERVICES

if TYPE_CHECKING:
    from services.demo.city import Platform

app = typer.Typer(help=__doc__, no_args_is_help=True)
console = Console(stderr=True, highlight=False)


def _say(text: str) -> None:
    print(text, flush=True)


def grid_inspectors() -> dict[str, list[dict[str, str]]]:
    import yaml

    from services.registry.demo import PACKAGED_JURISDICTIONS
    from services.registry.domain.placement import flatten_tree

    nodes = flatten_tree(yaml.safe_load(PACKAGED_JURISDICTIONS.read_text(encoding="utf-8"))["jurisdictions"])
    return {n["code"]: list(n["inspectors"]) for n in nodes if n["inspectors"]}


async def _ready(platform: Platform) -> list[str]:
    down = []
    for info in SERVICES:
        try:
            if (await platform.client.get(platform.url(info.name, "/readyz"))).status_code != 200:
                down.append(info.name)
        except httpx.HTTPError:
            down.append(info.name)
    return down


async def _load(size: int, seed: int, if_empty: bool, with_headline: bool) -> int:
    from services.demo import city
    from services.registry.demo import load_demo
    from services.registry.main import create_app
    from shared.cli_runtime import command_runtime

    platform = city.Platform()
    try:
        down = await _ready(platform)
        if down:
            console.print(f"[red]not running: {', '.join(down)}[/] (start the platform first: make run)")
            return 2
        started = time.monotonic()

        def progress(kind: str, rows: int) -> None:
            _say(f"  registry: {rows} {kind} ({time.monotonic() - started:.1f}s)")

        async with command_runtime(create_app) as runtime:
            units = await load_demo(runtime, size, include_headline=with_headline, seed=seed, progress=progress)
        if not units:
            console.print("the registry already holds enterprises: nothing loaded")
            if if_empty:
                for line in await city.where_to_look(platform):
                    _say(line)
            return 0 if if_empty else 1
        _say(f"registry: {len(units)} units of 日照市 (371100) in {time.monotonic() - started:.1f}s")
        waited = time.monotonic()
        # Later steps name the stations and sampled units: wait until every service has the ledger.
        settle_s = min(60 + size * 0.01, 300.0)  # a benchmark city's platform digests for long: go on
        await city.wait_for_scores(platform, len(units), settle_s)
        _say(f"  every unit scored in {time.monotonic() - waited:.1f}s")
        plan = city.plan_for(units, seed, grid_inspectors())
        tally = await city.apply_city(platform, units, plan, _say, settle_s=settle_s)
        mix = await city.grades(platform)
        _say(f"loaded the demo city in {time.monotonic() - started:.1f}s:")
        for name, count in sorted(tally.counts.items()):
            _say(f"  {name}: {count}")
        total = mix["total"] or 1
        _say("  grades: " + ", ".join(f"{g} {mix[g]} ({100 * mix[g] / total:.0f}%)" for g in "ABCD")
             + f" of {mix['total']}")
        for line in await city.where_to_look(platform):
            _say(line)
        return 0
    except city.DemoFailed as exc:
        console.print(f"[red]the demo city failed:[/] {exc}")
        return 1
    finally:
        await platform.client.aclose()


@app.command("load")
def load(
    size: int = typer.Option(300, min=20, max=200_000, help="how many units (enterprises) the registry gets"),
    seed: int = typer.Option(371100, help="the same seed, the same city"),
    if_empty: bool = typer.Option(False, "--if-empty", help="a registry holding enterprises is not an error: skip"),
    with_headline: bool = typer.Option(False, help="also register the headline enterprise of contract.md §5"),
) -> None:
    """Build the demo city on the running platform: the ledger in registry, then records, cut-offs,
    tasks, hazards, patrols, cases, ratings and reports through the other services' APIs."""
    result: Any = asyncio.run(_load(size, seed, if_empty, with_headline))
    raise typer.Exit(result)
