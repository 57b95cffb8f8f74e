"""Flatlines: a continuous sensor that repeats one value, to the last digit, for a day or more.

A logger whose sensor stopped updating often keeps writing the last value it had: no cell is
empty, so gap detection sees nothing, and the model learns the run as readings. Whether a run is
a fault cannot be known from the numbers alone (a closed valve reads 0 for days), so a run is
only reported, never masked: the run says where it is, and the user decides.

Judged only on channels whose readings change from one to the next nearly always (at most
:data:`MOSTLY_CHANGING` of their changes are zero): counts, totals and report-on-change sensors
repeat values by nature and are never judged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gapcast.processing.seasons import DAY_NS

# A run of identical readings must last at least a day and this many readings to be reported.
MIN_READINGS = 12
# A channel whose consecutive readings are equal more often than this repeats values by nature.
MOSTLY_CHANGING = 0.05


@dataclass(frozen=True)
class Flatline:
    """The longest run of identical readings of one channel, and how many such runs it has."""

    start: int  # grid index of the run's first reading
    end: int  # grid index of its last reading
    readings: int
    value: float
    runs: int  # runs at least as long as the minimum, this one included


def min_readings(freq_ns: int) -> int:
    """The shortest run reported: a day of readings, at least :data:`MIN_READINGS`."""
    return max(MIN_READINGS, DAY_NS // freq_ns if freq_ns > 0 else 0)


def longest_flatline(values: NDArray[np.float64], freq_ns: int) -> Flatline | None:
    """The longest run of consecutive observed readings (NaN: not observed, skipped over) equal
    to the last digit, when it holds at least :func:`min_readings` of them and the channel
    otherwise changes at nearly every reading; None otherwise."""
    where = np.flatnonzero(~np.isnan(values))
    if where.size < 2:
        return None
    seen = values[where]
    same = np.diff(seen) == 0
    # Runs of True in ``same``: a run of k equal changes is k + 1 equal readings.
    edges = np.diff(np.concatenate([[0], same.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    readings = ends - starts + 1
    long = readings >= min_readings(freq_ns)
    if not long.any():
        return None
    inside = int((readings[long] - 1).sum())
    if same.size - inside < MIN_READINGS:
        return None  # hardly a change outside the runs: nothing says the channel otherwise moves
    if np.count_nonzero(same) - inside > MOSTLY_CHANGING * (same.size - inside):
        return None  # repeats outside the long runs too: the channel repeats by nature
    i = int(np.argmax(readings))
    first, last = int(where[starts[i]]), int(where[ends[i]])
    return Flatline(first, last, int(readings[i]), float(seen[starts[i]]), int(long.sum()))
