"""Readings sent on change only (a deadband, Home Assistant's state changes, SCADA's report by
exception): a silence means "unchanged", not "unknown". Imported as they are (the times say
nothing else), with a note naming the preparation that reads them that way (resample's
``agg: "hold"``), since on a regular grid the steps between changes would count as gaps.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from gapcast.processing._time import format_duration, phase_locked, round_step

# Enough readings to tell a habit from chance.
MIN_READINGS = 48
# How widely the times between readings spread, (90th - 10th percentile) / median: a logger's
# are one step apart (0, or ~0.7 for a clock jittering by a fifth of its step); change-only
# readings come when the value has moved, minutes or hours apart.
MIN_SPREAD = 1.0


def change_only_hint(
    name: str, timestamps_ns: NDArray[np.int64], values: NDArray[np.float64]
) -> str | None:
    """What to say of a column whose readings look sent on change only: 48 or more, none equal
    to the one before it, at irregular times; else None. ``timestamps_ns`` sorted."""
    seen = np.isfinite(values)
    if int(seen.sum()) < MIN_READINGS:
        return None
    level, times = values[seen], timestamps_ns[seen]
    if bool((level[1:] == level[:-1]).any()):
        return None
    gaps = np.diff(times)
    gaps = gaps[gaps > 0]
    if gaps.size < MIN_READINGS - 1:
        return None
    low, median, high = np.percentile(gaps, [10, 50, 90])
    if median <= 0 or (high - low) / median < MIN_SPREAD:
        return None
    if phase_locked(times, round_step(int(median))):
        # On a grid with steps missing (a business day's sales, whose weekends are 3 days; a
        # logger with outages): the spacing varies, but every reading keeps the grid's phase,
        # which readings sent when the value moved never do. Holding those would fill each
        # weekend and outage with the reading before it.
        return None
    apart = f"{_about(low)} to {_about(high)} apart"
    return (
        f"{name!r} never repeats the reading before it, and its readings come at irregular "
        f"times (mostly {apart}): sent on change only? A run can keep each reading until the "
        'next instead of counting the time between as gaps: the resample step\'s "agg": "hold" '
        "(the web page's 'Between readings': the last reading holds; gapcast train --set "
        "resample.agg=hold --set resample.max_hold=6h; docs/configuration.md)"
    )


def _about(ns: float) -> str:
    """A percentile of the times between readings, to the minute (to the second under one):
    '3h' or '192min', never '11495999999999ns'."""
    unit = 60 * 10**9 if ns >= 60 * 10**9 else 10**9
    return format_duration(max(round(ns / unit), 1) * unit)
