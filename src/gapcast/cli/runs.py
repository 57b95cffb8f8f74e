"""``gapcast runs list/show/watch/cancel/export`` and ``gapcast predict``.

Reading commands work on the configured database, or on a server's REST API with ``--server``;
``watch`` and ``cancel`` talk to the server that runs the run (default: the configured
``GAPCAST_HOST``/``GAPCAST_PORT``), since only it can stream live events or stop its worker.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.table import Table

from gapcast.cli.backend import Backend, ServerBackend, open_backend, resolve_run_id
from gapcast.cli.common import (
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    default_server_url,
    handle_errors,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.output import print_json, print_records, timestamp
from gapcast.cli.progress import duration, number, summary_table, verdict_line, warning_lines
from gapcast.errors import NotFound

runs_app = typer.Typer(help="List, inspect, follow, cancel and export training runs.")

FILE_NAMES = {
    "model": "model.keras",
    "gap_model": "gap_model.keras",
    "plot": "forecast.png",
    "pipeline": "pipeline.json",
    "backtest": "backtest.json",
}
STATUS_COLOURS = {"succeeded": "green", "failed": "red", "running": "cyan", "interrupted": "red"}
RunArgument = typer.Argument(help="Run id (or its first characters)", show_default=False)


def export_run(backend: Backend, run_id: str, out: Path | None) -> dict[str, Path]:
    """Write a run's artifacts and its record (``run.json``) to ``out`` (default:
    ``./gapcast-out/run-<id>``); returns the written paths by kind."""
    run = backend.run(run_id)
    if not run["artifacts"]:
        raise NotFound(f"run {run_id} is {run['status']} and has no files", field="run_id")
    out = out or Path("gapcast-out") / f"run-{run_id[:8]}"
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for artifact in run["artifacts"]:
        kind = artifact["kind"]
        path = out / FILE_NAMES.get(kind, kind)
        path.write_bytes(backend.artifact(run_id, kind))
        written[kind] = path
    record = out / "run.json"
    record.write_text(json.dumps(run, indent=2))
    written["record"] = record
    return written


@runs_app.command("list")
@handle_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="Only runs with this status")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only runs on this dataset")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many (newest first)")] = 20,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List runs, newest first."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        rows = backend.runs(status=status, dataset=dataset, limit=limit)
    print_records(
        rows,
        as_json=as_json,
        columns=("run", "status", "dataset", "config", "model", "created", "epochs", "runtime"),
        cells=_run_cells,
    )


def _run_cells(r: dict[str, Any]) -> tuple[str, ...]:
    colour = STATUS_COLOURS.get(r["status"], "yellow")
    return (
        r["id"][:8],
        f"[{colour}]{r['status']}[/]",
        r["dataset"],
        r["config_name"] or "(inline)",
        r["model"],
        timestamp(r["created_at"]),
        number(r["epochs"]),
        duration(r["runtime_s"]),
    )


@runs_app.command("show")
@handle_errors
def show_command(
    run: Annotated[str, RunArgument],
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Show one run: status, config, results and files."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        record = backend.run(resolve_run_id(backend, run))
    if as_json:
        print_json(record)
        return
    console.print(
        f"run [bold]{record['id']}[/]: [bold]{record['status']}[/] — {record['model']} on "
        f"{record['dataset']} (config {record['config_name'] or 'inline'})",
        highlight=False,
    )
    if record.get("error"):
        console.print(f"[red]{record['error']}[/]", highlight=False)
    if record.get("metrics"):
        console.print(summary_table(record, title="results"))
        line = verdict_line(record)
        if line:
            console.print(line, highlight=False)
        for warning in warning_lines(record):
            console.print(warning, highlight=False)
    for artifact in record["artifacts"]:
        console.print(
            f"  {artifact['kind']:<10} {artifact['size']:>10,} bytes  {artifact['url']}",
            highlight=False,
        )


def _running_server(
    server: str | None, token: str | None, db: str | None
) -> tuple[str, str | None]:
    """The URL and token of the server that runs the runs: ``--server`` or the configured one."""
    cfg = load_settings(db)
    return (server or default_server_url(cfg)).rstrip("/"), token or cfg.api_token


@runs_app.command("watch")
@handle_errors
def watch_command(
    run: Annotated[str, RunArgument],
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Follow a run live from its first event (a finished run is replayed)."""
    from gapcast.cli.follow import follow_run
    from gapcast.cli.training import finish

    url, token = _running_server(server, token, db)
    run_id = resolve_run_id(ServerBackend(url, token), run)
    followed = follow_run(
        url,
        token,
        run_id=run_id,
        console=None if as_json else console,
        on_detach="stopped watching; run {run_id} goes on",
    )
    finish(followed, {}, as_json=as_json)


