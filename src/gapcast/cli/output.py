"""How commands print records: JSON for scripts (``--json``), a table for people."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer
from rich import box
from rich.table import Table

from gapcast.cli.common import console

Record = dict[str, Any]


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def print_records(
    records: list[Record],
    *,
    as_json: bool,
    columns: Sequence[str],
    cells: Callable[[Record], Sequence[str]],
    no_wrap: Sequence[str] = (),
) -> None:
    """The records as a JSON list, or as a table of ``columns`` whose row ``cells`` gives.

    Columns in ``no_wrap`` (ids, timestamps) are never broken over lines: in a narrow terminal
    the other columns wrap instead."""
    if as_json:
        print_json(records)
        return
    # No vertical rules: a list fits 80 columns with a few more characters for its cells.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, padding=(0, 1, 0, 0))
    for column in columns:
        # The others fold rather than end in "…": a long name stays whole over two lines.
        fixed = column in no_wrap
        table.add_column(column, no_wrap=fixed, overflow="ellipsis" if fixed else "fold")
    for record in records:
        table.add_row(*cells(record))
    console.print(table)


def timestamp(value: Any) -> str:
    """An ISO time to the second, with a space for the ``T`` (a table column stays narrow)."""
    return str(value)[:19].replace("T", " ")
