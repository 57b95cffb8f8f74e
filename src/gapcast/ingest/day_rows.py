"""A day per row, a column per time of day: the shape of a utility's load profile export
(``Datum;00:15;00:30;...;24:00``, a German Lastgang) and of US grid operators' hour-ending tables
(``Date,HE1,...,HE24``). It is read as one series, each cell at its day and the time its column
names (24:00 and HE24 being the next day's midnight).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

# At least this many columns of times of day make the shape (a day of hours has 24).
MIN_COLUMNS = 12
_CLOCK = re.compile(r"^(?P<h>\d{1,2}):(?P<m>\d\d)(?::(?P<s>\d\d))?$")
# An interval's header names its start: '00:00 - 00:15', '00:00-00:15'.
_INTERVAL = re.compile(r"^(?P<start>\d{1,2}:\d\d(?::\d\d)?)\s*-\s*\d{1,2}:\d\d(?::\d\d)?$")
_HOUR_ENDING = re.compile(r"^HE\s?(?P<h>\d{1,2})$", re.IGNORECASE)
_HOUR_NS = 3_600 * 10**9


def day_columns(headers: list[str]) -> dict[str, int] | None:
    """Each time-of-day column's offset from its row's midnight (ns), when at least
    :data:`MIN_COLUMNS` columns name times of day at a regular step; None otherwise."""
    offsets = {h: o for h in headers if (o := _offset(h.strip())) is not None}
    if len(offsets) < MIN_COLUMNS:
        return None
    steps = np.diff(sorted(offsets.values()))
    if steps.size == 0 or steps.min() <= 0 or (steps != steps[0]).mean() > 0.1:
        return None
    return offsets


def _offset(header: str) -> int | None:
    interval = _INTERVAL.match(header)
    if interval:
        header = interval["start"]
    clock = _CLOCK.match(header)
    if clock:
        h, m, s = int(clock["h"]), int(clock["m"]), int(clock["s"] or 0)
        if h > 24 or m > 59 or s > 59 or (h == 24 and (m or s)):
            return None
        return ((h * 60 + m) * 60 + s) * 10**9
    ending = _HOUR_ENDING.match(header)
    if ending and 1 <= int(ending["h"]) <= 24:
        return int(ending["h"]) * _HOUR_NS
    return None


def melt_days(
    df: pd.DataFrame, ts_name: str, days: pd.Series, offsets: dict[str, int]
) -> tuple[pd.DataFrame, str]:
    """One row per filled cell of the ``offsets`` columns: its time (``days``, each row's
    midnight as naive datetimes, plus its column's offset) and value, in the column
    ``value``; the rows keep their file line. Returns the frame and a note."""
    headers = sorted(offsets, key=offsets.__getitem__)
    cells = df[headers].astype(str).apply(lambda col: col.str.strip())
    filled = (cells != "").to_numpy()
    rows, cols = np.nonzero(filled)
    midnight = days.to_numpy(dtype="datetime64[ns]")[rows]
    shift = np.asarray([offsets[h] for h in headers], dtype="int64")[cols]
    out = pd.DataFrame(
        {
            ts_name: midnight + shift.astype("timedelta64[ns]"),
            "value": cells.to_numpy()[rows, cols],
        },
        index=df.index.to_numpy()[rows],
    )
    others = [c for c in df.columns if c not in offsets and c != ts_name]
    left = f"; column(s) {', '.join(map(repr, others))} left out" if others else ""
    note = (
        f"a day per row and {len(headers)} columns of times of day ({headers[0]} to "
        f"{headers[-1]}): read as one series 'value', each cell at its day and the time its "
        f"column names{left}"
    )
    return out, note
