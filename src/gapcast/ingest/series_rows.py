"""A series per row and a time per column: the shape of a business spreadsheet (``Product,
Jan-2024, Feb-2024, ...``: sales of each product by month) and of many statistics tables. The
rows are read as a long-format file (one row per series and time), so each row becomes a series
named by its label, and a refused cell names the file line of its row.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from gapcast.ingest.day_rows import day_columns
from gapcast.ingest.periods import read_periods

# At least this many columns named by times make the shape, and at least this share of columns.
MIN_TIME_COLUMNS = 3
MIN_TIME_SHARE = 0.5
_CLOCK = re.compile(r"^\d{1,2}:\d\d")
# The names the melted frame gives its time and value columns.
TIME, VALUE = "time (from the header)", "cells (a series per row)"


def series_rows(df: pd.DataFrame) -> tuple[pd.DataFrame, str, str] | None:
    """The file as one row per (series, time), its series column's name and a note, when its
    header names times (or periods) in at least :data:`MIN_TIME_COLUMNS` columns and half of
    them, and a column of text labels its rows; None otherwise."""
    headers = [str(c) for c in df.columns]
    if len(headers) < MIN_TIME_COLUMNS + 1 or day_columns(headers) is not None:
        return None  # times of day in the header: a day per row (a load profile)
    needed = max(MIN_TIME_COLUMNS, int(np.ceil(MIN_TIME_SHARE * len(headers))))
    times = _time_headers(headers)
    if len(times) < needed:
        return None
    rest = [h for h in headers if h not in times]
    labels = [h for h in rest if _labels(df[h])]
    if not labels:
        return None
    # As many label columns as name each row once ('Product' alone, or 'Product / Region').
    names = df[labels[0]].astype(str).str.strip()
    used = 1
    while not names.is_unique and used < len(labels):
        names = names + " / " + df[labels[used]].astype(str).str.strip()
        used += 1
    label = " / ".join(labels[:used])
    n = len(times)
    cells = df[times].to_numpy(dtype=object)
    melted = pd.DataFrame(
        {
            label: np.repeat(names.to_numpy(), n),
            TIME: np.tile(np.asarray(times, dtype=object), len(df)),
            VALUE: cells.ravel(),
        },
        # Each cell keeps its row's place in the file, so a refusal names that line.
        index=np.repeat(df.index.to_numpy(), n),
    )
    others = [h for h in rest if h not in labels[:used]]
    left = f"; column(s) {', '.join(map(repr, others))} left out" if others else ""
    note = (
        f"a series per row, named by {label!r} ({names.nunique()} of them), and a time per "
        f"column ({times[0]} to {times[-1]}): each row read as a series{left}"
    )
    return melted, label, note


def _time_headers(headers: list[str]) -> list[str]:
    """The headers that name a time or a period, in one pass over all of them."""
    # Every time or period has two digits or more ('Jan-24'); numbers ('2024' heads a column of
    # a year's values as often) and times of day (a load profile's) are not this shape's.
    text = pd.Series([h.strip() for h in headers], dtype=object)
    digits = text.str.count(r"\d") >= 2
    candidates = text[
        digits & pd.to_numeric(text, errors="coerce").isna() & ~text.str.match(_CLOCK)
    ]
    if len(candidates) < MIN_TIME_COLUMNS:
        return []
    found = pd.Series(False, index=candidates.index)
    periods = read_periods(candidates)
    if periods is not None:
        found |= periods[0].notna()
    rest = candidates[~found]
    if len(rest):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns when it infers a format per element
            parsed = pd.to_datetime(rest, errors="coerce", format="mixed", utc=True)
        found[rest.index] = parsed.notna() & parsed.dt.year.between(1800, 2200)
    return [headers[i] for i in candidates.index[found.to_numpy()]]


def _labels(column: pd.Series) -> bool:
    """Whether a column names its rows: text, not numbers, with a value on every row."""
    text = column.astype(str).str.strip()
    if column.isna().any() or (text == "").any():
        return False
    return bool(pd.to_numeric(text, errors="coerce").isna().all())
