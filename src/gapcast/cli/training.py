"""``gapcast train``: request a run over the WebSocket and follow it live.

Without ``--server`` the command starts a server in this process on the configured database (as
``demo`` does) and talks to it like any client; with ``--server`` it trains on that server.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from gapcast.cli.backend import ServerBackend
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
from gapcast.cli.follow import Followed, follow_run
from gapcast.cli.output import print_json
from gapcast.cli.progress import summary_table, verdict_line, warning_lines
from gapcast.cli.runs import export_run
from gapcast.config import Settings

DETACH_REMOTE = (
    "detached: run {run_id} goes on; follow it with 'gapcast runs watch {run_id} --server {url}'"
)
DETACH_LOCAL = (
    "detached: this command's server stops now, so run {run_id} goes back to the queue and "
    "resumes from its last finished epoch when 'gapcast serve' runs on this database"
)


@contextmanager
def server_for(server: str | None, cfg: Settings) -> Iterator[str]:
    """``server`` as given, or a server started in this process on the configured database."""
    if server:
        yield server.rstrip("/")
        return
    from gapcast.cli.local_server import local_server

    with local_server(cfg) as url:
        yield url


def config_ref(text: str | None) -> str | dict[str, Any] | None:
    """A stored config's name or id, or the contents of a JSON file of that path."""
    if text is None:
        return None
    path = Path(text)
    if text.endswith(".json") or path.is_file():
        return read_json_object(path, label=f"--config {text}", field="config")
    return text


def _names(text: str | None) -> list[str] | None:
    """'a, b' as ['a', 'b'] (None when not given)."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


@handle_errors
def train_command(
    dataset: Annotated[
        str, typer.Option("--dataset", "-d", help="Dataset name or id", show_default=False)
    ],
    config: Annotated[
        str | None,
        typer.Option("--config", "-c", help="Stored config name or id, or a JSON file"),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model: auto (the default: the best of a few candidates on validation), "
            "linear, mlp, lstm, gru, cnn, transformer"
        ),
    ] = None,
    target: Annotated[
        str | None,
        typer.Option(
            "--target",
            help="The series to forecast, comma-separated (default: the dataset's first)",
        ),
    ] = None,
    covariates: Annotated[
        str | None,
        typer.Option(
            "--covariates",
            help="Series whose past the model reads beside the target's, comma-separated",
        ),
    ] = None,
    epochs: Annotated[int | None, typer.Option(min=1, help="Training epochs")] = None,
    lookback: Annotated[int | None, typer.Option(min=1, help="Input window, in steps")] = None,
    horizon: Annotated[int | None, typer.Option(min=1, help="Steps to forecast")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, help="Windows per batch")] = None,
    learning_rate: Annotated[
        float | None, typer.Option(help="Optimizer (AdamW) learning rate")
    ] = None,
    gap_classifier: Annotated[
        str | None, typer.Option(help="auto (when large or recurring gaps exist), always or never")
    ] = None,
    assignments: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Any other override as KEY=JSON, e.g. --set patience=0, or a preparation "
            "step's field, --set resample.agg=hold (repeatable)",
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Also write the run's files to this directory")
    ] = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Train a model on a dataset and show its progress live (Ctrl-C: cancel or detach)."""
    overrides: dict[str, Any] = {}
    for assignment in assignments or []:
        key, value = parse_assignment(assignment)
        overrides[key] = value
    named = {
        "target": _names(target),
        "covariates": _names(covariates),
        "model": model,
        "epochs": epochs,
        "lookback": lookback,
        "horizon": horizon,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "gap_classifier": gap_classifier,
    }
    overrides.update({k: v for k, v in named.items() if v is not None})
    request = {"dataset": dataset, "config": config_ref(config), "overrides": overrides}
    cfg = load_settings(db)
    token = token or cfg.api_token
    with server_for(server, cfg) as url:
        detach = DETACH_REMOTE.replace("{url}", url) if server else DETACH_LOCAL
        followed = follow_run(
            url, token, request=request, console=None if as_json else console, on_detach=detach
        )
        files = (
            export_run(ServerBackend(url, token), followed.run_id, out)
            if out is not None and followed.succeeded and followed.run_id
            else {}
        )
    hint = None if out is not None else export_hint(followed, server=server, db=db, cfg=cfg)
    finish(followed, files, as_json=as_json, hint=hint)


def export_hint(
    followed: Followed, *, server: str | None, db: str | None, cfg: Settings
) -> str | None:
    """Where a succeeded run's files are kept and the command that writes them out."""
    if not followed.succeeded or not followed.run_id:
        return None
    kinds = [str(a.get("kind")) for a in (followed.terminal or {}).get("artifacts") or []]
    where = (
        f"on the server {server}" if server else f"in the database {shown_url(cfg.database_url)}"
    )
    command = f"gapcast runs export {followed.run_id[:8]} --out DIR"
    if server:
        command += f" --server {server}"
    elif db:
        command += f" --db {shown_url(db)}"
    stored = ", ".join(kinds) if kinds else "the run's files"
    return f"{stored}: stored {where}; write them to a directory with\n  {command}"


def shown_url(url: str) -> str:
    """A database URL fit to print: its password replaced by ***."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(the configured database)"


def finish(
    followed: Followed, files: dict[str, Path], *, as_json: bool, hint: str | None = None
) -> None:
    """Print the outcome (summary table, or JSON) and exit 1 unless the run succeeded;
    ``hint``: where the files are when they were not written out."""
    terminal = followed.terminal or {}
    if as_json:
        print_json(
            {
                "run_id": followed.run_id,
                "status": "detached" if followed.detached else terminal.get("status"),
                **{k: v for k, v in terminal.items() if k not in ("type", "seq", "time")},
                "files": {k: str(v) for k, v in files.items()},
            }
        )
    elif followed.succeeded:
        console.print()
        console.print(summary_table(terminal, title=f"run {followed.run_id}"))
        line = verdict_line(terminal)
        if line:
            console.print(line, highlight=False)
        for warning in warning_lines(terminal):
            console.print(warning, highlight=False)
        for kind, path in files.items():
            console.print(f"  {kind:<10} {path}", highlight=False)
        if hint:
            console.print(hint, highlight=False, soft_wrap=True)  # a command stays copyable
    elif terminal.get("type") == "error":
        err_console.print(
            f"[bold red]run {terminal.get('status', 'failed')}:[/] {terminal.get('message')}",
            highlight=False,
        )
    elif terminal:
        console.print(f"run {terminal.get('status')}")
    if followed.detached or followed.succeeded:
        return
    raise typer.Exit(EXIT_RUN_FAILED)


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
