"""Calendar: known-future inputs derived from timestamps (time of day, day of week, day of year).

A forecast step's timestamp is known before its value, so these features are given to the model
for the lookback *and* for the forecast steps. Which ones depend on the grid: the time of day only
means something below a day, the day of week up to daily data, the day of year only once the data
covers two years (one year shows a single cycle, which a model cannot tell from a trend).

The frame passes through unchanged; the model-input builder asks this step for the features of
whatever timestamps it needs (:meth:`Calendar.features`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.seasons import DAY_NS, WEEK_NS

YEAR_NS = 365.2425 * DAY_NS
# 1970-01-01 was a Thursday: shift so that Monday 00:00 is phase 0 of the week.
MONDAY_OFFSET_NS = 3 * DAY_NS
CYCLES: dict[str, float] = {"time_of_day": DAY_NS, "day_of_week": WEEK_NS, "day_of_year": YEAR_NS}


def phase(timestamps_ns: NDArray[np.int64], cycle: str) -> NDArray[np.float64]:
    """Where each UTC timestamp lies in ``cycle``, in [0, 1): 0 is midnight, Monday 00:00 and
    1 January 00:00 (leap years have 366 days)."""
    if cycle == "day_of_year":
        t = timestamps_ns.astype("datetime64[ns]")
        start = t.astype("datetime64[Y]")
        length = (start + 1).astype("datetime64[ns]") - start.astype("datetime64[ns]")
        elapsed = t - start.astype("datetime64[ns]")
        out: NDArray[np.float64] = elapsed.astype(np.int64) / length.astype(np.int64)
        return out
    shifted = timestamps_ns + MONDAY_OFFSET_NS if cycle == "day_of_week" else timestamps_ns
    period = int(CYCLES[cycle])
    return np.mod(shifted, period) / period


def cycle_features(timestamps_ns: ArrayLike, cycles: list[str]) -> NDArray[np.float32]:
    """(..., 2 * len(cycles)) sin/cos of each cycle's phase at the given UTC timestamps."""
    ts = np.asarray(timestamps_ns, dtype=np.int64)
    parts = []
    for name in cycles:
        angle = 2 * np.pi * phase(ts, name)
        parts += [np.sin(angle), np.cos(angle)]
    if not parts:
        return np.zeros((*ts.shape, 0), dtype=np.float32)
    return np.stack(parts, axis=-1).astype(np.float32)


@functools.lru_cache(maxsize=64)
def _window_table(
    phase_ns: int, freq_ns: int, cycle: str, steps: int, length: int
) -> NDArray[np.float32]:
    """(steps, 2, length): sin/cos of ``cycle`` at ``length`` grid points in a row from each of
    the ``steps`` grid points of one period from ``phase_ns``. A read-only view of one period's
    table repeated to ``steps + length - 1`` points, shared by every batch of the grid."""
    period = cycle_features(phase_ns + freq_ns * np.arange(steps, dtype=np.int64), [cycle])
    tiled = period[np.arange(steps + length - 1) % steps]
    return np.lib.stride_tricks.sliding_window_view(tiled, length, axis=0)


def window_cycle_features(
    start_ns: int, freq_ns: int, first: NDArray[np.int64], length: int, cycles: list[str]
) -> NDArray[np.float32]:
    """(n, length, 2 * len(cycles)): :func:`cycle_features` of the ``length`` grid points in a
    row from each of ``first`` (n,) (a grid starting at ``start_ns``, one point every
    ``freq_ns``), the same numbers. A cycle that is a whole number of grid steps (time of day and
    day of week on sub-daily grids) repeats every period, so each window's features are read
    whole from a table of one period's windows: computing them, or even each point's place in the
    period, for every window of every batch was a third of building a training batch
    (bench/train_overhead.py), and building the windows an outage is drawn onto is done every
    epoch. Shifting the start by whole periods changes no feature, so a table serves every grid
    of its phase."""
    first = np.asarray(first, dtype=np.int64)
    out = np.empty((first.size, length, 2 * len(cycles)), dtype=np.float32)
    for j, name in enumerate(cycles):
        period = int(CYCLES[name])
        if name != "day_of_year" and freq_ns > 0 and period % freq_ns == 0:
            steps = period // freq_ns
            table = _window_table(start_ns % period, freq_ns, name, steps, length)
            out[:, :, 2 * j : 2 * j + 2] = table[np.mod(first, steps)].transpose(0, 2, 1)
        else:
            points = start_ns + freq_ns * (first[:, None] + np.arange(length, dtype=np.int64))
            out[:, :, 2 * j : 2 * j + 2] = cycle_features(points, [name])
    return out


def cycles_for(freq_ns: int, span_ns: int) -> list[str]:
    """The calendar cycles that mean something for a grid of ``freq_ns`` spanning ``span_ns``."""
    out = []
    if freq_ns < DAY_NS:
        out.append("time_of_day")
    if freq_ns <= DAY_NS:
        out.append("day_of_week")
    if freq_ns >= DAY_NS and span_ns >= 2 * YEAR_NS:
        out.append("day_of_year")
    return out


class Calendar(FrameStep):
    """Decide the calendar features from the grid at fit time; provide them on demand."""

    name = "calendar"

    def __init__(self, cycles: list[str] | None = None) -> None:
        self.cycles = None if cycles is None else list(cycles)

    def get_params(self) -> dict[str, Any]:
        return {"cycles": self.cycles}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "cycles_", None) is None:
            return {}
        return {"cycles": list(self.cycles_)}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.cycles_: list[str] = list(fitted["cycles"])

    def fit(self, frame: SeriesFrame) -> Calendar:
        if self.cycles is not None:
            cycles = list(self.cycles)
        else:
            freq = frame.freq_ns or DAY_NS
            # n points of a grid cover n steps of time: two calendar years of daily data (731
            # points, 730 days from first to last) are two years, not half a day short of them.
            span = int(frame.timestamps[-1] - frame.timestamps[0]) + freq if frame.n_points else 0
            cycles = cycles_for(freq, span)
        self._set_fitted({"cycles": cycles})
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        return frame

    @property
    def is_fitted(self) -> bool:
        # An empty list of cycles (a yearly grid) is still a fitted step.
        return getattr(self, "cycles_", None) is not None

    @property
    def n_features(self) -> int:
        self._require_fitted()
        return 2 * len(self.cycles_)

    def features(self, timestamps_ns: ArrayLike) -> NDArray[np.float32]:
        """(..., n_features) calendar inputs of the given timestamps."""
        self._require_fitted()
        return cycle_features(timestamps_ns, self.cycles_)
