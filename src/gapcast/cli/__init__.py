"""The ``gapcast`` command line: one typer app assembled from one module per command group."""

from __future__ import annotations

import typer

from gapcast.cli import (
    configs,
    data,
    demo,
    importing,
    predict,
    runs,
    server,
    sweep,
    training,
)

app = typer.Typer(
    name="gapcast",
    help=(
        "Train time-series forecasting models on gappy data, with live progress.\n\n"
        "Start with [bold]gapcast demo[/]. Then: [bold]gapcast import FILE[/], "
        "[bold]gapcast train --dataset NAME[/], [bold]gapcast runs list[/], "
        "[bold]gapcast serve[/] for the web page and the API."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
# The order here is the order of --help: the first steps first.
demo.register(app)
server.register(app)
importing.register(app)
data.register(app)
configs.register(app)
training.register(app)
runs.register(app)
predict.register(app)
sweep.register(app)
