"""``gapcast demo``: the newcomer's first command — a real model trained on real data, end to end.

It starts a server in this process on the configured database (an embedded SQLite file by
default), imports the bundled Mauna Loa CO2 series and stores a default config the first time,
then requests a run over the WebSocket like any client, shows it live, and writes the model and
the forecast plot under ``./gapcast-out/``. ``--serve`` keeps the server (and its web page) up.
"""

from __future__ import annotations

import contextlib
import os
import threading
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel

from gapcast.cli.backend import ServerBackend
from gapcast.cli.common import DbOption, console, database, handle_errors
from gapcast.cli.common import settings as load_settings
from gapcast.cli.follow import follow_run
from gapcast.cli.local_server import local_server
from gapcast.cli.runs import export_run
from gapcast.cli.training import DETACH_LOCAL, finish
from gapcast.db import repository
from gapcast.db.session import transaction
from gapcast.errors import InvalidInput, NotFound
from gapcast.ingest import read_file
from gapcast.training_config import TrainingConfig

SAMPLE_NAME = "mauna-loa-co2"
CONFIG_NAME = "demo-co2-weekly"
# The defaults a newcomer gets anyway (model "auto", lookback and horizon from the weekly
# frequency: two years in, a quarter out), with two choices for a short demo: outages longer than
# 4 weeks count as large gaps (the sample has 3, up to 18 weeks), so the gap classifier trains
# too, and it trains for 5 epochs.
DEMO_CONFIG: dict[str, Any] = {
    "preprocessing": [
        {"step": "resample"},
        {"step": "detect_gaps", "max_fill": 4},
        {"step": "split"},
        {"step": "calendar"},
        {"step": "window"},
    ],
    "training": {"gap_classifier_epochs": 5},
}
# Tests shorten the run (the same code path, fewer epochs) through this variable.
EPOCHS_ENV = "GAPCAST_DEMO_EPOCHS"


def sample_path() -> Path:
    return Path(str(resources.files("gapcast") / "data" / "mauna_loa_co2_weekly.csv"))


def prepare(database_url: str) -> list[str]:
    """Import the sample and store the demo config unless they exist; says what it did."""
    done = []
    with database(database_url) as sessions, transaction(sessions) as session:
        try:
            repository.get_dataset(session, SAMPLE_NAME)
        except NotFound:
            repository.import_dataset(session, table=read_file(sample_path()), name=SAMPLE_NAME)
            done.append(f"imported the sample series as dataset [bold]{SAMPLE_NAME}[/]")
        try:
            repository.get_config(session, CONFIG_NAME)
        except NotFound:
            config = TrainingConfig.model_validate(DEMO_CONFIG)
            repository.create_config(session, name=CONFIG_NAME, config=config)
            done.append(f"stored the training config [bold]{CONFIG_NAME}[/]")
    return done


def _overrides(epochs: int | None) -> dict[str, Any]:
    text = os.environ.get(EPOCHS_ENV)
    if epochs is None and text:
        if not (text.isascii() and text.isdigit()) or int(text) < 1:
            raise InvalidInput(f"{EPOCHS_ENV}: expected a positive integer, received {text!r}")
        epochs = int(text)
    if epochs is None:
        return {}
    return {"epochs": epochs, "gap_classifier_epochs": min(epochs, 5)}


@handle_errors
def demo_command(
    serve: Annotated[
        bool, typer.Option("--serve", help="Keep the server and its web page running afterwards")
    ] = False,
    port: Annotated[
        int | None, typer.Option(help="Port for --serve (default GAPCAST_PORT, else a free one)")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where the model and plot are written")] = Path(
        "gapcast-out"
    ),
    epochs: Annotated[int | None, typer.Option(min=1, hidden=True)] = None,
    db: str | None = DbOption,
) -> None:
    """Train a forecaster on the bundled Mauna Loa CO2 series and show how it did."""
    cfg = load_settings(db)
    console.print(
        Panel.fit(
            "[bold]gapcast demo[/]: forecast the next 13 weeks of atmospheric CO2 at Mauna Loa\n"
            "from the past 104, on real weekly data (1958–2001) with 22 outages in the record;\n"
            "scored against the naive and seasonal-naive forecasts on the same origins.",
            border_style="cyan",
        )
    )
    for line in prepare(cfg.database_url):
        console.print(f"[green]•[/] {line}", highlight=False)
    request = {"dataset": SAMPLE_NAME, "config": CONFIG_NAME, "overrides": _overrides(epochs)}
    with local_server(cfg, port=(port or cfg.port) if serve else 0) as url:
        console.print(f"[green]•[/] server on {url} (database {cfg.database_url})", highlight=False)
        if serve:
            console.print(f"  open [bold link={url}/]{url}/[/] to watch in the browser")
        followed = follow_run(
            url, cfg.api_token, request=request, console=console, on_detach=DETACH_LOCAL
        )
        files: dict[str, Path] = {}
        if followed.succeeded and followed.run_id:
            backend = ServerBackend(url, cfg.api_token)
            files = export_run(backend, followed.run_id, out / f"run-{followed.run_id[:8]}")
        if serve:
            finish_quietly(followed, files)
            # The run's own page, so the demo run is open (the bare page shows the new-run form).
            page = f"{url}/#/runs/{followed.run_id}" if followed.run_id else f"{url}/"
            console.print(
                f"\n[bold]the server keeps running:[/] open [bold]{page}[/] (Ctrl-C stops it)",
                highlight=False,
            )
            _wait_for_ctrl_c()
            return
    finish(followed, {k: v for k, v in files.items() if k in ("model", "plot")}, as_json=False)
    console.print(
        "next: [bold]gapcast demo --serve[/] for the web page, [bold]gapcast runs list[/], "
        f"[bold]gapcast predict {(followed.run_id or '')[:8]}[/]",
        highlight=False,
    )


def finish_quietly(followed: Any, files: dict[str, Path]) -> None:
    """The summary without the exit: with --serve a failed run still leaves the page up."""
    with contextlib.suppress(typer.Exit):
        finish(followed, {k: v for k, v in files.items() if k in ("model", "plot")}, as_json=False)


def _wait_for_ctrl_c() -> None:
    stop = threading.Event()
    try:
        while not stop.wait(3600):
            pass
    except KeyboardInterrupt:
        console.print("stopping the server")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
