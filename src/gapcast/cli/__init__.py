"""The ``gapcast`` command line: one typer app assembled from one module per command group."""

from __future__ import annotations

import typer

from gapcast.cli import data, demo, server

app = typer.Typer(
    name="gapcast",
    help="Train time-series forecasting models on gappy data, with live progress.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
data.register(app)
demo.register(app)
server.register(app)
