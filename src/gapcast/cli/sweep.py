"""``gapcast sweep``: a hyperparameter search whose trials are ordinary runs, followed to the end.

The search space is given per parameter (``--param learning_rate=float:1e-4:1e-1:log``) or as a
JSON file (``--space space.json``). Without ``--server`` a server is started in this process on the
configured database (as ``train`` does). Ctrl-C cancels the sweep (its running trials too); with
``--detach`` the command returns as soon as the sweep is accepted.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.table import Table

from gapcast.cli.common import (
    EXIT_RUN_FAILED,
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    err_console,
    handle_errors,
    parse_assignment,
    read_json_object,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.output import print_json
from gapcast.cli.training import config_ref, server_for
from gapcast.client import error_from
from gapcast.errors import InvalidInput

POLL_S = 1.0
SPEC_HELP = (
    "PATH=SPEC, repeatable. SPEC: float:LOW:HIGH[:log], int:LOW:HIGH[:STEP|:log], "
    "choice:A,B,... or a JSON object. PATH: hyperparameters.<name>, learning_rate, batch_size, "
    "epochs, lookback, ..."
)


def parse_param(text: str) -> tuple[str, dict[str, Any]]:
    """``learning_rate=float:1e-4:1e-1:log`` → ``("learning_rate", {"type": "float", ...})``."""
    path, sep, spec = text.partition("=")
    if not sep or not path.strip() or not spec:
        raise InvalidInput(f"--param: expected PATH=SPEC, received {text!r}", field="space")
    path, spec = path.strip(), spec.strip()
    if spec.startswith("{"):
        try:
            return path, dict(json.loads(spec))
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise InvalidInput(f"--param {path}: {exc}", field=f"space.{path}") from exc
    kind, _, rest = spec.partition(":")
    parts = rest.split(":") if rest else []
    try:
        if kind == "choice":
            return path, {"type": "categorical", "choices": [_scalar(v) for v in rest.split(",")]}
        if kind in ("float", "int") and len(parts) in (2, 3):
            number = float if kind == "float" else int
            out: dict[str, Any] = {"type": kind, "low": number(parts[0]), "high": number(parts[1])}
            if len(parts) == 3:
                if parts[2] == "log":
                    out["log"] = True
                else:
                    out["step"] = number(parts[2])
            return path, out
    except ValueError as exc:
        raise InvalidInput(f"--param {path}={spec}: {exc}", field=f"space.{path}") from exc
    raise InvalidInput(
        f"--param {path}={spec}: expected float:LOW:HIGH[:log], int:LOW:HIGH[:STEP|:log], "
        "choice:A,B,... or a JSON object",
        field=f"space.{path}",
    )


def _scalar(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text.strip()


def load_space(space_file: Path | None, params: list[str]) -> dict[str, Any]:
    space: dict[str, Any] = {}
    if space_file is not None:
        space.update(read_json_object(space_file, label=f"--space {space_file}", field="space"))
    space.update(parse_param(text) for text in params)
    if not space:
        raise InvalidInput("give the search space with --param or --space", field="space")
    return space


@handle_errors
def sweep_command(
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="Dataset name or id", show_default=False)
    ],
    params: Annotated[list[str] | None, typer.Option("--param", "-p", help=SPEC_HELP)] = None,
    space_file: Annotated[
        Path | None, typer.Option("--space", help="The search space as a JSON file")
    ] = None,
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Stored config name or id, or a JSON file"),
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option("--set", help="An override for every trial, KEY=JSON (repeatable)"),
    ] = None,
    trials: Annotated[int, typer.Option(min=1, help="How many trials")] = 10,
    parallel: Annotated[int, typer.Option(min=1, help="Trials queued at once")] = 1,
    objective: Annotated[str, typer.Option(help="val_loss, loss or metrics.<name>")] = "val_loss",
    maximize: Annotated[bool, typer.Option("--maximize", help="Higher is better")] = False,
    sampler: Annotated[str, typer.Option(help="tpe, random or grid")] = "tpe",
    seed: Annotated[int | None, typer.Option(help="Sampler seed (default: random)")] = None,
    name: Annotated[str | None, typer.Option(help="A name to find the sweep by")] = None,
    detach: Annotated[bool, typer.Option(help="Return once the sweep is accepted")] = False,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Search hyperparameters: each trial is a run; the best one is marked when all are done."""
    overrides = dict(parse_assignment(a) for a in assignments or [])
    body = {
        "dataset": dataset,
        "config": config_ref(config),
        "overrides": overrides,
        "space": load_space(space_file, params or []),
        "trials": trials,
        "parallel": parallel,
        "objective": objective,
        "direction": "maximize" if maximize else "minimize",
        "sampler": sampler,
        "seed": seed,
        "name": name,
    }
    cfg = load_settings(db)
    headers = (
        {"Authorization": f"Bearer {token or cfg.api_token}"} if token or cfg.api_token else {}
    )
    with server_for(server, cfg) as url, httpx.Client(base_url=url, headers=headers) as http:
        sweep = _call(http, "POST", "/sweeps", json=body)
        if detach:
            _print(sweep, as_json=as_json, detached=True)
            return
        try:
            sweep = follow_sweep(http, sweep["id"], quiet=as_json)
        except KeyboardInterrupt:
            sweep = _call(http, "POST", f"/sweeps/{sweep['id']}/cancel")
            err_console.print(f"sweep {sweep['id']} cancelled")
    _print(sweep, as_json=as_json)
    if sweep["status"] != "succeeded":
        raise typer.Exit(EXIT_RUN_FAILED)


