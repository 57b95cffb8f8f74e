"""Recent or training rows given to the library (or to the REST predict as ``data``) with one
time on several rows that disagree.

Averaged silently by resampling, such rows would turn a long-format frame (one row per series
and time) into the mean of its series, or hide two sensors' clashing readings. ``gapcast
import`` refuses them; the library does too, naming the rows and what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.frame import plain_label

MAX_LISTED = 5


def refuse_repeated_times(
    ts: NDArray[np.int64],
    values: NDArray[np.float64],
    names: Sequence[str],
    labels: pd.Index,
    time_name: str | None,
    *,
    wall_clock: bool = False,
) -> None:
    """Raise InvalidInput when a time repeats with different values (rows repeated whole are
    harmless: any merge gives them back). ``values`` is (channels, rows) in the rows' order,
    ``labels`` the frame's index, ``time_name`` its time column's name (None: the index),
    ``wall_clock``: the times carried no zone (read as UTC), so a clash in the hour clocks repeat
    when summer time ends is most likely a local clock going back, and the fix is its zone."""
    from gapcast.ingest.duplicates import repeats, series_key
    from gapcast.ingest.times import clocks_went_back

    order = np.argsort(ts, kind="stable")
    times = ts[order]
    dup, same = repeats(times, values[:, order])
    clash = dup[~same]
    if not clash.size:
        return
    # In time order, so the rows that clash are listed side by side.
    rows = order[np.unique(np.concatenate([clash - 1, clash]))]
    if time_name is None or not labels.is_unique:
        # The index holds the times (its labels would all read alike), or repeats (concatenated
        # frames): positions are what finds a row.
        where = "positions " + ", ".join(str(int(i)) for i in rows[:MAX_LISTED])
    else:
        where = "rows " + ", ".join(repr(plain_label(labels[i])) for i in rows[:MAX_LISTED])
    more = f" and {rows.size - MAX_LISTED} more" if rows.size > MAX_LISTED else ""
    when = pd.Timestamp(int(times[clash[0]]), tz="UTC").isoformat()
    index = repr(time_name) if time_name is not None else "df.index"
    group = repr(time_name) if time_name is not None else "level=0"
    fix = f"merge them first (in pandas: df.groupby({group}).mean() or .last())"
    if wall_clock and clocks_went_back(times[clash]):
        if time_name is not None:
            column = f"df[{time_name!r}]"
            localize = f"{column} = pd.to_datetime({column}).dt.tz_localize"
        else:
            localize = "df.index = pd.DatetimeIndex(df.index).tz_localize"
        localize += "('Europe/Berlin', ambiguous='infer')"
        fix = (
            "they fall in the hour clocks repeat when summer time ends (a Sunday, 01:00-02:59): "
            f"local wall-clock times need their zone first (in pandas: {localize}, with your "
            "zone); else " + fix
        )
    key = series_key(ts, values, list(names))
    if key is not None:
        fix = (
            f"if {key!r} names each row's series (a long format), give each series a column "
            f"first (in pandas: df.pivot_table(index={index}, columns={key!r})); else " + fix
        )
    raise InvalidInput(
        f"{clash.size} repeated time(s) with different values, first {when}, at {where}{more}; "
        f"one row per time is expected: {fix}",
        field="timestamp",
    )
