"""``gapcast runs list/show/label/compare/watch/cancel/export/delete`` and ``gapcast predict``.

Reading commands work on the configured database, or on a server's REST API with ``--server``;
``watch`` and ``cancel`` talk to the server that runs the run (default: the configured
``GAPCAST_HOST``/``GAPCAST_PORT``), since only it can stream live events or stop its worker.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from gapcast.cli.backend import Backend, ServerBackend, open_backend, resolve_run_id
from gapcast.cli.common import (
    EXIT_OK,
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    default_server_url,
    handle_errors,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.data import (
    DecimalOption,
    SeriesColumnOption,
    TimeFormatOption,
    TimestampColumnOption,
    TimezoneOption,
    decimal_mark,
)
from gapcast.cli.output import print_json, print_records, timestamp
from gapcast.cli.progress import duration, number, summary_table, verdict_line, warning_lines
from gapcast.errors import InvalidInput, NotFound
from gapcast.ingest import DecimalMark, check_timezone

runs_app = typer.Typer(
    help="List, inspect, label, compare, follow, cancel, export and delete training runs."
)

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


SORT_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "created": lambda r: r["created_at"],
    "mae": lambda r: r.get("mae"),
    "runtime": lambda r: r.get("runtime_s"),
    "dataset": lambda r: r["dataset"],
    "model": lambda r: r["model"],
    "status": lambda r: r["status"],
}
# The sort is over the newest matches the server gives at most (its list's own limit).
SORT_POOL = 1000


def sort_runs(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """``created``: newest first; figures (mae, runtime): lowest first; names: A to Z. Runs
    without the value (a failed run has no MAE) come last, newest first among themselves."""
    if key not in SORT_KEYS:
        raise InvalidInput(
            f"--sort: expected one of {', '.join(SORT_KEYS)}, received {key!r}", field="sort"
        )
    read = SORT_KEYS[key]
    newest = sorted(rows, key=lambda r: str(r["created_at"]), reverse=True)
    if key == "created":
        return newest
    present = [r for r in newest if read(r) is not None]
    missing = [r for r in newest if read(r) is None]
    return sorted(present, key=read) + missing  # stable: ties stay newest first


@runs_app.command("list")
@handle_errors
def list_command(
    status: Annotated[str | None, typer.Option(help="Only runs with this status")] = None,
    dataset: Annotated[str | None, typer.Option(help="Only runs on this dataset")] = None,
    model: Annotated[str | None, typer.Option(help="Only runs of this model (e.g. auto)")] = None,
    sort: Annotated[
        str,
        typer.Option(
            help="created (newest first), mae or runtime (lowest first), dataset, model or status"
        ),
    ] = "created",
    limit: Annotated[int, typer.Option(min=1, max=1000, help="How many to show")] = 20,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """List runs with their backtest MAE and verdict against the best baseline (the result
    column shows the status of a run that did not succeed)."""
    pool = limit if sort == "created" else SORT_POOL
    with open_backend(server, token, load_settings(db).database_url) as backend:
        rows = backend.runs(status=status, dataset=dataset, model=model, limit=pool)
    rows = sort_runs(rows, sort)[:limit]
    print_records(
        rows,
        as_json=as_json,
        columns=("run", "dataset", "model", "created", "runtime", "MAE", "result"),
        cells=_run_cells,
        # Ids, times and figures are never cut; dataset and model names wrap instead.
        no_wrap=("run", "created", "runtime", "MAE", "result"),
    )
    labelled = [r for r in rows if r.get("name") or r.get("tags")]
    if labelled and not as_json:
        # Their own table: beside seven columns a name would get a few characters in 80.
        console.print()
        print_records(
            labelled,
            as_json=False,
            columns=("run", "name", "tags"),
            cells=lambda r: (r["id"][:8], escape(r.get("name") or ""), tag_cell(r)),
            no_wrap=("run",),
        )


def verdict_cell(verdict: dict[str, Any] | None) -> str:
    """The verdict in a few characters: ✓ 57% better, ✗ 3.1x worse, = baseline."""
    if not verdict or verdict.get("ratio") is None:
        return "–"
    ratio = float(verdict["ratio"])
    if verdict.get("better"):
        return f"[green]✓[/] {round(100 * (1 - ratio))}% better"
    if ratio == 1:
        return "= baseline"
    worse = f"{round(100 * (ratio - 1))}%" if ratio < 2 else f"{ratio:.3g}x"
    return f"[red]✗[/] {worse} worse"


def tag_cell(r: dict[str, Any]) -> str:
    """A run's tags, comma-separated (a tag may hold spaces but never a comma), escaped: labels
    are the user's text, not markup."""
    return escape(", ".join(r.get("tags") or []))


