"""RemoveLinearTrend and Scale: per-channel value transforms fitted on the training part only.

Fitting on the training part alone keeps validation and test data out of the learned parameters
(no look-ahead leakage); the inverses turn model outputs back into real units.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from gapcast.errors import InvalidInput
from gapcast.processing._time import NS_PER_DAY
from gapcast.processing.base import ValueStep
from gapcast.processing.frame import SeriesFrame

ScaleMethod = Literal["standard", "minmax", "robust"]


def _as_values(values: ArrayLike, k: int) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0 or arr.shape[-1] != k:
        raise InvalidInput(
            f"expected values with {k} channel(s) on the last axis, received {arr.shape}"
        )
    return arr


# Sums over the series are taken in chunks of this many points, to bound temporary memory.
CHUNK = 1 << 20


def _fit_line(
    timestamps: NDArray[np.int64], y: NDArray[np.float64], origin: int
) -> tuple[float, float]:
    """Least-squares (slope per day, intercept) of the known points of ``y``; two passes over
    chunks (means, then centred sums) for accuracy without series-sized temporaries."""
    n, sum_x, sum_y = 0, 0.0, 0.0
    chunks = range(0, y.shape[0], CHUNK)
    for begin in chunks:
        x = (timestamps[begin : begin + CHUNK] - origin) / NS_PER_DAY
        part = y[begin : begin + CHUNK]
        known = ~np.isnan(part)
        n += int(known.sum())
        sum_x += float(x[known].sum())
        sum_y += float(part[known].sum())
    if n < 2:
        # Nothing to fit a line to: no trend, and the one known value (if any) as the level.
        return 0.0, sum_y if n else 0.0
    x_mean, y_mean = sum_x / n, sum_y / n
    sxx = sxy = 0.0
    for begin in chunks:
        x = (timestamps[begin : begin + CHUNK] - origin) / NS_PER_DAY
        part = y[begin : begin + CHUNK]
        known = ~np.isnan(part)
        dx = x[known] - x_mean
        sxx += float(dx @ dx)
        sxy += float(dx @ (part[known] - y_mean))
    slope = sxy / sxx if sxx > 0 else 0.0
    return slope, y_mean - slope * x_mean


class RemoveLinearTrend(ValueStep):
    """Subtract a per-channel straight line (least squares on the training part's known points).

    The slope is stored per day from ``origin_ns`` so the inverse can be evaluated at any
    timestamp, e.g. the target timestamps of forecast windows.
    """

    name = "remove_linear_trend"

    def get_params(self) -> dict[str, Any]:
        return {}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "slope_", None) is None:
            return {}
        return {
            "origin_ns": self.origin_ns_,
            "slope_per_day": [float(v) for v in self.slope_],
            "intercept": [float(v) for v in self.intercept_],
            "channels": list(self.channels_ or ()),
        }

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.origin_ns_: int = int(fitted["origin_ns"])
        self.slope_: NDArray[np.float64] = np.asarray(fitted["slope_per_day"], dtype=np.float64)
        self.intercept_: NDArray[np.float64] = np.asarray(fitted["intercept"], dtype=np.float64)
        self.channels_ = tuple(fitted["channels"])

    def _days(self, timestamps: ArrayLike) -> NDArray[np.float64]:
        ts = np.asarray(timestamps, dtype=np.int64)
        return (ts - self.origin_ns_) / NS_PER_DAY

    def fit(self, frame: SeriesFrame) -> RemoveLinearTrend:
        train = frame.train_part()
        if train.n_points == 0:
            raise InvalidInput(f"{self.where()}: the training part is empty", field=self.field())
        origin = int(train.timestamps[0])
        lines = [
            _fit_line(train.timestamps, train.values[c], origin) for c in range(train.n_channels)
        ]
        self._set_fitted(
            {
                "origin_ns": origin,
                "slope_per_day": [slope for slope, _ in lines],
                "intercept": [intercept for _, intercept in lines],
                "channels": list(frame.channels),
            }
        )
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        # Row by row into the output array: no (T,)-sized temporaries besides the result itself.
        self._check_channels(frame)
        out = np.empty_like(frame.values)
        for c in range(frame.n_channels):
            row = out[c]
            np.subtract(frame.timestamps, self.origin_ns_, out=row, casting="unsafe")
            row *= self.slope_[c] / NS_PER_DAY
            row += self.intercept_[c]
            np.subtract(frame.values[c], row, out=row)
        return frame.replace(values=out)

    def _forward(
        self, values: NDArray[np.float64], timestamps: NDArray[np.int64], index: Sequence[int]
    ) -> NDArray[np.float64]:
        idx = list(index)
        out = self.inverse_values(np.zeros_like(values), timestamps, idx)
        np.subtract(values, out, out=out)
        return out

    def inverse_values(
        self, values: ArrayLike, timestamps: ArrayLike, index: Sequence[int]
    ) -> NDArray[np.float64]:
        self._require_fitted()
        idx = list(index)
        arr = _as_values(values, len(idx))
        days = self._days(timestamps)
        if days.shape != arr.shape[:-1]:
            raise InvalidInput(
                f"expected timestamps of shape {arr.shape[:-1]}, received {days.shape}"
            )
        out = days[..., np.newaxis] * self.slope_[idx]
        out += self.intercept_[idx]
        out += arr
        return out


class Scale(ValueStep):
    """Per-channel scaling: standard (mean/std), minmax (to [0, 1]) or robust (median/IQR)."""

    name = "scale"

    def __init__(self, method: ScaleMethod = "standard") -> None:
        self.method = method

    def get_params(self) -> dict[str, Any]:
        return {"method": self.method}

    def _get_fitted(self) -> dict[str, Any]:
        if getattr(self, "center_", None) is None:
            return {}
        return {
            "center": [float(v) for v in self.center_],
            "scale": [float(v) for v in self.scale_],
            "channels": list(self.channels_ or ()),
        }

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        self.center_: NDArray[np.float64] = np.asarray(fitted["center"], dtype=np.float64)
        self.scale_: NDArray[np.float64] = np.asarray(fitted["scale"], dtype=np.float64)
        self.channels_ = tuple(fitted["channels"])

    def fit(self, frame: SeriesFrame) -> Scale:
        values = frame.train_part().values
        if values.shape[1] == 0:
            raise InvalidInput(f"{self.where()}: the training part is empty", field=self.field())
        with warnings.catch_warnings():
            # An all-NaN channel warns "mean of empty slice"; it is handled just below.
            warnings.simplefilter("ignore", RuntimeWarning)
            if self.method == "standard":
                center = np.nanmean(values, axis=1)
                scale = np.nanstd(values, axis=1)
            elif self.method == "minmax":
                center = np.nanmin(values, axis=1)
                scale = np.nanmax(values, axis=1) - center
            else:
                q25, median, q75 = np.nanpercentile(values, [25, 50, 75], axis=1)
                center, scale = median, q75 - q25
        center = np.where(np.isfinite(center), center, 0.0)
        # A constant channel would divide by zero: leave its spread alone instead.
        scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
        self._set_fitted(
            {"center": list(center), "scale": list(scale), "channels": list(frame.channels)}
        )
        return self

    def _forward(
        self, values: NDArray[np.float64], timestamps: NDArray[np.int64], index: Sequence[int]
    ) -> NDArray[np.float64]:
        idx = list(index)
        out = np.subtract(values, self.center_[idx])
        out /= self.scale_[idx]
        return out

    def inverse_values(
        self, values: ArrayLike, timestamps: ArrayLike, index: Sequence[int]
    ) -> NDArray[np.float64]:
        self._require_fitted()
        idx = list(index)
        out = np.multiply(_as_values(values, len(idx)), self.scale_[idx])
        out += self.center_[idx]
        return out
