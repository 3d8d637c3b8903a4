"""Portal: rebuild the read model from the topics.

These work on the portal database named by the environment (as the service does).
"""

from __future__ import annotations

import typer

from shared.cli_runtime import REBUILD_HELP, rebuild_command

app = typer.Typer(help=__doc__.splitlines()[0], no_args_is_help=True)


def _create_app():  # type: ignore[no-untyped-def]
    from services.portal.main import create_app

    return create_app()


app.command("rebuild", help=REBUILD_HELP)(rebuild_command(_create_app))
