"""``gapcast configs create/list/show``: named training configurations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.syntax import Syntax

from gapcast.cli.backend import open_backend
from gapcast.cli.common import (
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    handle_errors,
    parse_assignment,
    read_json_object,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.output import print_json, print_records, timestamp

configs_app = typer.Typer(help="Create, list and show named training configurations.")


def config_body(file: Path | None, model: str | None, assignments: list[str]) -> dict[str, Any]:
    """A config from a JSON file (or the defaults) with ``--model`` and ``--set`` applied; the
    server's TrainingConfig checks it, so any error names the field."""
    from gapcast.training_config import TrainingConfig

    body = {} if file is None else read_json_object(file, label=str(file), field="file")
    overrides = dict(parse_assignment(a) for a in assignments)
    if model is not None:
        overrides["model"] = model
    if not overrides:
        return body
    from pydantic import ValidationError

    from gapcast.api.errors import invalid_from_validation
    from gapcast.api.submit import validate_config

    config: TrainingConfig = validate_config(body)
    if "model" in overrides and "hyperparameters" not in overrides:
        overrides["hyperparameters"] = {}  # the old model's hyperparameters do not carry over
    try:
        return config.with_overrides(overrides).model_dump(mode="json")
    except ValidationError as exc:
        raise invalid_from_validation(exc, body, prefix="config") from exc


@configs_app.command("create")
@handle_errors
def create_command(
    name: Annotated[str, typer.Argument(help="Name of the new config", show_default=False)],
    file: Annotated[
        Path | None, typer.Argument(help="JSON file (default: the defaults)", show_default=False)
    ] = None,
    model: Annotated[str | None, typer.Option(help="Model name")] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="KEY=JSON, e.g. --set epochs=30 --set lookback=52 --set resample.agg=hold"
        ),
    ] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Store a named training configuration (checked before it is stored)."""
    body = config_body(file, model, assignments or [])
    with open_backend(server, token, load_settings(db).database_url) as backend:
        row = backend.create_config(name, body)
    if as_json:
        print_json(row)
        return
    console.print(f"created config [bold]{row['name']}[/] (id {row['id']}, model {row['model']})")


@configs_app.command("list")
@handle_errors
def list_command(
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List the stored configurations."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        rows = backend.configs()
    print_records(
        rows,
        as_json=as_json,
        columns=("id", "name", "model", "epochs", "lookback", "horizon", "updated"),
        cells=_config_cells,
    )


def _config_cells(r: dict[str, Any]) -> tuple[str, ...]:
    window: dict[str, Any] = next(
        (s for s in r["config"]["preprocessing"] if s["step"] == "window"), {}
    )
    return (
        str(r["id"]),
        r["name"],
        r["model"],
        str(r["config"]["training"]["epochs"]),
        str(window.get("lookback", "")),
        str(window.get("horizon", "")),
        timestamp(r["updated_at"]),
    )


@configs_app.command("show")
@handle_errors
def show_command(
    ref: Annotated[str, typer.Argument(help="Config name or id", show_default=False)],
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Show one configuration as JSON (every default filled in)."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        row = backend.config(ref)
    if as_json:
        print_json(row)
        return
    console.print(f"config [bold]{row['name']}[/] (id {row['id']})")
    console.print(Syntax(json.dumps(row["config"], indent=2), "json", theme="ansi_dark"))


def register(app: typer.Typer) -> None:
    app.add_typer(configs_app, name="configs")
