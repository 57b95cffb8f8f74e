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
        x = (train.timestamps - origin) / NS_PER_DAY
        slopes, intercepts = [], []
        for c in range(train.n_channels):
            y = train.values[c]
            known = ~np.isnan(y)
            xs, ys = x[known], y[known]
            if ys.size < 2:
                # Nothing to fit a line to: no trend (and a constant from the one known value).
                slopes.append(0.0)
                intercepts.append(float(ys[0]) if ys.size else 0.0)
                continue
            x_mean, y_mean = xs.mean(), ys.mean()
            dx = xs - x_mean
            denom = float(dx @ dx)
            slope = float(dx @ (ys - y_mean)) / denom if denom > 0 else 0.0
            slopes.append(slope)
            intercepts.append(float(y_mean - slope * x_mean))
        self._set_fitted(
            {
                "origin_ns": origin,
                "slope_per_day": slopes,
                "intercept": intercepts,
                "channels": list(frame.channels),
            }
        )
        return self

    def _forward(
        self, values: NDArray[np.float64], timestamps: NDArray[np.int64], index: Sequence[int]
    ) -> NDArray[np.float64]:
        idx = list(index)
        days = self._days(timestamps)[..., np.newaxis]
        # empty_like keeps the caller's memory layout, so a (T, C) view of a (C, T) frame comes
        # back as rows that are contiguous per channel again.
        out = np.multiply(days, self.slope_[idx], out=np.empty_like(values))
        out += self.intercept_[idx]
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
