"""Reading a user's CSV or Parquet file into validated arrays, with errors that name the problem.

Nothing here touches the database: a file is fully parsed and checked first, so a bad file never
leaves a half-imported dataset behind.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.epoch import epoch_out_of_range, epoch_unit, from_epoch
from gapcast.errors import InvalidInput, TooLarge

OnDuplicate = Literal["error", "mean", "last"]
# The decimal mark of a CSV's numbers: European exports write 1,5 (and separate columns by ';').
DecimalMark = Literal[".", ","]
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+$")
_THOUSANDS = re.compile(r"^[-+]?\d{1,3}(?:[,.' ]\d{3})+(?:[.,]\d+)?$")
# Cells that mean "no reading": pandas.read_csv's default missing-value strings (what Excel,
# R and database exports write), so a file pandas reads cleanly imports the same way.
MISSING_TOKENS = frozenset(
    {
        *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND"),
        *("1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"),
    }
)
_OFFSET = re.compile(r"(?:[zZ]|[+-]\d\d(?::?\d\d)?)$")
TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date", "ts")
_UNIT = re.compile(r"^(?P<name>.*?)\s*[\[(](?P<unit>[^\])]{1,50})[\])]\s*$")
_MAX_LISTED = 5
# More value columns than this is not a time series but a malformed (or hostile) file, and parsing
# each column costs ~1 ms: 10,000 of them would hold a server thread for 10 s.
MAX_COLUMNS = 1_000
# A long-format file's series share one table's times: refused when that table would hold this
# many cells per reading (their times do not line up).
PIVOT_SPARSITY = 10
# A Parquet file may decode to far more than its size (run-length and dictionary encoding): its
# footer's row count and decoded size are checked against the points limit before reading it.
DECODED_BYTES_PER_POINT = 64
# Inside the range of a nanosecond timestamp (1677-09-21 to 2262-04-11), with a margin.
_FIRST = pd.Timestamp("1677-09-22", tz="UTC")
_LAST = pd.Timestamp("2262-04-10", tz="UTC")


@dataclass(frozen=True)
class ParsedTable:
    """A file's content: sorted unique UTC timestamps and one float row per value column."""

    timestamps_ns: NDArray[np.int64]
    channels: list[str]
    units: list[str | None]
    values: NDArray[np.float64]  # (channels, time); NaN where a cell was empty
    source: str
    duplicates_merged: int = 0
    missing_cells: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was read other than as written

    @property
    def point_count(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.values)))


def _file_rows(kind: str, rows: NDArray[np.intp], most: int) -> list[int]:
    # CSV rows are reported as file lines (header is line 1), Parquet rows as 1-based row numbers.
    numbers: list[int] = (rows[:most] + (2 if kind == "csv" else 1)).tolist()
    return numbers


def _where(kind: str, rows: NDArray[np.intp]) -> str:
    label = "line" if kind == "csv" else "row"
    listed = ", ".join(str(n) for n in _file_rows(kind, rows, _MAX_LISTED))
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return f"{label}{'s' if len(rows) > 1 else ''} {listed}{more}"


def _kind_of(filename: str) -> Literal["csv", "parquet"]:
    suffix = Path(filename).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt", ".tsv", ""):
        return "csv"
    spreadsheet = "; save the sheet as CSV" if suffix in (".xlsx", ".xls", ".ods") else ""
    raise InvalidInput(
        f"unsupported file type {suffix!r}: expected .csv (or .csv.gz) or .parquet{spreadsheet}",
        field="file",
    )


