"""Enforcement: the policy files (alerts, supervision, legal basis), the SLA sweep and webhook deliveries, by hand.

These work on the enforcement database named by the environment (as the service does); the
events they write wait in the outbox until the running service's relay publishes them.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import typer
from rich.console import Console

from services.enforcement import jobs
from services.enforcement.domain.legal_basis import CatalogueInvalid, parse_catalogue
from services.enforcement.domain.policy import PolicyInvalid, load_policies, parse_policy
from services.enforcement.domain.supervision import MONTH_PATTERN, SupervisionPolicyInvalid, parse_supervision_policy
from shared.cli_runtime import REBUILD_HELP, rebuild_command, run_with_runtime
from shared.locality import business_today

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)
console = Console(stderr=True)


def _create_app():  # type: ignore[no-untyped-def]
    from services.enforcement.main import create_app

    return create_app()


app.command("rebuild", help=REBUILD_HELP)(rebuild_command(_create_app))


PARSERS = {"alerts": (parse_policy, PolicyInvalid), "supervision": (parse_supervision_policy, SupervisionPolicyInvalid),
           "legal-basis": (parse_catalogue, CatalogueInvalid)}


@app.command("check-policy")
def check_policy(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
                 kind: str = typer.Option("alerts", help="alerts, supervision or legal-basis")) -> None:
    """Validate a policy file (alerts, supervision or the legal-basis catalogue); print its
    problems and exit 1 when it is invalid."""
    if kind not in PARSERS:
        console.print(f"[red]-[/] --kind is one of {', '.join(PARSERS)}")
        raise typer.Exit(2)
    parse, invalid = PARSERS[kind]
    try:
        policy = parse(file.read_text(encoding="utf-8"))  # type: ignore[operator]
    except invalid as exc:  # type: ignore[misc]
        for problem in exc.problems:
            console.print(f"[red]-[/] {problem}")
        raise typer.Exit(1) from None
    console.print(f"[green]valid[/] {policy.version} (effective from {policy.effective_from})")


@app.command()
def policies() -> None:
    """The packaged alert policy versions and the one in effect today (tab-separated)."""
    from services.enforcement.config import Settings

    settings = Settings()
    book = load_policies(Path(settings.policy_dir)) if settings.policy_dir else load_policies()
    current = book.in_effect(business_today())
    print("version\teffective_from\tin_effect")
    for policy in book.policies:
        print(f"{policy.version}\t{policy.effective_from}\t{'yes' if policy is current else 'no'}")


@app.command()
def sweep() -> None:
    """Escalate every alert whose SLA passed, now (what the service does every few seconds)."""
    moved = run_with_runtime(_create_app, jobs.sweep_once)
    console.print(f"{moved} alerts escalated")


@app.command("deliver-webhooks")
def deliver_webhooks() -> None:
    """Send the webhook deliveries due now, once."""

    async def work(runtime):  # type: ignore[no-untyped-def]
        async with httpx.AsyncClient(timeout=runtime.settings.webhook_timeout_s) as client:
            return await jobs.deliver_once(runtime, client)

    console.print(f"{run_with_runtime(_create_app, work)} deliveries attempted")


@app.command("generate-plans")
def generate_plans(month: str = typer.Option(None, help="YYYY-MM (default: this month)")) -> None:
    """Generate the month's supervision plan of every district that has none yet."""
    if month is not None and not re.fullmatch(MONTH_PATTERN, month):
        console.print("[red]-[/] --month is YYYY-MM")
        raise typer.Exit(2)
    made = run_with_runtime(_create_app, lambda runtime: jobs.generate_month_plans(runtime, month))
    console.print(f"{len(made)} plans generated")
