"""Durations and frequencies in integer nanoseconds: the one time unit the processing code uses."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from gapcast.errors import InvalidInput

NS_PER_DAY = 86_400 * 1_000_000_000


def parse_duration(value: str, *, field: str | None = None, where: str = "duration") -> int:
    """A fixed-length duration string ('1h', '15min', '7D', '1W') in nanoseconds.

    Calendar units (months, years) are refused: their length varies, and every step here needs a
    grid with one step length.
    """
    import pandas as pd  # here, not at module level: the API imports configs without pandas

    try:
        ns = int(pd.Timedelta(value).value)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(
            f"{where}: expected a fixed duration such as '15min', '1h' or '7D', "
            f"received {value!r} ({exc})",
            field=field,
        ) from exc
    if ns <= 0:
        raise InvalidInput(
            f"{where}: expected a positive duration, received {value!r}", field=field
        )
    return ns


def format_duration(ns: int) -> str:
    """The shortest pandas-style spelling of ``ns`` ('1h', '15min', '7D')."""
    for unit, size in (("D", NS_PER_DAY), ("h", 3_600 * 10**9), ("min", 60 * 10**9)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


def infer_frequency(timestamps_ns: ArrayLike) -> int:
    """The typical step of a series in nanoseconds: the median of the positive differences.

    The median (not the minimum) so a few duplicated or jittered samples do not shrink the grid,
    and gaps (long differences) do not stretch it; rounded to a whole number of days, hours,
    minutes, ... when within 2% of one, so clock jitter does not make the period 901 s.
    """
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    if ts.ndim != 1:
        raise InvalidInput(f"expected 1-D timestamps, received shape {ts.shape}", field="timestamp")
    if ts.size > 1 and bool(np.any(ts[1:] < ts[:-1])):
        ts = np.sort(ts)
    steps = np.diff(ts)
    steps = steps[steps > 0]
    if steps.size == 0:
        raise InvalidInput(
            "cannot infer a frequency: the series needs at least two distinct timestamps, "
            f"received {np.unique(ts).size}",
            field="timestamp",
        )
    return round_step(int(np.median(steps)))


# Units a logger's period is a whole number of, largest first.
_UNITS = (NS_PER_DAY, 3_600 * 10**9, 60 * 10**9, 10**9, 10**6, 10**3)
# How far a median step may sit from a whole number of units and still be that period: clock
# jitter moves the median of a 15-minute sensor's steps by a second or two (901 s would otherwise
# become the grid, drifting a step behind the readings every 15 hours).
STEP_TOLERANCE = 0.02


def round_step(step: int) -> int:
    """``step`` rounded to a whole number of the largest unit within :data:`STEP_TOLERANCE`."""
    for unit in _UNITS:
        whole = round(step / unit) * unit
        if whole > 0 and abs(step - whole) <= STEP_TOLERANCE * step:
            return int(whole)
    return step
