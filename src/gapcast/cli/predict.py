"""``gapcast predict``: a finished run's forecast of the next horizon, as a table or JSON.

The recent points come from the run's dataset or a file read as ``gapcast import`` reads it; the
database or a server's REST API (``--server``) does the forecasting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich import box
from rich.table import Table

from gapcast.cli.backend import open_backend, resolve_run_id
from gapcast.cli.common import (
    DbOption,
    JsonOption,
    ServerOption,
    TokenOption,
    console,
    handle_errors,
)
from gapcast.cli.common import settings as load_settings
from gapcast.cli.file_options import (
    ColumnsOption,
    CounterOption,
    DecimalOption,
    EncodingOption,
    MissingOption,
    SeriesColumnOption,
    SheetOption,
    TimeFormatOption,
    TimestampColumnOption,
    TimezoneOption,
    decimal_mark,
    print_notes,
)
from gapcast.cli.output import print_json
from gapcast.cli.progress import number
from gapcast.errors import InvalidInput
from gapcast.ingest import DecimalMark, check_timezone

RunArgument = typer.Argument(help="Run id (or its first characters)", show_default=False)


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
            help="When the forecast begins, e.g. 2024-05-01T12:00 (in --timezone, else the zone "
            "the run's dataset was imported in, else UTC, unless an offset is given); default: "
            "the step after the last point. During an "
            "outage still going on, give the time you want the forecast from"
        ),
    ] = None,
    timestamp_column: TimestampColumnOption = None,
    decimal: DecimalOption = ".",
    time_format: TimeFormatOption = None,
    timezone: TimezoneOption = None,
    series_column: SeriesColumnOption = None,
    value_columns: ColumnsOption = None,
    encoding: EncodingOption = "utf-8",
    missing: MissingOption = None,
    counter: CounterOption = None,
    sheet: SheetOption = None,
    server: str | None = ServerOption,
    token: str | None = TokenOption,
    db: str | None = DbOption,
    as_json: bool = JsonOption,
) -> None:
    """Forecast the next horizon steps with a finished run's model."""
    data = None
    read_notes: list[str] = []
    if timezone is not None:
        timezone = check_timezone(timezone)
    mark = decimal_mark(decimal)
    with open_backend(server, token, load_settings(db).database_url) as backend:
        run_id = resolve_run_id(backend, run)
        stored: dict[str, Any] = {}
        if timezone is None:
            # The logger's file is written as the one imported was: read and shown in its zone.
            stored = backend.run(run_id)
            timezone = stored.get("timezone")
        if csv is not None:
            chosen = value_columns.split(",") if value_columns else None
            data, notes, table_zone = _csv_columns(
                csv,
                timestamp_column,
                mark,
                time_format,
                timezone,
                series_column,
                chosen,
                encoding,
                missing.split(",") if missing else [],
                counter.split(",") if counter else [],
                sheet,
            )
            if stored.get("timezone") and table_zone:
                read_notes.append(
                    f"times without an offset read in {timezone}, the zone dataset "
                    f"{stored['dataset']!r} was imported in (--timezone reads them in another)"
                )
            read_notes += notes
        if start is not None and timezone is not None:
            start = _local_start(start, timezone)
        result = backend.predict(run_id, data, start)
    # What the file's reading changed, then what the model's reading of the points changed.
    result["notes"] = read_notes + list(result.get("notes") or [])
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
    print_notes(result["notes"])


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
    columns: list[str] | None = None,
    encoding: str = "utf-8",
    missing: list[str] | None = None,
    counter: list[str] | None = None,
    sheet: str | None = None,
) -> tuple[dict[str, list[Any]], list[str], str | None]:
    """The file read as ``gapcast import`` reads it (any time column name, units in headers, a
    long format's series as columns), column-wise as the predict request takes it, the
    reading's notes (a missing-value marker read as missing, repeated rows merged) and the zone
    it read times without an offset in (None when it read none)."""
    from gapcast.ingest import read_file

    table = read_file(
        path,
        timestamp_column=timestamp_column,
        decimal=decimal,
        time_format=time_format,
        timezone=timezone,
        series_column=series_column,
        columns=columns,
        encoding=encoding,
        missing=missing or [],
        counter=counter or [],
        sheet=sheet,
    )
    return table.column_wise(), table.notes, table.timezone


def register(app: typer.Typer) -> None:
    app.command("predict")(predict_command)
