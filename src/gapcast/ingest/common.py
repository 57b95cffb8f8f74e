"""What every part of reading a file shares: the parsed table, names and units of columns, and
where in the file a row is (for errors that name lines).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.errors import InvalidInput, TooLarge

OnDuplicate = Literal["error", "mean", "last"]
# The decimal mark of a CSV's numbers: European exports write 1,5 (and separate columns by ';').
DecimalMark = Literal[".", ","]
# How a file is read, and how its rows are named in errors: a CSV's lines (header on line 1), an
# .xlsx sheet's rows as the spreadsheet numbers them, a Parquet file's rows from 1.
FileKind = Literal["csv", "parquet", "xlsx", "json"]
_UNIT = re.compile(r"^(?P<name>.*?)\s*[\[(](?P<unit>[^\])]{1,50})[\])]\s*$")
MAX_LISTED = 5
# More value columns than this is not a time series but a malformed (or hostile) file, and parsing
# each column costs ~1 ms: 10,000 of them would hold a server thread for 10 s.
MAX_COLUMNS = 1_000


@dataclass(frozen=True)
class TotalEnds:
    """A running total's first and last reading in a file, and its usual step between readings:
    what the stored dataset keeps so that the next export's first increase is not lost."""

    first_at: int  # ns UTC
    first: float
    last_at: int
    last: float
    step_ns: int  # 0: one reading, no step of its own


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
    # Columns read as running totals (--counter), by channel: their raw first and last readings.
    counters: dict[str, TotalEnds] = field(default_factory=dict)
    # The IANA zone times without an offset were read in (the timezone option): the dataset
    # remembers it, so a newer export or a predict file is read alike without being told again.
    timezone: str | None = None
    # (channels, time): cells that said "no reading" (a long format's row without a value, such
    # as 'unavailable'; a wide table's 'NA', 'ERR' or -9999), stored as marks; never a wide
    # table's empty cell, which may mean "unchanged" for a sensor reporting on change.
    marked: NDArray[np.bool_] | None = None

    @property
    def point_count(self) -> int:
        return int(np.count_nonzero(~np.isnan(self.values)))

    def column_wise(self) -> dict[str, list[Any]]:
        """``{'timestamp': [ISO 8601 UTC, ...], '<series>': [number or None, ...]}``: what a
        predict request takes as its recent points."""
        times = pd.to_datetime(self.timestamps_ns, unit="ns", utc=True)
        out: dict[str, list[Any]] = {"timestamp": [t.isoformat() for t in times]}
        for name, row in zip(self.channels, self.values.tolist(), strict=True):
            out[name] = [None if math.isnan(v) else v for v in row]  # NaN: an empty cell
        return out


def check_distinct(header: list[str]) -> None:
    """Refuses a header naming two columns alike (pandas would read the second as 'temp.1', a
    name the file never wrote, and two series of one name cannot be told apart)."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if not name.strip():
            continue  # nameless columns ('a,b,,'): dropped when empty, refused by name when not
        if name in seen:
            raise InvalidInput(
                f"columns {seen[name]} and {position} of the header are both named {name!r}: "
                "give them distinct names",
                field="file",
            )
        seen[name] = position


def file_rows(kind: str, rows: NDArray[np.intp], most: int) -> list[int]:
    # CSV rows are reported as file lines (header is line 1), a sheet's as the spreadsheet numbers
    # them (its reader indexes the frame so), Parquet rows and JSON records as 1-based numbers.
    numbers: list[int] = (rows[:most] + (1 if kind in ("parquet", "json") else 2)).tolist()
    return numbers


def describe_rows(kind: str, rows: NDArray[np.intp]) -> str:
    label = {"csv": "line", "json": "record"}.get(kind, "row")
    listed = ", ".join(str(n) for n in file_rows(kind, rows, MAX_LISTED))
    more = f" and {len(rows) - MAX_LISTED} more" if len(rows) > MAX_LISTED else ""
    return f"{label}{'s' if len(rows) > 1 else ''} {listed}{more}"


def check_columns(value_columns: int) -> None:
    if value_columns > MAX_COLUMNS:
        raise TooLarge(
            f"the file has {value_columns:,} value columns; the limit is {MAX_COLUMNS:,}",
            field="file",
        )


def file_positions(column: pd.Series, rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """The file's row positions of a column's ``rows`` (the column's index keeps them past the
    header lines dropped from a joined file)."""
    return np.asarray(column.index.to_numpy()[rows], np.intp)


def rows_refused(
    column: pd.Series,
    rows: NDArray[np.intp],
    kind: str,
    what: str,
    *,
    field: str,
    after: str = "",
) -> InvalidInput:
    """The refusal of a column's ``rows``: ``what``, at which lines of the file (rows of a
    Parquet file), then ``after``; the first hundred line numbers go with it for a UI."""
    at = file_positions(column, rows)
    return InvalidInput(
        f"{what} at {describe_rows(kind, at)}{after}",
        field=field,
        rows=file_rows(kind, at, 100),
    )


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


# HOBO loggers name the logger and sensor after the unit: 'Temp, °F (LGR S/N: 204, SEN S/N: 204)'.
_SERIALS = re.compile(r"\s*\([^()]*\bS/N\b[^()]*\)\s*$")
# A unit after a comma, as HOBO writes it ('Temp, °F', 'RH, %', 'Date Time, GMT-05:00'): short, no
# spaces, and not a plain word ('Power, total' is no unit) unless a short one (V, kW, lux, ppm).
_COMMA_UNIT = re.compile(
    r"^(?P<name>[^,]+?),\s+(?P<unit>[^\s,]*[^\sA-Za-z,][^\s,]*|[A-Za-zµΩ]{1,4})$"
)


def split_unit(header: str) -> tuple[str, str | None]:
    """A column header's name and unit: 'power [kW]', 'power (kW)' and HOBO's 'Temp, °F (LGR
    S/N: ...)' are 'power'/'Temp' in kW/°F."""
    header = _SERIALS.sub("", header)
    match = _UNIT.match(header) or _COMMA_UNIT.match(header.strip())
    if match and match["name"].strip() and match["unit"].isprintable():
        return match["name"].strip(), match["unit"].strip()
    return header.strip(), None