def _run_cells(r: dict[str, Any]) -> tuple[str, ...]:
    return (
        r["id"][:8],
        r["dataset"],
        r["model"],
        timestamp(r["created_at"])[:16],
        duration(r["runtime_s"]),
        number(r.get("mae")),
        result_cell(r),
    )


def result_cell(r: dict[str, Any]) -> str:
    """A succeeded run's verdict; any other run's status (failed, running, ...) in colour."""
    if r["status"] == "succeeded" and r.get("verdict"):
        return verdict_cell(r["verdict"])
    return f"[{STATUS_COLOURS.get(r['status'], 'yellow')}]{r['status']}[/]"


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
    for label in label_lines(record, empty=None):
        console.print(label, highlight=False)
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


def label_lines(record: dict[str, Any], *, empty: str | None) -> list[str]:
    """``name``, ``tags`` and ``note`` lines; an unset label is left out (``empty=None``) or shown
    as ``empty``."""
    values = {
        "name": escape(record.get("name") or ""),
        "tags": tag_cell(record),
        # A note's further lines under its first, not at the left margin among the labels.
        "note": escape(record.get("note") or "").replace("\n", "\n" + " " * 8),
    }
    return [
        f"  {key:<5} {value if value else f'[dim]{empty}[/]'}"
        for key, value in values.items()
        if value or empty is not None
    ]


