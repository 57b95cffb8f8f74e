"""A whole file, part after part: its cells, the time column, the values, a long format's series,
repeated times, then names and size limits. The first problem found refuses the file as a whole."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from gapcast.errors import InvalidInput, TooLarge
from gapcast.ingest.common import (
    MAX_LISTED,
    DecimalMark,
    FileKind,
    OnDuplicate,
    ParsedTable,
    TotalEnds,
    check_columns,
    check_distinct,
    check_name,
    describe_rows,
    file_positions,
    split_unit,
)
from gapcast.ingest.counters import counter_columns, increases, total_hint
from gapcast.ingest.day_rows import day_columns, melt_days
from gapcast.ingest.duplicates import merge_repeated_times
from gapcast.ingest.files import WHITESPACE, check_encoding, decompress, kind_of, read_frame
from gapcast.ingest.footer import footer_note, footer_rows
from gapcast.ingest.home_assistant import NO_READING as HOME_ASSISTANT_NO_READING
from gapcast.ingest.home_assistant import home_assistant_history
from gapcast.ingest.long_format import (
    chosen_columns,
    pivot_series,
    refuse_long_format,
    without_series_column,
)
from gapcast.ingest.on_change import change_only_hint
from gapcast.ingest.series_rows import TIME as SERIES_ROWS_TIME
from gapcast.ingest.series_rows import series_rows
from gapcast.ingest.step_change import step_change_hint
from gapcast.ingest.stopped import stopped_hint
from gapcast.ingest.times import (
    check_timezone,
    clocks_skipped,
    clocks_stepped_back,
    find_timestamp_column,
    header_offset,
    join_time_columns,
    parse_timestamps,
    typed_zone,
)
from gapcast.ingest.values import (
    clear_markers,
    decimal_comma_shown,
    parse_values,
    row_numbers,
    said_no_reading,
    units_row,
)

_SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'", WHITESPACE: "spaces"}


# What a note on times that change with the clocks ends with: only the user knows the zone.
_LOCAL_TIMES = (
    "local times? They were read as UTC (no zone given); the timezone option (--timezone, e.g. "
    "Europe/Berlin) reads them in their zone"
)


def read_table(
    data: bytes,
    *,
    filename: str,
    timestamp_column: str | None = None,
    on_duplicate: OnDuplicate = "error",
    max_bytes: int | None = None,
    max_points: int | None = None,
    decimal: DecimalMark = ".",
    time_format: str | None = None,
    timezone: str | None = None,
    series_column: str | None = None,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    missing: Sequence[str] = (),
    counter: Sequence[str] = (),
    sheet: str | None = None,
) -> ParsedTable:
    """Parse and validate a CSV, .xlsx, Parquet or JSON file's bytes; raise InvalidInput naming what
    is wrong.

    ``decimal``: the CSV numbers' decimal mark; ``time_format``: a strftime format for the time
    column (default: ISO 8601 or epoch seconds); ``timezone``: the IANA zone of times written
    without an offset (default: UTC); ``series_column``: in a long-format file (one row per
    series and time), the column naming each row's series — each series becomes a column;
    ``columns``: the value columns to import (default: all), leaving out the rest (a logger's
    status flags, comments); ``encoding``: a CSV's text encoding (default UTF-8; 'cp1252' for
    what Excel saves on Windows); ``missing``: words that mark "no reading" in value columns
    besides pandas' (a logger's 'ERR', '---'); ``counter``: value columns that are running
    totals (a meter's kWh register), read as their increase per reading; ``sheet``: the
    worksheet of an .xlsx workbook to read (default: the first)."""
    check_encoding(encoding)
    if timezone:
        check_timezone(timezone)
    if decimal not in (".", ","):
        raise InvalidInput(f"decimal: expected '.' or ',', received {decimal!r}", field="decimal")
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(
            f"the file is {len(data):,} bytes, over the limit of {max_bytes:,} bytes "
            "(GAPCAST_MAX_UPLOAD_BYTES)",
            field="file",
        )
    data, filename = decompress(data, filename, max_bytes)
    kind = kind_of(filename)
    if sheet and kind != "xlsx":
        raise InvalidInput(f"sheet: {filename} is not an .xlsx workbook", field="sheet")
    df = read_frame(data, kind, max_points, decimal, encoding, max_bytes, sheet or None)
    sheet_notes: list[str] = df.attrs.get("notes", [])
    if len(df) == 0:
        raise InvalidInput("the file has a header but no data rows", field="file")
    df.columns = [str(c) for c in df.columns]
    if not (timestamp_column or series_column or columns) and (rows := series_rows(df)):
        # A series per row, a time per column: read as the long format it is, transposed.
        df, series_column, shape = rows
        timestamp_column = SERIES_ROWS_TIME
        sheet_notes = [*sheet_notes, shape]
    if not (timestamp_column or series_column or columns) and (
        export := home_assistant_history(df)
    ):
        df, timestamp_column, series_column, shape_note = export
        missing = [*missing, *HOME_ASSISTANT_NO_READING]
        sheet_notes = [*sheet_notes, shape_note]
    ts_name = find_timestamp_column(df, timestamp_column)
    df, ts_name, joined = join_time_columns(df, ts_name, kind)
    # A report's lines after its table (a spreadsheet's or a CSV's; JSON and Parquet have none).
    trailing = footer_rows(df, ts_name) if kind in ("csv", "xlsx") else 0
    footer = df[ts_name].iloc[len(df) - trailing :]
    if len(footer):
        sheet_notes = [*sheet_notes, footer_note(df[ts_name], len(footer))]
        df = df.iloc[: -len(footer)]
    value_names = [c for c in df.columns if c != ts_name]
    if not value_names:
        raise InvalidInput(
            f"no value columns: the file has only the timestamp column {ts_name!r}", field="file"
        )
    check_distinct(list(df.columns))  # a Parquet file's, or a joined time column's name
    sep = df.attrs.get("sep", ",")
    if (
        kind == "csv"
        and decimal == "."
        and sep != ","
        and (shown := decimal_comma_shown(df, value_names))
    ):
        # Fields not separated by commas, numbers written with one: a European export, whose
        # comma the refusal would only ask for by name (--decimal ,).
        decimal = ","
        sheet_notes = [
            *sheet_notes,
            f"numbers read with a decimal comma ({shown!r} is {shown.replace(',', '.')}), as "
            f"the file writes them (its fields separated by {_SEPARATORS.get(sep, repr(sep))})",
        ]
    units_note: str | None = None
    row_units: dict[str, str] = {}
    if kind in ("csv", "xlsx"):  # a line of units under the header
        df, row_units, units_note = units_row(df, ts_name, value_names, decimal)
    numbering: list[str] = []
    if columns:
        value_names = chosen_columns(df, columns, ts_name, series_column)
    else:
        numbering = row_numbers(df, value_names)
        value_names = [c for c in value_names if c not in numbering] or value_names
    if series_column:
        value_names = without_series_column(df, series_column, ts_name, value_names)
    else:
        refuse_long_format(df, ts_name, value_names, decimal)
    check_columns(len(value_names))

    notes = [*sheet_notes, *(n for n in (joined, units_note) if n)]
    if numbering and value_names != numbering:
        listed = ", ".join(map(repr, numbering))
        notes.append(f"column(s) {listed} left out: they number the rows (--columns imports them)")
    offsets = None if columns or series_column else day_columns(value_names)
    if offsets:
        df, value_names = _one_series_of_days(df, ts_name, offsets, kind, time_format, notes)
    zone = timezone or None
    if zone is None and (offset := header_offset(ts_name)) is not None:
        zone = offset
        notes.append(f"times read at UTC{offset}, as the time column's header says")
    localized: list[int] = []
    try:
        ts = parse_timestamps(
            df[ts_name],
            ts_name,
            kind,
            time_format or None,
            zone,
            notes=notes,
            # Each time of day is one column: the hour the clocks repeat is written once.
            repeated="first" if offsets else "order",
            localized=localized,
        )
    except InvalidInput:
        if len(footer) and not offsets:
            # Words inside the table too: the footer was a guess, so the refusal names its
            # lines with the others'.
            parse_timestamps(pd.concat([df[ts_name], footer]), ts_name, kind, time_format, zone)
        raise
    # Times typed with their zone (a Parquet column's timestamp[ns, tz=Europe/Berlin]) name it:
    # kept as the zone a file without offsets is read in, and shown in, as a zone given is.
    own_zone = typed_zone(df[ts_name]) if zone is None else None
    if own_zone is not None:
        notes.append(
            f"timestamp column {ts_name!r} carries the time zone {own_zone}: kept with the "
            "data (its times are shown in it, and a later file's times without an offset are "
            "read in it)"
        )
    if zone is None and own_zone is None and (sundays := clocks_skipped(ts)):
        # Read as UTC, a local series' day moves an hour at each change of the clocks, and its
        # forecasts are shown an hour or two off: said, since only the user knows the zone.
        more = f" (and {len(sundays) - 1} more)" if len(sundays) > 1 else ""
        notes.append(
            f"timestamp column {ts_name!r}: no times from 02:00 to 02:59 on Sunday "
            f"{sundays[0]}{more}, the hour clocks skip when summer time starts: {_LOCAL_TIMES}"
        )
    if zone is None and (back := clocks_stepped_back(ts)).size:
        # Times a few seconds off the grid do not clash when the hour repeats, so nothing else
        # would say the readings are local: the hour is read twice, an hour or two off.
        when = pd.Timestamp(int(ts[back[0]]))
        notes.append(
            f"timestamp column {ts_name!r}: times step back an hour to {when:%H:%M} on Sunday "
            f"{when:%Y-%m-%d} ({describe_rows(kind, file_positions(df[ts_name], back))}), as "
            f"local clocks do when summer time ends: {_LOCAL_TIMES}"
        )
    markers = frozenset(m.strip() for m in missing if m.strip())
    cell_units: dict[str, str] = {}
    grouped: dict[str, str] = {}
    money: dict[str, tuple[str | None, str | None]] = {}
    states: dict[str, tuple[str, str]] = {}
    parsed, refused, text = [], [], []
    for c in value_names:
        try:
            parsed.append(
                parse_values(df[c], c, kind, decimal, markers, cell_units, grouped, money, states)
            )
        except InvalidInput as exc:
            # Words without a digit ('OK', 'ERR', 'on'), unasked for: a logger's status column
            # beside its readings, left out as the empty ones are. A cell with a digit may be
            # a reading in a format not understood: refused, naming it, never dropped.
            if columns or not words_only(df[c]):
                refused.append(exc)
            else:
                text.append(c)
    if refused or not parsed:
        raise _every_column(refused or [_text_only(text)])
    if text:
        value_names = [c for c in value_names if c not in text]
        notes.append(_text_note(df, text))
    values = np.vstack(parsed)
    for header, unit in cell_units.items():
        said = split_unit(header)[1] or row_units.get(header)
        if said is not None and said != unit:
            raise InvalidInput(
                f"column {header!r}: its header says {said!r}, its cells {unit!r}",
                field=f"columns.{header}",
            )
    if states:
        listed = ", ".join(f"{c!r} ({on!r} 1, {off!r} 0)" for c, (on, off) in states.items())
        notes.append(f"a switch's two states read as 1 and 0 in {listed}")
    if grouped:
        listed = ", ".join(f"{c!r} ({first!r})" for c, first in grouped.items())
        notes.append(f"numbers with thousands separators read in {listed}")
    if cell_units:
        listed = ", ".join(f"{c!r}: {u!r}" for c, u in cell_units.items())
        notes.append(f"units written after each number read as the columns' units ({listed})")
    if priced := {c: cur for c, (cur, _) in money.items() if cur}:
        listed = ", ".join(f"{c!r}: {u!r}" for c, u in priced.items())
        notes.append(f"currencies written before each amount read as the columns' units ({listed})")
    if negatives := {c: neg for c, (_, neg) in money.items() if neg}:
        listed = ", ".join(f"{c!r} ({n!r})" for c, n in negatives.items())
        notes.append(
            f"amounts in parentheses read as negative, as accounting formats write them, in "
            f"{listed}"
        )
    merged = 0
    in_file: np.ndarray | None = None  # a long format's cells that were cells of the file
    if series_column:
        value_names, ts, values, merged, in_file = pivot_series(
            df[series_column], ts, values, value_names, on_duplicate, kind, not timezone
        )
    # A wide table's missing cells before its sentinels (-9999) are read as missing too.
    missing_before = None if series_column else np.isnan(values)
    for name, row in zip(value_names, values, strict=True):
        notes += clear_markers(name, row)
    before = value_names
    value_names, values = _without_empty_columns(value_names, values, bool(columns), notes)
    kept = [before.index(n) for n in value_names]
    marked = None
    if in_file is not None:
        in_file = in_file[kept]
        marked = in_file & np.isnan(values)
    elif missing_before is not None:
        # A wide table's cells that say "no reading": words ('ERR', 'NA') and sentinels (-9999);
        # not its empty cells, which beside another column's reading may mean "unchanged".
        words = np.vstack([said_no_reading(df[c], markers) for c in value_names])
        explicit = words | (np.isnan(values) & ~missing_before[kept])
        rows_ts = ts
        ts, values, merged = merge_repeated_times(
            ts, values, value_names, on_duplicate, kind, not timezone, df.index.to_numpy()
        )
        if explicit.any():
            marked = np.vstack(
                [
                    np.isin(ts, rows_ts[e]) & np.isnan(v)
                    for e, v in zip(explicit, values, strict=True)
                ]
            )
    if merged:
        # Said, not done silently: a user comparing row and point counts needs the reason.
        notes.append(
            f"{merged:,} row(s) repeated whole (an earlier row's time and values) dropped"
            if on_duplicate == "error"
            else f"{merged:,} row(s) repeating an earlier row's time merged into it "
            f"(on_duplicate {on_duplicate!r})"
        )
    total_ends: dict[str, TotalEnds] = {}
    as_totals = counter_columns([c.strip() for c in counter if c.strip()], value_names)
    for i in as_totals:
        values[i], said, ends = increases(ts, values[i], value_names[i])
        notes.append(said)
        if ends is not None:
            total_ends[split_unit(value_names[i])[0]] = ends
    for i, name in enumerate(value_names):
        if i not in as_totals and (hint := total_hint(name, values[i])) is not None:
            notes.append(hint)
        elif i not in as_totals and (said := change_only_hint(name, ts, values[i])) is not None:
            notes.append(said)
            continue  # a silence at the end of change reports is a steady value, not a stop
        if (stopped := stopped_hint(name, ts, values[i])) is not None:
            notes.append(stopped)
    if values.size and (changed := step_change_hint(ts, values)):
        notes.append(changed)
    # A unit in the header ('hum [%]') wins over one on a line of units under it.
    names_units = [
        (name, unit or row_units.get(header) or cell_units.get(header) or priced.get(header))
        for header, (name, unit) in ((c, split_unit(c)) for c in value_names)
    ]
    for (channel, _), header in zip(names_units, value_names, strict=True):
        check_name(channel, what="column name", field=f"columns.{header[:40]}")
    table = ParsedTable(
        timestamps_ns=ts,
        channels=[n for n, _ in names_units],
        units=[u for _, u in names_units],
        values=values,
        source=filename,
        duplicates_merged=merged,
        missing_cells={
            n: int(np.count_nonzero(np.isnan(row) & (True if in_file is None else in_file[i])))
            for i, ((n, _), row) in enumerate(zip(names_units, values, strict=True))
        },
        notes=notes,
        counters=total_ends,
        # Remembered only when it read a time: a file whose times all carry offsets has none.
        timezone=timezone if timezone and localized else own_zone,
        marked=marked if marked is not None and marked.any() else None,
    )
    if max_points is not None and table.point_count > max_points:
        raise TooLarge(
            f"the file holds {table.point_count:,} points, over the limit of {max_points:,} "
            "(GAPCAST_MAX_POINTS_PER_DATASET)",
            field="file",
        )
    return table


def read_file(
    path: Path,
    *,
    timestamp_column: str | None = None,
    on_duplicate: OnDuplicate = "error",
    max_bytes: int | None = None,
    max_points: int | None = None,
    decimal: DecimalMark = ".",
    time_format: str | None = None,
    timezone: str | None = None,
    series_column: str | None = None,
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
    missing: Sequence[str] = (),
    counter: Sequence[str] = (),
    sheet: str | None = None,
) -> ParsedTable:
    if not path.is_file():
        raise InvalidInput(f"no such file: {path}", field="file")
    size = path.stat().st_size
    if max_bytes is not None and size > max_bytes:
        # Checked before reading, so an oversized file is never loaded into memory.
        raise TooLarge(
            f"{path.name} is {size:,} bytes, over the limit of {max_bytes:,} bytes "
            "(GAPCAST_MAX_UPLOAD_BYTES)",
            field="file",
        )
    return read_table(
        path.read_bytes(),
        filename=path.name,
        timestamp_column=timestamp_column,
        on_duplicate=on_duplicate,
        max_bytes=max_bytes,
        max_points=max_points,
        decimal=decimal,
        time_format=time_format,
        timezone=timezone,
        series_column=series_column,
        columns=columns,
        encoding=encoding,
        missing=missing,
        counter=counter,
        sheet=sheet,
    )


def _every_column(refused: list[InvalidInput]) -> InvalidInput:
    """One refusal naming every value column's problem, so a file with a decimal comma in one
    column and status flags in another is fixed in one go, not in two tries; the first column's
    field (and details) lead, each one's are in ``details['columns']``."""
    first, *rest = refused
    if not rest:
        return first
    return InvalidInput(
        "; also ".join(e.message for e in refused),
        field=first.field,
        **{
            **first.details,
            "columns": [{"field": e.field, "message": e.message, **e.details} for e in refused],
        },
    )


def words_only(cells: pd.Series) -> bool:
    """Whether a column's filled cells are words: not one digit among them."""
    text = cells.dropna().astype(str).str.strip()
    text = text[text != ""]
    return bool(text.size) and not text.str.contains(r"\d", regex=True).any()


def _text_note(df: pd.DataFrame, text: list[str]) -> str:
    """What to say of the columns of words left out, with a few of their words."""
    listed = ", ".join(
        f"{c!r} ({', '.join(map(repr, df[c].dropna().astype(str).str.strip().unique()[:3]))})"
        for c in text[:MAX_LISTED]
    )
    listed += f" and {len(text) - MAX_LISTED} more" if len(text) > MAX_LISTED else ""
    return f"column(s) of words, not readings, left out: {listed}"


def _text_only(text: list[str]) -> InvalidInput:
    return InvalidInput(
        f"no column holds readings: {', '.join(map(repr, text))} hold(s) words only",
        field=f"columns.{text[0]}",
    )


def _without_empty_columns(
    names: list[str], values: np.ndarray, chosen: bool, notes: list[str]
) -> tuple[list[str], np.ndarray]:
    """The columns holding at least one reading. An export's column of a sensor that was never
    connected (every cell empty or a missing marker) is left out with a note; refused when it
    was asked for by name, or when no column holds a reading."""
    empty = np.isnan(values).all(axis=1)
    if not empty.any():
        return names, values
    gone = [c for c, e in zip(names, empty, strict=True) if e]
    listed = ", ".join(map(repr, gone[:MAX_LISTED]))
    listed += f" and {len(gone) - MAX_LISTED} more" if len(gone) > MAX_LISTED else ""
    if chosen or empty.all():
        raise InvalidInput(
            f"column(s) without a single numeric value: {listed}", field=f"columns.{gone[0]}"
        )
    notes.append(f"column(s) {listed} left out: not one reading (every cell empty or missing)")
    return [c for c, e in zip(names, empty, strict=True) if not e], values[~empty]


def _one_series_of_days(
    df: pd.DataFrame,
    ts_name: str,
    offsets: dict[str, int],
    kind: FileKind,
    time_format: str | None,
    notes: list[str],
) -> tuple[pd.DataFrame, list[str]]:
    """A day per row and a column per time of day (a load profile export), melted into one
    series: the days are read (as written, in any format the time column takes), then each
    cell is put at its day's wall-clock time, which the time zone reads as any other."""
    days = parse_timestamps(df[ts_name], ts_name, kind, time_format or None, None, notes=notes)
    if (days % (86_400 * 10**9)).any():
        return df, [c for c in df.columns if c != ts_name]  # times, not days: another shape
    melted, note = melt_days(df, ts_name, pd.Series(days.astype("datetime64[ns]")), offsets)
    notes.append(note)
    return melted, ["value"]
