"""How a file is read, as the CLI's options say it: shared by ``import`` and ``predict --csv``,
which read files alike."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from gapcast.cli.common import console
from gapcast.ingest import DecimalMark, OnDuplicate

TimestampColumnOption = Annotated[
    str | None,
    typer.Option(help="Name of the time column; a date and a time of day in two: 'Date+Time'"),
]
DecimalOption = Annotated[
    str,
    typer.Option(
        help="Decimal mark of the CSV's numbers: . or , (1,5); a file separated by ';', tabs "
        "or '|' whose numbers show a decimal comma reads it unasked"
    ),
]
TimeFormatOption = Annotated[
    str | None,
    typer.Option(
        help="strftime format of the time column, e.g. '%d.%m.%Y %H:%M' "
        "(default: ISO 8601 or epoch seconds)"
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        help="IANA time zone of times without an offset, e.g. Europe/Berlin (default: UTC)"
    ),
]
SeriesColumnOption = Annotated[
    str | None,
    typer.Option(
        help="Long format (one row per series and time): the column naming each row's series; "
        "each series becomes a column"
    ),
]

EncodingOption = Annotated[
    str,
    typer.Option(help="Text encoding of a CSV, e.g. cp1252 for what Excel saves on Windows"),
]

MissingOption = Annotated[
    str | None,
    typer.Option(
        "--missing",
        help="Words that mark no reading in value columns, comma-separated, e.g. 'ERR,---' "
        "(empty cells, NA, NaN, NULL, ... always do)",
    ),
]

CounterOption = Annotated[
    str | None,
    typer.Option(
        "--counter",
        help="Value columns that are running totals (a meter's kWh register), comma-separated: "
        "read as their increase per reading",
    ),
]

SheetOption = Annotated[
    str | None,
    typer.Option("--sheet", help="The worksheet of an .xlsx workbook to read (default: the first)"),
]

ColumnsOption = Annotated[
    str | None,
    typer.Option(
        "--columns",
        help="The value columns to read, comma-separated, by header or by series name ('power' "
        "for 'power (kW)'; default: all), e.g. to leave out a column of status flags",
    ),
]


def decimal_mark(text: str) -> DecimalMark:
    """The ``--decimal`` option's value, refused unless '.' or ','."""
    from gapcast.errors import InvalidInput

    if text not in (".", ","):
        raise InvalidInput(f"--decimal: expected '.' or ',', received {text!r}", field="decimal")
    return "," if text == "," else "."


def on_duplicate_value(text: str) -> OnDuplicate:
    if text == "mean":
        return "mean"
    if text == "last":
        return "last"
    return "error"


def print_notes(notes: list[str]) -> None:
    for note in notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