@runs_app.command("label")
@handle_errors
def label_command(
    run: Annotated[str, RunArgument],
    name: Annotated[
        str | None, typer.Option("--name", help='The run\'s name ("" clears it)')
    ] = None,
    tags: Annotated[
        list[str] | None,
        typer.Option("--tag", help="Add a tag (repeat for more)", show_default=False),
    ] = None,
    clear_tags: Annotated[
        bool,
        typer.Option("--clear-tags", help="Remove the run's tags first (with --tag: replace them)"),
    ] = False,
    note: Annotated[str | None, typer.Option("--note", help='A note ("" clears it)')] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Name, tag or annotate a run; the labels not given stay as they are."""
    if name is None and not tags and not clear_tags and note is None:
        raise InvalidInput(
            "runs label: expected at least one of --name, --tag, --clear-tags, --note",
            field="labels",
        )
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name
    if note is not None:
        changes["note"] = note
    with open_backend(server, token, load_settings(db).database_url) as backend:
        run_id = resolve_run_id(backend, run)
        if tags or clear_tags:
            # --tag adds to the run's tags, read just before: a tag added elsewhere in between is
            # lost (the label is the user's own bookkeeping; no lock is worth it).
            kept = [] if clear_tags else list(backend.run(run_id).get("tags") or [])
            changes["tags"] = kept + list(tags or [])
        record = backend.label_run(run_id, changes)
    if as_json:
        print_json(record)
        return
    console.print(f"labelled run [bold]{record['id']}[/]", highlight=False)
    for line in label_lines(record, empty="–"):
        console.print(line, highlight=False)


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


@runs_app.command("compare")
@handle_errors
def compare_command(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids (or prefixes)")],
    every: Annotated[
        bool, typer.Option("--all", help="Show every parameter, not only the differing ones")
    ] = False,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Compare runs: their parameters (differences marked ≠) beside their figures (best ▲)."""
    from gapcast.cli import compare

    if len(runs) < 2:
        raise InvalidInput(
            f"runs compare: expected two or more runs, received {len(runs)}", field="runs"
        )
    with open_backend(server, token, load_settings(db).database_url) as backend:
        ids = list(dict.fromkeys(resolve_run_id(backend, ref) for ref in runs))
        if len(ids) < 2:
            raise InvalidInput("runs compare: the ids name one run; give two different runs")
        records = [backend.run(run_id) for run_id in ids]
    result = compare.compare(records, every=every)
    if as_json:
        print_json(compare.as_json(result))
        return
    console.print(compare.as_table(result))


@runs_app.command("delete")
@handle_errors
def delete_command(
    runs: Annotated[list[str], typer.Argument(help="Run ids (or prefixes)")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Delete finished runs with their files and events (a queued or running one: cancel it
    first)."""
    with open_backend(server, token, load_settings(db).database_url) as backend:
        ids = list(dict.fromkeys(resolve_run_id(backend, ref) for ref in runs))
        if not yes:
            _confirm_delete(ids)
        for run_id in ids:
            backend.delete_run(run_id)  # one transaction each: a refusal keeps the rest
            if not as_json:
                console.print(f"deleted run {run_id}", highlight=False)
    if as_json:
        print_json({"deleted": ids})


def _confirm_delete(ids: list[str]) -> None:
    """Ask on a terminal; elsewhere (a script, a pipe) refuse unless --yes was given."""
    if not sys.stdin.isatty():
        raise InvalidInput(
            f"runs delete: would delete {len(ids)} run(s) with their files; pass --yes to "
            "confirm when not on a terminal",
            field="yes",
        )
    listed = ", ".join(run_id[:8] for run_id in ids)
    if not typer.confirm(f"Delete {len(ids)} run(s) ({listed}) with their files?"):
        raise typer.Exit(EXIT_OK)


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
            help="When the forecast begins, e.g. 2024-05-01T12:00 (in --timezone, else UTC, "
            "unless an offset is given); default: the step after the last point. During an "
            "outage still going on, give the time you want the forecast from"
        ),
    ] = None,
    timestamp_column: TimestampColumnOption = None,
    decimal: DecimalOption = ".",
    time_format: TimeFormatOption = None,
    timezone: TimezoneOption = None,
    series_column: SeriesColumnOption = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Forecast the next horizon steps with a finished run's model."""
    data = None
    if timezone is not None:
        timezone = check_timezone(timezone)
    if csv is not None:
        mark = decimal_mark(decimal)
        data = _csv_columns(csv, timestamp_column, mark, time_format, timezone, series_column)
    if start is not None and timezone is not None:
        start = _local_start(start, timezone)
    with open_backend(server, token, load_settings(db).database_url) as backend:
        result = backend.predict(resolve_run_id(backend, run), data, start)
    if as_json:
        print_json(result)  # machine-readable: times stay UTC ISO 8601, columns as the API names
        return
    rows = result["forecast"]
    columns = list(rows[0]) if rows else ["timestamp"]
    targets = [c for c in columns if c != "timestamp" and c not in GAP_COLUMNS]
    targets = [c for c in targets if _quantile_of(c, targets) is None]
    # Light borders: a forecast has many columns (a P10/P50/P90 trio per target) for 80 chars.
    zone = timezone or "UTC"
    table = Table(
        title=f"forecast of run {result['run_id'][:8]} ({result['source']}; times in {zone})",
        box=box.SIMPLE_HEAD,
    )
    for c in columns:
        # The time is what a row is read by: never truncated, whatever the terminal's width.
        if c == "timestamp":
            table.add_column(c, no_wrap=True, min_width=16)
        else:
            table.add_column(_header(c, targets), justify="right", overflow="fold")
    for row in rows:
        table.add_row(*(_cell(c, row[c], timezone) for c in columns))
    console.print(table)
    observed = result.get("lookback_observed") or {}
    if any(share < 1 for share in observed.values()):
        # A gappy history is accepted; the reader should still know how much of it was there.
        listed = ", ".join(f"{name} {share:.0%}" for name, share in observed.items())
        dark = [name for name, share in observed.items() if share == 0]
        note = (
            f" ({', '.join(dark)}: nothing in the lookback, forecast from its last values "
            "before it)"
            if dark
            else ""
        )
        console.print(f"lookback observed: {listed}{note}", highlight=False)
    outage = result.get("outage")
    if outage:
        expected = "expected" if outage["expected"] else "not expected"
        console.print(
            f"outage of {outage['min_steps']}+ steps within the horizon: probability "
            f"{outage['probability']:.2f} ({expected}; threshold {outage['threshold']:.2f})",
            highlight=False,
        )


# predict's gap columns, named for the table: the probability of no data, and whether it passes
# the classifier's stored threshold.
GAP_COLUMNS = {"p_gap": "P(gap)", "gap_expected": "gap?"}


def _header(column: str, targets: list[str]) -> str:
    """A column's table header: a quantile column of the only target is just 'P10' (the target's
    name, as long as a meter's, would fill the 80 columns four times over)."""
    if column in GAP_COLUMNS:
        return GAP_COLUMNS[column]
    level = _quantile_of(column, targets)
    if level is None:
        return column
    return f"P{level}" if len(targets) == 1 else f"{column[: -len(level) - 2]} P{level}"


def _quantile_of(column: str, columns: list[str]) -> str | None:
    """'10' for 'load_p10' when 'load' is one of ``columns`` (a target's quantile), else None."""
    name, _, level = column.rpartition("_p")
    return level if name in columns and level.isdigit() else None


def _cell(column: str, value: Any, timezone: str | None) -> str:
    if column == "timestamp":
        return _when(value, timezone)
    if column == "p_gap":
        return f"{value:.2f}"
    if column == "gap_expected":
        return "yes" if value else "no"
    return number(value)


def _when(iso: str, timezone: str | None = None) -> str:
    """'2024-04-29 23:15' from an ISO time in UTC, shown in ``timezone`` when given (seconds only
    when there are some)."""
    if timezone is not None:
        iso = pd.Timestamp(iso).tz_convert(timezone).isoformat()
    text = str(iso)[:19].replace("T", " ")
    return text[:16] if text.endswith(":00") and len(text) == 19 else text


def _local_start(start: str, timezone: str) -> str:
    """``--start`` without an offset read as a wall-clock time in ``timezone``."""
    try:
        when = pd.Timestamp(start)
    except ValueError as exc:
        raise InvalidInput(
            f"start: cannot read {start!r} as a time such as 2024-05-01T12:00", field="start"
        ) from exc
    if when.tzinfo is not None:
        return start
    if pd.isna(when.tz_localize(timezone, ambiguous=True, nonexistent="NaT")):
        raise InvalidInput(
            f"start: {start!r} does not exist in {timezone} (the clocks skipped it)", field="start"
        )
    try:
        return when.tz_localize(timezone, ambiguous="raise").isoformat()
    except ValueError as exc:
        first, second = (when.tz_localize(timezone, ambiguous=a).isoformat() for a in (True, False))
        raise InvalidInput(
            f"start: {start!r} happens twice in {timezone} (the clocks went back); give its "
            f"offset: {first} or {second}",
            field="start",
        ) from exc


def _csv_columns(
    path: Path,
    timestamp_column: str | None,
    decimal: DecimalMark,
    time_format: str | None,
    timezone: str | None,
    series_column: str | None = None,
) -> dict[str, list[Any]]:
    """The file read as ``gapcast import`` reads it (any time column name, units in headers, a
    long format's series as columns), column-wise as the predict request takes it."""
    from gapcast.ingest import read_file

    table = read_file(
        path,
        timestamp_column=timestamp_column,
        decimal=decimal,
        time_format=time_format,
        timezone=timezone,
        series_column=series_column,
    )
    times = pd.to_datetime(table.timestamps_ns, unit="ns", utc=True)
    data: dict[str, list[Any]] = {"timestamp": [t.isoformat() for t in times]}
    for name, row in zip(table.channels, table.values.tolist(), strict=True):
        data[name] = [None if math.isnan(v) else v for v in row]  # an empty cell
    return data


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
    app.command("predict")(predict_command)