def file_stem(filename: str) -> str:
    """A dataset's default name: the file's name without folders and suffix ('.csv.gz' too)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    if base.lower().endswith(".gz"):
        base = base[:-3]
    return base.rsplit(".", 1)[0] if "." in base.strip(".") else base


def _decompress(data: bytes, filename: str, max_bytes: int | None) -> tuple[bytes, str]:
    """A ``.gz`` file's content and its name without the suffix; other files as they are. The
    size limit holds for the content, checked as it is inflated (a small file can hold gigabytes
    of zeros)."""
    if not filename.lower().endswith(".gz"):
        return data, filename
    out = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1 << 20):
                out.write(chunk)
                if max_bytes is not None and out.tell() > max_bytes:
                    raise TooLarge(
                        f"{filename} inflates to more than the limit of {max_bytes:,} bytes "
                        "(GAPCAST_MAX_UPLOAD_BYTES)",
                        field="file",
                    )
    except (OSError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"{filename} is not a readable gzip file: {exc}", field="file") from exc
    return out.getvalue(), filename[:-3]


def _read_frame(
    data: bytes,
    kind: Literal["csv", "parquet"],
    max_points: int | None = None,
    decimal: DecimalMark = ".",
) -> pd.DataFrame:
    if not data.strip():
        raise InvalidInput("the file is empty", field="file")
    if kind == "parquet":
        _check_parquet_footer(data, max_points)
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a corrupt file
            raise InvalidInput(f"not a readable Parquet file: {exc}", field="file") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the file is not UTF-8 text: byte 0x{data[exc.start]:02x} at offset {exc.start}",
            field="file",
        ) from exc
    sep = _delimiter(text, decimal)
    try:
        # Everything as text first: types are decided per column below, with row-level errors.
        # index_col=False: with more fields on every row than in the header, pandas would
        # otherwise take the first column as an index and shift every value one column left.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text), dtype=str, keep_default_na=False, sep=sep, index_col=False
            )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error) as exc:
        raise InvalidInput(f"the CSV file cannot be parsed: {exc}", field="file") from exc
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _refuse_extra_fields(text, sep)
    # Files joined with `cat` repeat the header line: a row that is the header is not data.
    header = [str(c) for c in frame.columns]
    repeated = (frame.iloc[:, 0] == header[0]).to_numpy(copy=True)
    if repeated.any():
        repeated &= (frame.to_numpy(dtype=object) == np.array(header, dtype=object)).all(axis=1)
    if repeated.any():
        frame = frame[~repeated]  # the index keeps each row's place in the file, for errors
    # Delimiters at the end of the header too, or spreadsheet columns left blank (an export
    # writes "a,b,,"): nameless columns without a value hold nothing, and are not series.
    blank = [
        c
        for c in frame.columns
        if str(c).startswith("Unnamed: ") and not frame[c].str.strip().any()
    ]
    if blank and len(blank) < frame.shape[1]:
        frame = frame.drop(columns=blank)
    return frame


def _refuse_extra_fields(text: str, sep: str) -> None:
    """Rows with more fields than the header lose what pandas drops past it: refused by line
    unless every extra field is empty (a delimiter at the end of each line, which some exports
    write)."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    width = len(next(reader, []))
    lines, first = [], ""
    for row in reader:
        if len(row) > width and any(cell.strip() for cell in row[width:]):
            lines.append(reader.line_num)
            first = first or sep.join(row)
    if lines:
        raise InvalidInput(
            f"{len(lines)} row(s) have more fields than the header's {width} at "
            f"{_where('csv', np.asarray(lines) - 2)} (first: {first!r}); a number written with a "
            "thousands separator or a decimal comma in a comma-separated file splits in two: "
            "quote it, or export the numbers without separators",
            field="file",
            rows=lines[:100],
        )


def _check_parquet_footer(data: bytes, max_points: int | None) -> None:
    """Refuse a Parquet file by what its footer says it holds, before decoding a single page."""
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise InvalidInput(f"not a readable Parquet file: {exc}", field="file") from exc
    _check_columns(meta.num_columns - 1)
    if max_points is None:
        return
    cells = meta.num_rows * max(meta.num_columns - 1, 1)
    decoded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if cells > max_points or decoded > max_points * DECODED_BYTES_PER_POINT:
        raise TooLarge(
            f"the Parquet file decodes to {meta.num_rows:,} rows x {meta.num_columns} columns "
            f"({decoded:,} bytes), over the limit of {max_points:,} points "
            "(GAPCAST_MAX_POINTS_PER_DATASET)",
            field="file",
        )


def _check_columns(value_columns: int) -> None:
    if value_columns > MAX_COLUMNS:
        raise TooLarge(
            f"the file has {value_columns:,} value columns; the limit is {MAX_COLUMNS:,}",
            field="file",
        )


