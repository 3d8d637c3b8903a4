"""``safegrid``: the one command-line tool. Services add their own sub-commands in their
``cli.py`` (a ``typer.Typer`` named ``app``), mounted here under the service's name."""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from services.catalog import BY_NAME, SERVICES
from shared.config import ServiceSettings

app = typer.Typer(help="safegrid: credit-risk supervision of special equipment.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
outbox_app = typer.Typer(help="The transactional outboxes of the services.", no_args_is_help=True)
events_app = typer.Typer(help="The event catalogue.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations (developers).", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(events_app, name="events")
app.add_typer(db_app, name="db")
console = Console(stderr=True)

ServiceOption = typer.Option(None, "--service", "-s", help="one service (default: all)")


def _selected(service: str | None):  # type: ignore[no-untyped-def]
    if service is None:
        return list(SERVICES)
    if service not in BY_NAME:
        raise typer.BadParameter(f"unknown service {service!r}; one of {', '.join(BY_NAME)}")
    return [BY_NAME[service]]


@app.command()
def dev(
    no_demo: bool = typer.Option(False, "--no-demo", help="do not load the demo city into empty databases"),
    broker_port: int = typer.Option(9092, help="port of the embedded broker"),
) -> None:
    """Run the whole platform locally: embedded broker, migrations, all five services."""
    from services.devrun import run_dev

    raise typer.Exit(run_dev(load_demo=not no_demo, broker_port=broker_port))


@app.command()
def serve(service: str = typer.Argument(..., help="which service"),
          host: str | None = None, port: int | None = None) -> None:
    """Run one service (what a Kubernetes pod runs)."""
    import uvicorn

    info = _selected(service)[0]
    settings = info.settings()
    uvicorn.run(info.app_path, factory=True, host=host or settings.host, port=port or settings.effective_port,
                log_config=None, access_log=False, lifespan="on")


@app.command()
def token(
    role: str = typer.Option(..., help="regulator | enterprise | association | integrator | admin"),
    jurisdiction: str | None = typer.Option(None, help="division code (regulators)"),
    enterprise: str | None = typer.Option(None, help="USCC (enterprise users)"),
    sub: str | None = typer.Option(None, help="subject; defaults to dev-<role>"),
    scope: list[str] | None = typer.Option(None, help="integrator scopes"),
    ttl: int = typer.Option(12 * 3600, help="lifetime in seconds"),
) -> None:
    """Print a signed development JWT on stdout, nothing else."""
    from shared.auth import issue_token

    try:
        print(issue_token(ServiceSettings(), role=role, sub=sub, jurisdiction=jurisdiction,
                          enterprise=enterprise, scopes=scope, ttl_s=ttl))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@app.command()
def migrate(service: str | None = ServiceOption) -> None:
    """Apply every pending migration to each service's database."""
    from sqlalchemy.engine import make_url

    from shared.migrations import upgrade

    for info in _selected(service):
        settings = info.settings()
        asyncio.run(upgrade(info.migrations, settings.effective_database_url))
        shown = make_url(settings.effective_database_url).render_as_string(hide_password=True)
        console.print(f"[green]migrated[/] {info.name}: {shown}")


@db_app.command("revision")
def db_revision(service: str = typer.Option(..., "--service", "-s"),
                message: str = typer.Option(..., "--message", "-m")) -> None:
    """Autogenerate a migration from the models (against the service's configured database)."""
    from shared.migrations import autogenerate

    info = _selected(service)[0]
    autogenerate(info.migrations, info.settings().effective_database_url, message)


@app.command()
def topics(bootstrap: str | None = typer.Option(None, help="bootstrap servers")) -> None:
    """Create the platform's topics and their DLQs on the broker (idempotent)."""
    from shared.events.kafka import ensure_topics
    from shared.events.topics import all_topics

    servers = bootstrap or ServiceSettings().kafka_bootstrap_servers
    created = asyncio.run(ensure_topics(servers))
    for topic in all_topics():
        console.print(f"{'[green]created[/]' if topic in created else '[dim]exists[/] '} {topic}")


@outbox_app.command("replay")
def outbox_replay(
    since: datetime = typer.Option(..., help="republish events written at or after this time (ISO 8601)"),
    service: str | None = ServiceOption,
) -> None:
    """Republish events (same ids) after a broker lost them; consumers drop what they applied."""
    from shared.events.maintenance import replay_outbox

    for info in _selected(service):
        count = asyncio.run(replay_outbox(info.module("models").platform, info.settings(), since))
        console.print(f"{info.name}: {count} events queued for republishing")


@outbox_app.command("unpark")
def outbox_unpark(
    topic: str | None = typer.Option(None, "--topic", "-t", help="only this topic's parked events (default: all)"),
    service: str | None = ServiceOption,
) -> None:
    """Retry parked events (e.g. once their topic exists); those still unsendable park again."""
    from shared.events.maintenance import unpark_outbox

    for info in _selected(service):
        count = asyncio.run(unpark_outbox(info.module("models").platform, info.settings(), topic))
        console.print(f"{info.name}: {count} parked events queued again")


@outbox_app.command("status")
def outbox_status(service: str | None = ServiceOption) -> None:
    """Show each outbox's backlog."""
    from shared.events.maintenance import outbox_status as status

    table = Table("service", "unpublished", "of which parked (unsendable)", "parked by topic", "oldest unpublished",
                  "total")
    for info in _selected(service):
        row = asyncio.run(status(info.module("models").platform, info.settings()))
        by_topic = ", ".join(f"{topic}: {count}" for topic, count in row["parked_by_topic"].items()) or "-"
        table.add_row(info.name, str(row["unpublished"]), str(row["parked"]), by_topic, str(row["oldest"] or "-"),
                      str(row["total"]))
    Console().print(table)


@events_app.command("docs")
def events_docs(out: Path | None = typer.Option(None, help="write here instead of stdout")) -> None:
    """The event catalogue as an AsyncAPI 3.0 document (JSON)."""
    from shared.contracts.catalogue import asyncapi_document

    text = json.dumps(asyncapi_document(), ensure_ascii=False, indent=2)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
    else:
        print(text)


@events_app.command("list")
def events_list() -> None:
    """Every event type with its topic."""
    from shared.contracts.catalogue import catalogue

    table = Table("type", "topic", "summary")
    for spec in catalogue().values():
        table.add_row(spec.type, spec.topic, spec.summary)
    Console().print(table)


def _mount_service_commands() -> None:
    for info in SERVICES:
        try:
            module = importlib.import_module(f"{info.package}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"{info.package}.cli":
                raise
            continue
        app.add_typer(module.app, name=info.name, help=(module.__doc__ or "").strip().splitlines()[0]
                      if module.__doc__ else None)


def _mount_demo_command() -> None:
    from services.demo.cli import app as demo_app

    app.add_typer(demo_app, name="demo", help="The demo city 日照市 across every service.")


def main() -> None:
    _mount_service_commands()
    _mount_demo_command()
    app(prog_name="safegrid")


if __name__ == "__main__":
    sys.exit(main())
