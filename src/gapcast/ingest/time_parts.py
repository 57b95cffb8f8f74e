"""Times written in parts, one column each: NOAA buoys' ``#YY MM DD hh mm``, air-quality and
weather exports' ``year,month,day,hour``. The parts are found by name (or named as
``year+month+day+hour``) and read as one time column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gapcast.ingest.common import FileKind, rows_refused, split_unit

PARTS = ("year", "month", "day", "hour", "minute", "second")
_NAMES = {
    "year": ("year", "yr", "yy", "yyyy"),
    "month": ("month", "mo", "mon", "mm"),
    "day": ("day", "dy", "dd"),
    "hour": ("hour", "hr", "hh"),
    "minute": ("minute", "min", "mn", "mi", "mm"),
    "second": ("second", "sec", "ss"),
}
# Two-digit years as strptime's %y reads them (POSIX): 69-99 are 1969-1999, 00-68 2000-2068.
_CENTURY_PIVOT = 69


def _bare(column: str) -> str:
    """A header without its unit and without the '#' that opens NOAA's header line."""
    return split_unit(column)[0].lstrip("#").strip()


def find_time_parts(df: pd.DataFrame) -> list[str] | None:
    """The columns holding a time's parts, year first, when the header has a year, a month and a
    day column (or a year and month numbers without a day: monthly data) and nothing else that
    is a time; hour, minute and second follow when present,
    each only after the one before it and only when its values are whole numbers in range (a
    rain gauge's 'mm' is no minute). 'MM' is the month and 'mm' the minute when a file has both
    (NOAA); a lone 'mm' is the month unless another column is."""
    columns = [str(c) for c in df.columns]
    found: dict[str, list[str]] = {part: [] for part in PARTS}
    for column in columns:
        bare = _bare(column)
        for part in PARTS:
            if bare.lower() in _NAMES[part]:
                found[part].append(column)
    both = [c for c in columns if _bare(c) == "MM"], [c for c in columns if _bare(c) == "mm"]
    if both[0] and both[1]:
        found["month"], found["minute"] = both[0], both[1]
    else:
        mm = both[0] + both[1]
        if len(found["month"]) > 1:
            found["month"] = [c for c in found["month"] if c not in mm]
        found["minute"] = [c for c in found["minute"] if c not in found["month"]]
    parts: list[str] = []
    for part in PARTS:
        if len(found[part]) != 1 or (part in _RANGES and not _in_range(df[found[part][0]], part)):
            break
        parts.append(found[part][0])
    if len(parts) == 2 and (found["day"] or not _months(df[parts[1]])):
        return None  # a year and a month number: monthly data, as statistics offices write it
    return parts if len(parts) >= 2 else None


def _months(column: pd.Series) -> bool:
    numbers = pd.to_numeric(column.head(1000), errors="coerce")
    return bool(len(numbers)) and bool(((numbers % 1 == 0) & numbers.between(1, 12)).all())


# What an hour, a minute and a second can be (24: some loggers' end of day).
_RANGES = {"hour": 24, "minute": 59, "second": 59}


def _in_range(column: pd.Series, part: str) -> bool:
    numbers = pd.to_numeric(column.head(1000), errors="coerce").dropna()
    return bool(len(numbers)) and bool(
        ((numbers % 1 == 0) & (numbers >= 0) & (numbers <= _RANGES[part])).all()
    )


def join_time_parts(
    df: pd.DataFrame, parts: list[str], kind: FileKind = "csv"
) -> tuple[pd.DataFrame, str, str]:
    """``df`` with the ``parts`` columns (year, month, day[, hour[, minute[, second]]]) read as
    one column of ISO 8601 times named ``year+month+day...``, its name and a note. A first row
    without a digit in its parts (NOAA's line of units, ``#yr mo dy hr mn``) is kept as written
    for the units reader; any other row that is not a valid time is refused by line."""
    joined = "+".join(parts)
    cells = [df[c].astype(str).str.strip() for c in parts]
    numbers = pd.DataFrame(
        {
            part: pd.to_numeric(cell, errors="coerce")
            for part, cell in zip(PARTS[: len(cells)], cells, strict=True)
        }
    )
    whole = numbers.notna().all(axis=1) & (numbers.fillna(0) % 1 == 0).all(axis=1)
    notes = []
    years = numbers["year"][whole]
    if len(years) and bool((years < 100).all()) and bool((years >= 0).all()):
        numbers["year"] += np.where(numbers["year"] >= _CENTURY_PIVOT, 1900, 2000)
        notes.append("two-digit years read as 1969-2068")
    if "day" not in numbers:
        numbers["day"] = 1  # a year and a month: the month's first day
    filled = numbers.where(whole, 1)
    filled.loc[~whole, "year"] = 2000  # any valid time: those rows are refused below
    # Hour 24 (some loggers' end of the day) is the next day's hour 0.
    end = (filled["hour"] == 24).to_numpy() if "hour" in filled else np.zeros(len(df), bool)
    if end.any():
        filled.loc[end, "hour"] = 0
    times = pd.to_datetime(filled.astype("int64"), errors="coerce")
    times[end] += pd.Timedelta(days=1)
    bad = (~whole | times.isna()).to_numpy(copy=True)
    units_line = bool(bad[0]) and not any(c.isdigit() for cell in cells for c in cell.iloc[0])
    if units_line:
        bad[0] = False
    if bad.any():
        rows = np.flatnonzero(bad)
        first = int(rows[0])
        written = ", ".join(f"{p} {cells[i].iloc[first]!r}" for i, p in enumerate(parts))
        raise rows_refused(
            df[parts[0]],
            rows,
            kind,
            f"time columns {', '.join(map(repr, parts))}: {len(rows)} row(s) that are not a "
            "valid date and time",
            field="timestamp_column",
            after=f" (first: {written})",
        )
    text = times.dt.strftime("%Y-%m-%dT%H:%M:%S")
    if units_line:
        text.iloc[0] = " ".join(cell.iloc[0] for cell in cells)
    out = df.drop(columns=parts)
    out.insert(0, joined, text)
    listed = ", ".join(map(repr, parts[:-1])) + f" and {parts[-1]!r}"
    note = f"times read from the columns {listed} ({', '.join(PARTS[: len(parts)])})"
    return out, joined, "; ".join([note, *notes])


def named_parts(columns: list[str], wanted: str) -> list[str] | None:
    """The parts of ``wanted`` ('year+month+day+hour'), three to six columns of the file, when
    the file has no column of that very name."""
    if wanted in columns or "+" not in wanted:
        return None
    parts = wanted.split("+")
    if not 3 <= len(parts) <= len(PARTS):
        return None
    missing = [p for p in parts if p not in columns]
    if missing or len(set(parts)) != len(parts):
        return None
    return parts