def _delimiter(text: str, decimal: DecimalMark = ".") -> str:
    # European exports use ';' and some loggers tabs; sniff the head instead of guessing per row.
    # A decimal comma is as regular as the delimiter on every line, so it is never a candidate.
    candidates = ";\t|" if decimal == "," else ",;\t|"
    try:
        return csv.Sniffer().sniff(text[:4096], delimiters=candidates).delimiter
    except csv.Error:
        if decimal == ",":
            # None of them: commas separate, and the decimal commas are quoted (RFC 4180), as the
            # header line, which holds names and no numbers, shows.
            header = text.split("\n", 1)[0]
            return "," if "," in header and not any(c in header for c in ";\t|") else ";"
        return ","


def _find_timestamp_column(df: pd.DataFrame, wanted: str | None) -> str:
    columns = [str(c) for c in df.columns]
    if wanted is not None:
        if wanted not in columns:
            raise InvalidInput(
                f"timestamp column {wanted!r} not found; "
                f"the file has columns: {', '.join(columns)}",
                field="timestamp_column",
            )
        return wanted
    for name in TIMESTAMP_NAMES:
        for column in columns:
            if column.strip().lower() == name:
                return column
    typed = [c for c in columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    if len(typed) == 1:
        return typed[0]  # a Parquet file's one column of times, whatever its name
    dated = [c for c in columns if _looks_like_times(pd.Series([c]), sample=1)]
    if dated:
        # The file's first line is a reading, not a header: naming it as the column would lose
        # that reading and call every later one by its value.
        raise InvalidInput(
            f"the file has no header line: its first line ({', '.join(columns)}) is data, and "
            f"{dated[0]!r} a time; add a header line naming the columns (timestamp,value, say)",
            field="timestamp_column",
        )
    looks = [c for c in columns if _looks_like_times(df[c])]
    hint = (
        f"; {looks[0]!r} looks like one: --timestamp-column {looks[0]!r}"
        if len(looks) == 1
        else ". Name it with --timestamp-column"
    )
    raise InvalidInput(
        "no timestamp column: expected a column named 'timestamp' (or time, datetime, date, ts); "
        f"the file has columns: {', '.join(columns)}{hint}",
        field="timestamp_column",
    )


def _looks_like_times(column: pd.Series, sample: int = 20) -> bool:
    """Whether a text column's first values read as dates (numbers never do: epoch seconds and
    measurements look alike)."""
    if pd.api.types.is_numeric_dtype(column):
        return False
    head = column.dropna().astype(str).str.strip()
    head = head[head != ""].head(sample)
    if head.empty or pd.to_numeric(head, errors="coerce").notna().any():
        return False
    if not head.str.contains(r"\d[-./:T ]\d|\d[-./ ][A-Za-z]", regex=True).all():
        return False  # dateutil reads '100,5' as the year 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pandas warns when it infers a format per element
        parsed = pd.to_datetime(head, errors="coerce", format="mixed", dayfirst=True)
    return bool(parsed.notna().all() and parsed.dt.year.between(1800, 2200).all())


def _parse_timestamps(
    column: pd.Series,
    name: str,
    kind: Literal["csv", "parquet"],
    time_format: str | None = None,
    timezone: str | None = None,
) -> NDArray[np.int64]:
    expected = "ISO 8601 or epoch seconds"
    # Which rows were written without an offset: they are wall-clock times in ``timezone``.
    naive = np.zeros(len(column), dtype=bool)
    if pd.api.types.is_datetime64_any_dtype(column):
        parsed = pd.to_datetime(column, utc=True)
        naive[:] = getattr(column.dtype, "tz", None) is None
    elif time_format is not None:
        # An explicit strftime format (day-first dates such as 31.12.2024 23:45): naive times
        # are UTC, as in ISO 8601 without an offset; a %z in the format reads the offset.
        expected = f"time format {time_format!r}"
        try:
            parsed = pd.to_datetime(
                column.astype(str).str.strip(), utc=True, format=time_format, errors="coerce"
            )
        except ValueError as exc:
            raise InvalidInput(
                f"time format {time_format!r} is not a valid strftime format: {exc}",
                field="time_format",
            ) from exc
        naive[:] = "%z" not in time_format and "%Z" not in time_format
    else:
        text = column.astype(str).str.strip()
        numeric = pd.to_numeric(text, errors="coerce")
        if numeric.notna().all():
            # All numbers: epoch seconds (fractions allowed), or milli-, micro- or nanoseconds,
            # told apart by size (JavaScript, Kafka and many loggers write milliseconds).
            unit = epoch_unit(numeric)
            _refuse_out_of_range(column, epoch_out_of_range(numeric, unit), name, kind)
            parsed = from_epoch(numeric, unit)
        else:
            parsed = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
            if timezone is not None:  # a regex over every row: only when it matters
                naive = ~text.str.contains(_OFFSET).to_numpy()
    bad = parsed.isna().to_numpy()
    if bad.any():
        hint = "" if time_format else "; give the format with time_format (--time-format)"
        _refuse_times(
            column,
            np.flatnonzero(bad),
            name,
            kind,
            f"cannot parse {{n}} value(s) as {expected}",
            hint,
        )
    if timezone is not None and naive.any():
        parsed = _localize(parsed, naive, timezone, column, name, kind)
    _refuse_out_of_range(column, ((parsed < _FIRST) | (parsed > _LAST)).to_numpy(), name, kind)
    ns = parsed.dt.as_unit("ns").astype("int64").to_numpy()
    # Stored at microsecond precision on every database, so round here for an exact round trip.
    return ns - ns % 1000


def check_timezone(timezone: str) -> str:
    """An IANA time zone name ('Europe/Berlin'), refused with a clear message otherwise."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInput(
            f"timezone: {timezone!r} is not an IANA time zone such as 'Europe/Berlin' or "
            "'America/New_York'",
            field="timezone",
        ) from exc
    return timezone


def _localize(
    parsed: pd.Series,
    naive: NDArray[np.bool_],
    timezone: str,
    column: pd.Series,
    name: str,
    kind: Literal["csv", "parquet"],
) -> pd.Series:
    """``parsed`` (UTC) with its ``naive`` rows, read as UTC so far, read as wall-clock times in
    ``timezone`` instead. The hour repeated when clocks go back is told apart by the rows'
    order (the first is the earlier); a time the clocks skipped is refused by row."""
    wall = parsed[naive].dt.tz_convert(None)
    either = np.ones(len(wall), dtype=bool)  # a repeated time is not a skipped one
    skipped = wall.dt.tz_localize(timezone, ambiguous=either, nonexistent="NaT").isna().to_numpy()
    if skipped.any():
        what = f"{{n}} time(s) that do not exist in {timezone} (the clocks skipped them)"
        _refuse_times(column, np.flatnonzero(naive)[skipped], name, kind, what)
    try:
        local = wall.dt.tz_localize(timezone, ambiguous="infer")
    except ValueError as exc:  # pandas' AmbiguousTimeError is a ValueError
        twice = wall.dt.tz_localize(timezone, ambiguous="NaT").isna().to_numpy()
        what = (
            f"{{n}} time(s) happen twice in {timezone} (the clocks went back) and the rows' "
            "order cannot tell which is which,"
        )
        rows = np.flatnonzero(naive)[twice] if twice.any() else np.flatnonzero(naive)
        _refuse_times(column, rows, name, kind, what, "; write them with their UTC offset", exc)
    out = parsed.copy()
    out[naive] = local.dt.tz_convert("UTC").to_numpy()
    return out


def _refuse_times(
    column: pd.Series,
    rows: NDArray[np.intp],
    name: str,
    kind: Literal["csv", "parquet"],
    what: str,
    hint: str = "",
    cause: BaseException | None = None,
) -> NoReturn:
    """Refuse the file for the time column's ``rows``: ``what`` (with ``{n}``, their count), where
    they are, the first as written, and the ``hint`` that fixes it."""
    at = _positions(column, rows)
    raise InvalidInput(
        f"timestamp column {name!r}: {what.format(n=len(rows))} at {_where(kind, at)} "
        f"(first: {str(column.iloc[int(rows[0])])!r}){hint}",
        field="timestamp_column",
        rows=_file_rows(kind, at, 100),
    ) from cause


def _positions(column: pd.Series, rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """The file's row positions of a column's ``rows`` (the column's index keeps them past the
    header lines dropped from a joined file)."""
    return np.asarray(column.index.to_numpy()[rows], np.intp)


def _refuse_out_of_range(
    column: pd.Series, bad: NDArray[np.bool_], name: str, kind: Literal["csv", "parquet"]
) -> None:
    """Times outside what a nanosecond timestamp holds (years 1677-2262) are refused by row."""
    if bad.any():
        what = f"{{n}} value(s) outside the supported range {_FIRST.date()} to {_LAST.date()}"
        _refuse_times(column, np.flatnonzero(bad), name, kind, what)


def _parse_values(
    column: pd.Series, name: str, kind: Literal["csv", "parquet"], decimal: DecimalMark = "."
) -> NDArray[np.float64]:
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        values[~np.isfinite(values)] = np.nan
        return values
    text = column.astype(str).str.strip()
    empty = text.isin(MISSING_TOKENS) | column.isna()
    # With a decimal comma a '.' is never part of a number (no guessing at thousands separators:
    # 1.234,5 is refused by row rather than read as 1.2345 or 1234.5).
    numeric = text.str.replace(",", ".", regex=False) if decimal == "," else text
    if decimal == ",":
        numeric = numeric.where(~text.str.contains(".", regex=False), "not a number")
    numbers = pd.to_numeric(numeric.where(~empty), errors="coerce")
    bad = (numbers.isna() & ~empty).to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        first = str(column.iloc[int(rows[0])])
        at = _positions(column, rows)
        raise InvalidInput(
            f"column {name!r}: {len(rows)} non-numeric value(s) at {_where(kind, at)} "
            f"(first: {first!r})"
            + (f" with the decimal mark {decimal!r}" if decimal == "," else "")
            + _number_hint(first.strip(), decimal),
            field=f"columns.{name}",
            rows=_file_rows(kind, at, 100),
        )
    values = numbers.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    # 'inf' parses as a number but is never a measurement; treat it as a missing cell.
    values[~np.isfinite(values)] = np.nan
    return values


def _without_series_column(
    df: pd.DataFrame, series_column: str, ts_name: str, value_names: list[str]
) -> list[str]:
    """The value columns of a long-format file: all but its time and series columns."""
    if series_column not in value_names:
        what = "is the time column" if series_column == ts_name else "is not in the file"
        raise InvalidInput(
            f"series column {series_column!r} {what}; the file has columns: "
            f"{', '.join(map(str, df.columns))}",
            field="series_column",
        )
    rest = [c for c in value_names if c != series_column]
    if not rest:
        raise InvalidInput(
            f"no value columns: the file has only the time column {ts_name!r} and the series "
            f"column {series_column!r}",
            field="file",
        )
    return rest


def _pivot_series(
    column: pd.Series,
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    value_names: list[str],
    on_duplicate: OnDuplicate,
    kind: Literal["csv", "parquet"],
    read_as_utc: bool,
) -> tuple[list[str], NDArray[np.int64], NDArray[np.float64], int]:
    """A long-format table as one column per series and value column, on the union of their
    times: headers (the series' name, or ``<value column>_<series>`` with several value
    columns; a unit in the value column's header carries over), times, values and how many
    repeated rows were merged. Each series' repeated times are resolved on their own, as a
    file of that series alone would be."""
    ids = column.astype(str).str.strip().to_numpy()
    blank = np.flatnonzero((ids == "") | column.isna().to_numpy())
    if blank.size:
        at = _positions(column, blank)
        raise InvalidInput(
            f"series column {column.name!r}: {blank.size} row(s) without a series name at "
            f"{_where(kind, at)}",
            field="series_column",
            rows=_file_rows(kind, at, 100),
        )
    names, which = np.unique(ids, return_inverse=True)
    _check_columns(len(names) * len(value_names))
    positions = column.index.to_numpy()
    grouped = np.argsort(which, kind="stable")  # rows series by series, in file order
    ends = np.cumsum(np.bincount(which, minlength=len(names)))
    parts, merged = [], 0
    for name, end, size in zip(names.tolist(), ends, np.diff(ends, prepend=0), strict=True):
        rows = grouped[end - size : end]
        order = rows[np.argsort(ts[rows], kind="stable")]
        try:
            t, v, m = _resolve_duplicates(
                ts, values, order, on_duplicate, kind, read_as_utc, positions
            )
        except InvalidInput as exc:
            raise InvalidInput(
                f"series {name!r}: {exc.message}", field=exc.field, **exc.details
            ) from None
        parts.append((t, v))
        merged += m
    times = np.unique(np.concatenate([t for t, _ in parts]))
    cells, readings = len(names) * len(value_names) * times.size, values.size
    if cells > PIVOT_SPARSITY * readings + 1_000_000:
        # One table holds every series on shared times: series whose times do not line up
        # would make it mostly empty (and a hostile file, gigabytes of it).
        raise InvalidInput(
            f"series column {column.name!r}: the {len(names)} series' times do not line up "
            f"({times.size:,} distinct times for {readings:,} readings), so one table of them "
            f"would be {1 - readings / cells:.0%} empty; import the series one file each, or "
            "round their times to a shared step",
            field="series_column",
        )
    wide = np.full((len(names) * len(value_names), times.size), np.nan)
    headers = []
    for i, (name, (t, v)) in enumerate(zip(names, parts, strict=True)):
        at = np.searchsorted(times, t)
        for j, header in enumerate(value_names):
            wide[i * len(value_names) + j, at] = v[j]
            base, unit = _split_unit(header)
            channel = name if len(value_names) == 1 else f"{base}_{name}"
            headers.append(f"{channel} [{unit}]" if unit else channel)
    return headers, times, wide, merged


def _refuse_long_format(df: pd.DataFrame, ts_name: str, value_names: list[str]) -> None:
    """A long-format file — one row per series and time, a text column naming the series, as
    databases and many loggers export — is told so with the fix, rather than having its series
    names listed as non-numeric cells."""
    if not df[ts_name].duplicated().any():
        return
    for name in value_names:
        text = df[name].astype(str).str.strip()
        if pd.to_numeric(text, errors="coerce").notna().any():
            continue
        ids = text.unique()
        if 1 < len(ids) <= MAX_COLUMNS and len(ids) <= len(text) / 2:
            listed = ", ".join(map(repr, ids[:_MAX_LISTED]))
            more = ", ..." if len(ids) > _MAX_LISTED else ""
            raise InvalidInput(
                f"column {name!r} names {len(ids)} series ({listed}{more}) and the times repeat "
                "across them: a long-format file, one row per series and time; name that "
                f"column with series_column (--series-column {name!r}) and each series becomes "
                "a column",
                field="series_column",
            )


def _merge_repeated_times(
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    value_names: list[str],
    on_duplicate: OnDuplicate,
    kind: Literal["csv", "parquet"],
    read_as_utc: bool,
    positions: NDArray[np.intp],
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """:func:`_resolve_duplicates` over the whole file; when its times clash because a numbered
    column names the series (a long-format file), the refusal says so: merging them would
    average the series."""
    order = np.argsort(ts, kind="stable")
    try:
        return _resolve_duplicates(ts, values, order, on_duplicate, kind, read_as_utc, positions)
    except InvalidInput as exc:
        key = _series_key(ts, values, value_names)
        if key is None:
            raise
        raise InvalidInput(
            f"{exc.message}; or, if {key!r} names the series (a long-format file, one row per "
            f"series and time: merging would average the series), name it with series_column "
            f"(--series-column {key!r})",
            field=exc.field,
            **exc.details,
        ) from None


def _series_key(ts: NDArray[np.int64], values: NDArray[np.float64], names: list[str]) -> str | None:
    """A value column that looks like series numbers in a long-format file: whole numbers, few
    distinct ones, never repeated at one time while the times repeat."""
    for name, column in zip(names, values, strict=True):
        known = np.isfinite(column)
        if not known.all() or not np.array_equal(column, np.round(column)):
            continue
        ids = np.unique(column)
        if 1 < ids.size <= min(MAX_COLUMNS, column.size // 2):
            pairs = pd.DataFrame({"t": ts, "k": column})
            if not pairs.duplicated().any():
                return name
    return None


def _number_hint(first: str, decimal: DecimalMark) -> str:
    """What fixes the first value that did not read as a number, when its shape tells."""
    if decimal == "." and _DECIMAL_COMMA.match(first):
        return "; numbers with a decimal comma need decimal=',' (--decimal ,)"
    if _THOUSANDS.match(first):
        # Not guessed at: 1,234 is a thousand and some with a decimal point, one and a bit
        # with a decimal comma.
        return "; thousands separators are not read: export the numbers without them"
    return ""


MAX_NAME_LENGTH = 200  # of a dataset, series or config name (the database columns' size)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_name(name: str, *, what: str, field: str) -> str:
    """``name`` if it can be stored and shown: 1-200 characters, no control characters."""
    if not name:
        raise InvalidInput(f"the {what} is empty", field=field)
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(
            f"the {what} has {len(name)} characters; the limit is {MAX_NAME_LENGTH} "
            f"(starts {name[:40]!r})",
            field=field,
        )
    if _CONTROL.search(name):
        raise InvalidInput(f"the {what} {name[:80]!r} contains control characters", field=field)
    return name


def _split_unit(header: str) -> tuple[str, str | None]:
    match = _UNIT.match(header)
    if match and match["name"]:
        return match["name"].strip(), match["unit"].strip()
    return header.strip(), None


def _resolve_duplicates(
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    order: NDArray[np.intp],
    on_duplicate: OnDuplicate,
    kind: Literal["csv", "parquet"],
    read_as_utc: bool = True,
    positions: NDArray[np.intp] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.float64], int]:
    """Rows at one time: an error, their mean or the last. ``read_as_utc``: no time zone was
    given, so times without an offset were read as UTC (a repeated local hour clashes);
    ``positions``: each row's position in the file, when not its position here."""
    sorted_ts = ts[order]
    dup = np.flatnonzero(sorted_ts[1:] == sorted_ts[:-1]) + 1
    if len(dup) == 0:
        return sorted_ts, values[:, order], 0
    if on_duplicate == "error":
        # A row repeated whole (overlapping exports) is dropped: there is nothing to choose.
        ordered = values[:, order]
        now, before = ordered[:, dup], ordered[:, dup - 1]
        same = np.all((now == before) | (np.isnan(now) & np.isnan(before)), axis=0)
        if same.all():
            keep = np.ones(len(sorted_ts), dtype=bool)
            keep[dup] = False
            return sorted_ts[keep], ordered[:, keep], len(dup)
        clash = dup[~same]
        rows = np.sort(order[np.unique(np.concatenate([clash - 1, clash]))])
        if positions is not None:
            rows = positions[rows]
        when = pd.Timestamp(int(sorted_ts[clash[0]]), tz="UTC").isoformat()
        fix = "choose how to merge them with --on-duplicate mean|last"
        if read_as_utc and _clocks_went_back(sorted_ts[clash]):
            fix = (
                "they fall in the hour clocks repeat when summer time ends (a Sunday, "
                "01:00-02:59): local times need their zone, --timezone (e.g. Europe/Berlin); "
                "else " + fix
            )
        raise InvalidInput(
            f"{len(clash)} duplicate timestamp(s) with different values, first {when}, at "
            f"{_where(kind, rows)}; {fix}",
            field="on_duplicate",
        )
    frame = pd.DataFrame(values[:, order].T)
    grouped = frame.groupby(sorted_ts, sort=True)
    merged = grouped.mean() if on_duplicate == "mean" else grouped.last()
    return (
        merged.index.to_numpy(dtype=np.int64),
        merged.to_numpy(dtype=np.float64).T.copy(),
        len(dup),
    )


# Loggers and agencies (NOAA, buoys, weather stations) write a missing reading as a run of nines:
# -9999, 999.9, 99999. Such a value is read as missing when it repeats and lies this many
# interquartile ranges outside the other values' 1-99% range: a real reading is never that far.
MARKER_MIN_COUNT = 2
MARKER_DISTANCE = 10.0
# The runs of nines a marker may be (99 ... 9,999,999 with up to 3 decimals of nines), as the
# floats a CSV reader makes of them: matched with np.isin, so a column costs one pass, not a
# look at each distinct value.
_NINES = np.array(
    sorted({float("9" * k + ("." + "9" * d if d else "")) for k in range(2, 8) for d in range(4)})
)


def _missing_markers(row: NDArray[np.float64]) -> list[tuple[float, int]]:
    """(value, count) of each missing-value marker in one column's values."""
    finite = row[np.isfinite(row)]
    nines = np.isin(np.abs(finite), _NINES)
    if not nines.any():
        return []
    candidates, counts = np.unique(finite[nines], return_counts=True)
    found = []
    for value, count in zip(candidates, counts, strict=True):
        if count < MARKER_MIN_COUNT:
            continue
        rest = finite[finite != value]
        if rest.size < 10:
            continue
        lo, q1, q3, hi = np.percentile(rest, [1, 25, 75, 99])
        reach = MARKER_DISTANCE * max(q3 - q1, 1e-9 * max(abs(lo), abs(hi), 1.0))
        if value < lo - reach or value > hi + reach:
            found.append((float(value), int(count)))
    return found


def _clocks_went_back(times: NDArray[np.int64]) -> bool:
    """Whether clashing times all lie where a local hour repeats: Europe's and North America's
    clocks go back on a Sunday, repeating 02:00-02:59 or 01:00-01:59 (read as UTC)."""
    stamps = pd.DatetimeIndex(pd.to_datetime(times, unit="ns"))
    return bool(((stamps.day_of_week == 6) & np.isin(stamps.hour, (1, 2))).all())


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
) -> ParsedTable:
    """Parse and validate a CSV/Parquet file's bytes; raise InvalidInput naming what is wrong.

    ``decimal``: the CSV numbers' decimal mark; ``time_format``: a strftime format for the time
    column (default: ISO 8601 or epoch seconds); ``timezone``: the IANA zone of times written
    without an offset (default: UTC); ``series_column``: in a long-format file (one row per
    series and time), the column naming each row's series — each series becomes a column."""
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
    data, filename = _decompress(data, filename, max_bytes)
    kind = _kind_of(filename)
    df = _read_frame(data, kind, max_points, decimal)
    if len(df) == 0:
        raise InvalidInput("the file has a header but no data rows", field="file")
    df.columns = [str(c) for c in df.columns]
    ts_name = _find_timestamp_column(df, timestamp_column)
    value_names = [c for c in df.columns if c != ts_name]
    if not value_names:
        raise InvalidInput(
            f"no value columns: the file has only the timestamp column {ts_name!r}", field="file"
        )
    if len(set(df.columns)) != len(df.columns):
        raise InvalidInput("the file has duplicate column names", field="file")
    if series_column:
        value_names = _without_series_column(df, series_column, ts_name, value_names)
    else:
        _refuse_long_format(df, ts_name, value_names)
    _check_columns(len(value_names))

    ts = _parse_timestamps(df[ts_name], ts_name, kind, time_format or None, timezone or None)
    values = np.vstack([_parse_values(df[c], c, kind, decimal) for c in value_names])
    merged = 0
    if series_column:
        value_names, ts, values, merged = _pivot_series(
            df[series_column], ts, values, value_names, on_duplicate, kind, not timezone
        )
    notes = []
    for name, row in zip(value_names, values, strict=True):
        for marker, count in _missing_markers(row):
            row[row == marker] = np.nan
            notes.append(
                f"{name!r}: {count:,} cells of {marker:g} read as missing (a missing-value "
                "marker far outside the other values)"
            )
    empty = [c for c, row in zip(value_names, values, strict=True) if np.isnan(row).all()]
    if empty:
        listed = ", ".join(map(repr, empty[:_MAX_LISTED]))
        more = f" and {len(empty) - _MAX_LISTED} more" if len(empty) > _MAX_LISTED else ""
        raise InvalidInput(
            f"column(s) without a single numeric value: {listed}{more}",
            field=f"columns.{empty[0]}",
        )
    if not series_column:
        ts, values, merged = _merge_repeated_times(
            ts, values, value_names, on_duplicate, kind, not timezone, df.index.to_numpy()
        )
    names_units = [_split_unit(c) for c in value_names]
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
            n: int(np.isnan(row).sum()) for (n, _), row in zip(names_units, values, strict=True)
        },
        notes=notes,
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
    )