def follow_sweep(http: httpx.Client, sweep_id: str, *, quiet: bool) -> dict[str, Any]:
    """Poll until the sweep ends, printing each trial as it finishes."""
    reported: set[str] = set()
    if not quiet:
        console.print(f"sweep {sweep_id}: trials are runs; follow one with 'gapcast runs watch'")
    while True:
        sweep = _call(http, "GET", f"/sweeps/{sweep_id}")
        for trial in sweep["trial_runs"]:
            if trial["status"] in ("queued", "running") or trial["run_id"] in reported:
                continue
            reported.add(trial["run_id"])
            if not quiet:
                value = "—" if trial["value"] is None else f"{trial['value']:.6g}"
                console.print(
                    f"  trial {trial['number'] + 1}/{sweep['trials']} {trial['status']:<9} "
                    f"{sweep['objective']}={value}  {_params(trial['params'])}",
                    highlight=False,
                )
        if sweep["status"] != "running":
            return sweep
        time.sleep(POLL_S)


def _params(params: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return " ".join(f"{k.removeprefix('hyperparameters.')}={show(v)}" for k, v in params.items())


def _call(http: httpx.Client, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    response = http.request(method, path, timeout=60, **kwargs)
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": "error", "message": f"HTTP {response.status_code}: {response.text}"}
        raise error_from(error)
    return dict(response.json())


def _print(sweep: dict[str, Any], *, as_json: bool, detached: bool = False) -> None:
    if as_json:
        print_json(sweep)
        return
    if detached:
        console.print(f"sweep {sweep['id']} started; see it with GET /sweeps/{sweep['id']}")
        return
    if sweep["status"] != "succeeded":
        err_console.print(
            f"[bold red]sweep {sweep['status']}:[/] {sweep.get('error') or ''}", highlight=False
        )
        return
    table = Table(title=f"sweep {sweep['id']}", title_justify="left")
    for column in ("trial", sweep["objective"], "status", "parameters", "run"):
        table.add_column(column)
    for trial in sweep["trial_runs"] or []:
        value = "—" if trial["value"] is None else f"{trial['value']:.6g}"
        mark = " ★" if trial["best"] else ""
        table.add_row(
            f"{trial['number'] + 1}{mark}",
            value,
            trial["status"],
            _params(trial["params"]),
            trial["run_id"][:8],
        )
    console.print(table)
    console.print(
        f"[green]✓[/] best: run {sweep['best_run_id']} with {sweep['objective']}="
        f"{sweep['best_value']:.6g}",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep_command)
