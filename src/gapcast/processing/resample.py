"""Resample: put a raw series onto a regular grid.

Grid points with no sample stay NaN (missing), never zero: gap detection downstream must see them.
Bins are left-closed and left-labelled, with the grid anchored at midnight UTC of the first day —
the same grid as pandas' ``resample(freq).agg()`` defaults, so results can be compared with it.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import NS_PER_DAY, format_duration, infer_frequency, parse_duration
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame

Agg = Literal["mean", "sum", "min", "max", "first", "last"]

# A typo such as '1s' for hourly data would otherwise try to allocate billions of grid points.
MAX_GRID_POINTS = 200_000_000


class Resample(FrameStep):
    """Aggregate samples into bins of ``freq`` (None: the series' own inferred frequency)."""

    name = "resample"

    def __init__(self, freq: str | None = None, agg: Agg = "mean") -> None:
        self.freq = freq
        self.agg = agg

    def get_params(self) -> dict[str, Any]:
        return {"freq": self.freq, "agg": self.agg}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "freq_ns_", None) is None:
            return {}
        return {"freq_ns": self.freq_ns_, "origin_ns": self.origin_ns_}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.freq_ns_: int = int(fitted["freq_ns"])
        self.origin_ns_: int = int(fitted["origin_ns"])

    def fit(self, frame: SeriesFrame) -> Resample:
        if frame.n_points == 0:
            raise InvalidInput(f"{self.where()}: the series is empty", field=self.field())
        if self.freq is None:
            freq_ns = frame.freq_ns or infer_frequency(frame.timestamps)
        else:
            freq_ns = parse_duration(self.freq, field=self.field("freq"), where=self.where())
        first = int(frame.timestamps[0])
        self._set_fitted({"freq_ns": freq_ns, "origin_ns": first - first % NS_PER_DAY})
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        freq, origin = self.freq_ns_, self.origin_ns_
        ts = frame.timestamps
        if frame.n_points == 0:
            raise InvalidInput(f"{self.where()}: the series is empty", field=self.field())
        # New data keeps the fitted grid's phase, so recent inputs line up with training windows.
        bins = ts - origin
        bins //= freq
        first_bin = int(bins[0])
        bins -= first_bin
        n_grid = int(bins[-1]) + 1
        if n_grid > MAX_GRID_POINTS:
            raise InvalidInput(
                f"{self.where()}: freq={format_duration(freq)} turns {frame.n_points:,} samples "
                f"into {n_grid:,} grid points (limit {MAX_GRID_POINTS:,}); choose a coarser "
                "frequency",
                field=self.field("freq"),
            )
        grid = np.arange(n_grid, dtype=np.int64)
        grid *= freq
        grid += origin + first_bin * freq
        if bool(np.all(bins[1:] > bins[:-1])):
            # At most one sample per grid point (the common case): nothing to aggregate.
            if n_grid == frame.n_points:
                values = frame.values  # read-only, so shared instead of copied
            else:
                values = np.full((frame.n_channels, n_grid), np.nan)
                values[:, bins] = frame.values
        else:
            values = _aggregate(frame.values, bins, n_grid, self.agg)
        return SeriesFrame(
            timestamps=grid, values=values, channels=frame.channels, freq_ns=freq, observed=None
        )


def _aggregate(
    values: NDArray[np.float64], bins: NDArray[np.int64], n_grid: int, agg: Agg
) -> NDArray[np.float64]:
    """Per-bin aggregate of the finite samples of each channel; NaN where a bin has none.

    ``bins`` is sorted, so each bin's samples are one contiguous run.
    """
    out = np.full((values.shape[0], n_grid), np.nan)
    for c in range(values.shape[0]):
        row = values[c]
        finite = ~np.isnan(row)
        v, b = row[finite], bins[finite]
        if v.size == 0:
            continue
        if agg in ("mean", "sum"):
            sums = np.bincount(b, weights=v, minlength=n_grid)
            counts = np.bincount(b, minlength=n_grid)
            if agg == "sum":
                np.copyto(out[c], sums, where=counts > 0)
            else:
                np.divide(sums, counts, out=out[c], where=counts > 0)
            continue
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        labels = b[starts]
        if agg == "min":
            out[c, labels] = np.minimum.reduceat(v, starts)
        elif agg == "max":
            out[c, labels] = np.maximum.reduceat(v, starts)
        elif agg == "first":
            out[c, labels] = v[starts]
        else:
            ends = np.r_[starts[1:], v.size] - 1
            out[c, labels] = v[ends]
    return out
