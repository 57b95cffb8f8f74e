"""``gapcast serve``: the training server."""

from __future__ import annotations

from typing import Annotated

import typer

from gapcast.cli.common import DbOption, handle_errors
from gapcast.cli.common import settings as load_settings


@handle_errors
def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default 127.0.0.1; others need a token)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765)")] = None,
    workers_max: Annotated[
        int | None, typer.Option("--workers-max", min=1, help="Trainings run at once")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    db: str | None = DbOption,
) -> None:
    """Serve the REST API and the training WebSockets until Ctrl-C."""
    from gapcast.api.server import serve

    base = load_settings(db)
    changes = {
        k: v
        for k, v in {"host": host, "port": port, "workers_max": workers_max}.items()
        if v is not None
    }
    serve(base.model_copy(update=changes), log_level=log_level)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
