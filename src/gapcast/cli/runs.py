"""``gapcast runs list/show/label/compare/watch/cancel/export/delete``.

Reading commands work on the configured database, or on a server's REST API with ``--server``;
``watch`` and ``cancel`` talk to the server that runs the run (default: the configured
``GAPCAST_HOST``/``GAPCAST_PORT``), since only it can stream live events or stop its worker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

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
from gapcast.cli.output import print_json, print_records, timestamp
from gapcast.cli.progress import duration, number, summary_table, verdict_line, warning_lines
from gapcast.errors import InvalidInput, NotFound

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
    """The verdict in a few characters: ✓ 57% better, ✗ 3.1x worse, = baseline, ≈ baseline (ahead
    by less than the noise)."""
    if not verdict or verdict.get("ratio") is None:
        return "–"
    ratio = float(verdict["ratio"])
    if verdict.get("better"):
        return f"[green]✓[/] {round(100 * (1 - ratio))}% better"
    if ratio == 1:
        return "= baseline"
    if ratio < 1:
        return "[yellow]≈[/] baseline"
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
    """Cancel a queued or running run (a running one stops within 16 training batches)."""
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


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
