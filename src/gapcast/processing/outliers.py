"""Glitches: a reading or a short run of readings that jumps far away from both of its neighbours
and straight back, as a sensor's spike (5000 on a 20 °C thermometer) or a logger's stray zero
does.

Left in, one such reading wrecks everything a window reads: its level and spread (windows are
scaled relative to them), the season confirmed by autocorrelation, and every forecast whose
lookback holds it. Masked, it is one more missing reading, which windows already read past
through their observed mask. The rule is deliberately narrow, so a real event is never taken for
a glitch:

- a run of at most ``max_run`` observed readings that lies, all of it, more than ``threshold``
  typical steps above (or below) both the reading just before the run and the one just after;
- the typical step is the robust spread of the training part's step-to-step changes (1.4826 x
  their median absolute value): a channel whose changes are mostly zero (counts, a sensor that
  reports only changes) has none and is never checked;
- the neighbours must be near: the run and its two neighbours span at most ``2 x max_run`` grid
  steps more than the run itself, so a reading after an outage (perhaps at a new level) is not
  judged, and neither is the end of the data, whose next reading is not known yet (a level shift
  just starting looks the same).

A level shift moves away and stays away, so it is never masked; a peak that rises and falls over
more than ``max_run`` readings is an event, not a glitch. A masked reading is scored for no method
(the baselines read the same truth), and the run's warnings say how many were masked.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame

# 1 / Φ⁻¹(3/4): the median absolute value of normal changes, as a standard deviation.
MAD_TO_SD = 1.4826
# A channel whose changes are zero more often than not has no robust spread to judge by.
MOSTLY_ZERO = 0.5
SAMPLE = 100_000
CHUNK = 1 << 20


def step_spread(values: NDArray[np.float64]) -> float:
    """The robust spread of the changes between consecutive observed readings (0: none)."""
    seen = values[~np.isnan(values)]
    changes = np.abs(np.diff(seen))
    if changes.size > SAMPLE:
        # A median needs no more: evenly spaced changes estimate it to well under a percent.
        changes = changes[:: changes.size // SAMPLE]
    if changes.size < 2 or np.count_nonzero(changes == 0) > MOSTLY_ZERO * changes.size:
        return 0.0
    return float(MAD_TO_SD * np.median(changes))


def glitches(
    values: NDArray[np.float64], spread: float, threshold: float, max_run: int
) -> NDArray[np.bool_]:
    """The readings of one channel (NaN: missing) that the module docstring's rule masks.

    Judged a million grid points at a time (a long minute series would otherwise hold several
    copies of itself), each stretch read with the few steps around it that a run near its edge
    is judged by: a run and its neighbours lie within ``3 x max_run`` steps."""
    out = np.zeros(values.shape, dtype=bool)
    if not spread > 0:
        return out
    n, pad = values.size, 3 * max_run + 2
    for lo in range(0, n, CHUNK):
        hi = min(lo + CHUNK, n)
        first = max(lo - pad, 0)
        part = _glitches(values[first : min(hi + pad, n)], threshold * spread, max_run)
        out[lo:hi] = part[lo - first : hi - first]
    return out


def _glitches(values: NDArray[np.float64], limit: float, max_run: int) -> NDArray[np.bool_]:
    out = np.zeros(values.shape, dtype=bool)
    at = np.flatnonzero(~np.isnan(values))
    seen = values[at]
    # A run starts with a jump of more than the limit from the reading before it: only the
    # few such places are examined, so a clean series costs one pass.
    starts = np.flatnonzero(np.abs(np.diff(seen)) > limit) + 1
    for run in range(1, max_run + 1):
        first = starts[starts + run < seen.size]  # the run is seen[first : first + run]
        if not first.size:
            break
        before, after = seen[first - 1], seen[first + run]
        low, high = seen[first].copy(), seen[first].copy()
        for offset in range(1, run):
            np.minimum(low, seen[first + offset], out=low)
            np.maximum(high, seen[first + offset], out=high)
        above = low - np.maximum(before, after) > limit
        below = np.minimum(before, after) - high > limit
        near = at[first + run] - at[first - 1] <= 2 * max_run + run
        hit = first[(above | below) & near]
        for offset in range(run):
            out[at[hit + offset]] = True
    return out


class MaskOutliers(FrameStep):
    """Mask glitches (see the module docstring): their readings become missing. ``threshold``:
    how many typical steps away from both neighbours a run must lie; ``max_run``: the longest
    run of readings that counts as a glitch. Fitted on the training part (the typical step of
    each channel); ``report_`` lists what the frame it was fitted on had masked."""

    name = "mask_outliers"

    def __init__(self, threshold: float = 20.0, max_run: int = 3) -> None:
        self.threshold = threshold
        self.max_run = max_run

    def get_params(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "max_run": self.max_run}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "spread_", None) is None:
            return {}
        return {"spread": dict(self.spread_)}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.spread_: dict[str, float] = {str(k): float(v) for k, v in fitted["spread"].items()}

    def fit(self, frame: SeriesFrame) -> MaskOutliers:
        train = frame.train_part()
        # The readings alone: a fill step before the split would shrink the typical change.
        read = np.where(train.mask, train.values, np.nan)
        self._set_fitted(
            {"spread": {c: step_spread(read[i]) for i, c in enumerate(frame.channels)}}
        )
        self.report_ = self.found(frame)
        return self

    def found(self, frame: SeriesFrame) -> NDArray[np.bool_]:
        """(C, T): the glitches of ``frame``, by the fitted spreads."""
        self._require_fitted()
        out = np.zeros(frame.values.shape, dtype=bool)
        for i, channel in enumerate(frame.channels):
            if channel not in self.spread_:
                raise InvalidInput(
                    f"{self.where()} was fitted on channels {list(self.spread_)}, received "
                    f"{channel!r}"
                )
            values = np.where(frame.mask[i], frame.values[i], np.nan)
            out[i] = glitches(values, self.spread_[channel], self.threshold, self.max_run)
        return out

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        return self._masked(frame, self.found(frame))

    def fit_transform(self, frame: SeriesFrame) -> SeriesFrame:
        return self._masked(frame, self.fit(frame).report_)

    @staticmethod
    def _masked(frame: SeriesFrame, masked: NDArray[np.bool_]) -> SeriesFrame:
        if not masked.any():
            return frame
        return frame.replace(
            values=np.where(masked, np.nan, frame.values), observed=frame.mask & ~masked
        )
