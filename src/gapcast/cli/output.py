"""How commands print records: JSON for scripts (``--json``), a table for people."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import typer
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
) -> None:
    """The records as a JSON list, or as a table of ``columns`` whose row ``cells`` gives."""
    if as_json:
        print_json(records)
        return
    table = Table(*columns)
    for record in records:
        table.add_row(*cells(record))
    console.print(table)


def timestamp(value: Any) -> str:
    """An ISO time to the second, with a space for the ``T`` (a table column stays narrow)."""
    return str(value)[:19].replace("T", " ")