@runs_app.command("cancel")
@handle_errors
def cancel_command(
    run: Annotated[str, RunArgument],
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Cancel a queued or running run (a running one stops within a batch)."""
    backend = ServerBackend(*_running_server(server, token, db))
    run_id = resolve_run_id(backend, run)
    answer: dict[str, Any] = dict(backend.client.cancel(run_id))
    if as_json:
        print_json(answer)
        return
    console.print(f"run {run_id}: {answer['status']}", highlight=False)


@runs_app.command("export")
@handle_errors
def export_command(
    run: Annotated[str, RunArgument],
    out: Annotated[
        Path | None, typer.Option("--out", help="Directory (default ./gapcast-out/run-<id>)")
    ] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Write a run's .keras model, gap model, forecast PNG, pipeline and record to a directory."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        written = export_run(backend, resolve_run_id(backend, run), out)
    if as_json:
        print_json({kind: str(path) for kind, path in written.items()})
        return
    for kind, path in written.items():
        console.print(f"  {kind:<10} {path}", highlight=False)


@handle_errors
def predict_command(
    run: Annotated[str, RunArgument],
    csv: Annotated[
        Path | None,
        typer.Option(help="Recent points (timestamp + value columns); default: the run's dataset"),
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="When the forecast begins, e.g. 2024-05-01T12:00 (UTC unless an offset is "
            "given); default: the step after the last point. During an outage still going on, "
            "give the time you want the forecast from"
        ),
    ] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Forecast the next horizon steps with a finished run's model."""
    data = _csv_columns(csv) if csv is not None else None
    with open_backend(server, token, load_settings(db).database_url) as backend:
        result = backend.predict(resolve_run_id(backend, run), data, start)
    if as_json:
        print_json(result)
        return
    rows = result["forecast"]
    columns = list(rows[0]) if rows else ["timestamp"]
    table = Table(*columns, title=f"forecast of run {result['run_id'][:8]} ({result['source']})")
    for row in rows:
        table.add_row(*(str(row[c])[:19] if c == "timestamp" else number(row[c]) for c in columns))
    console.print(table)
    outage = result.get("outage")
    if outage:
        expected = "expected" if outage["expected"] else "not expected"
        console.print(
            f"outage of {outage['min_steps']}+ steps within the horizon: probability "
            f"{outage['probability']:.2f} ({expected}; threshold {outage['threshold']:.2f})",
            highlight=False,
        )


def _csv_columns(path: Path) -> dict[str, list[Any]]:
    """The file read as ``gapcast import`` reads it (any time column name, units in headers),
    column-wise as the predict request takes it."""
    from gapcast.ingest import read_file

    table = read_file(path)
    times = pd.to_datetime(table.timestamps_ns, unit="ns", utc=True)
    data: dict[str, list[Any]] = {"timestamp": [t.isoformat() for t in times]}
    for name, row in zip(table.channels, table.values.tolist(), strict=True):
        data[name] = [None if math.isnan(v) else v for v in row]  # an empty cell
    return data


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command("predict")(predict_command)
