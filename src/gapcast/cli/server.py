"""``gapcast serve``: the training server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from gapcast.cli.common import DbOption, handle_errors
from gapcast.cli.common import settings as load_settings
from gapcast.config import Settings
from gapcast.errors import InvalidInput


@handle_errors
def serve_command(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default 127.0.0.1; others need a token)")
    ] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765)")] = None,
    workers_max: Annotated[
        int | None, typer.Option("--workers-max", min=1, help="Trainings run at once")
    ] = None,
    executor: Annotated[
        str | None, typer.Option(help="'local' worker processes (default) or 'ray' tasks")
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(
            "--ray-address",
            help="With --executor ray: 'local' (start Ray here, the default), 'auto' (the "
            "cluster running on this machine) or the head's GCS address host:6379",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    db: str | None = DbOption,
) -> None:
    """Serve the REST API and the training WebSockets until Ctrl-C."""
    from gapcast.api.server import serve

    base = load_settings(db)
    changes = {
        k: v
        for k, v in {
            "host": host,
            "port": port,
            "workers_max": workers_max,
            "executor": executor,
            "ray_address": ray_address,
        }.items()
        if v is not None
    }
    serve(settings_with(base, changes), log_level=log_level)


def settings_with(base: Settings, changes: dict[str, Any]) -> Settings:
    """``base`` with command-line values, validated like the environment variables."""
    try:
        return Settings.model_validate({**base.model_dump(), **changes})
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else "settings"
        raise InvalidInput(f"--{name.replace('_', '-')}: {error['msg']}", field=name) from exc


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
