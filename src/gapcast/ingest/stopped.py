"""A column whose readings stop while the file's rows go on: a sensor that died while its
logger kept writing rows (empty cells, 'NA'). Said at import, since nothing else would: the
empty cells are not stored, the run trains on the readings, and the user may not know the
sensor is dead until a forecast starts days in the past.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

# Enough readings to know the column's step.
MIN_READINGS = 48
# A silence this many of the column's own steps long at the end of the file is worth a word;
# a slower column beside fast ones ends at most one of its steps before the last row.
MIN_STEPS = 12
_HOUR = 3_600 * 10**9
_DAY = 24 * _HOUR


def stopped_hint(
    name: str, timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]
) -> str | None:
    """What to say of a column whose last reading comes ``MIN_STEPS`` or more of its own steps
    before the file's last row; else None. ``timestamps_ns`` sorted, one per row."""
    seen = np.flatnonzero(np.isfinite(values))
    if seen.size < MIN_READINGS or timestamps_ns.size == 0:
        return None
    times = timestamps_ns[seen]
    step = float(np.median(np.diff(times)))
    last, end = int(times[-1]), int(timestamps_ns[-1])
    if step <= 0 or end - last < MIN_STEPS * step:
        return None
    return (
        f"{name!r} has no reading in the file's last {_span(end - last)} (its last at "
        f"{_minute(last)} UTC; the rows go on to {_minute(end)} UTC): has it stopped? A run "
        "trains on its readings; predict forecasts from after the last row, and names the start "
        "to give to forecast from the last reading instead"
    )


def _minute(ns: int) -> str:
    return str(np.datetime64(ns, "ns").astype("datetime64[m]")).replace("T", " ")


def _span(ns: int) -> str:
    if ns >= 2 * _DAY:
        return f"{ns / _DAY:.0f} days"
    if ns >= 2 * _HOUR:
        return f"{ns / _HOUR:.0f} hours"
    return f"{max(ns // (60 * 10**9), 1)} minutes"
