"""FillGaps: fill the small gaps, leave the large ones missing.

Large gaps stay NaN on purpose: windows must not span them, and the gap model learns where they
are. ``observed`` is carried over unchanged, so filled points remain marked as not measured.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gapcast.errors import InvalidInput
from gapcast.processing.base import FrameStep
from gapcast.processing.frame import SeriesFrame
from gapcast.processing.gaps import resolve_max_fill, small_gap_mask

FillMethod = Literal["linear", "ffill", "seasonal"]


class FillGaps(FrameStep):
    """Fill gaps of at most ``max_fill`` points by ``method``.

    ``max_fill`` is normally handed over by the pipeline from its detect_gaps step; ``None`` fills
    every gap. ``seasonal`` copies the value one ``season`` (grid steps) earlier — or later at the
    start of the series — and falls back to linear where neither is known.
    """

    name = "fill_gaps"

    def __init__(
        self,
        method: FillMethod = "linear",
        season: int | None = None,
        max_fill: int | str | None = None,
    ) -> None:
        self.method = method
        self.season = season
        self.max_fill = max_fill

    def get_params(self) -> dict[str, Any]:
        # max_fill belongs to detect_gaps in the stored config; the resolved limit is in `fitted`.
        return {"method": self.method, "season": self.season}

    def _get_fitted(self) -> dict[str, Any]:
        if not getattr(self, "fitted_", False):
            return {}
        return {"max_fill_points": self.max_fill_points_}

    def _set_fitted(self, fitted: dict[str, Any]) -> None:
        value = fitted["max_fill_points"]
        self.max_fill_points_: int | None = None if value is None else int(value)
        self.fitted_ = True

    def fit(self, frame: SeriesFrame) -> FillGaps:
        if self.method == "seasonal" and self.season is None:
            raise InvalidInput(
                f"{self.where()}: method='seasonal' needs season (grid steps per season)",
                field=self.field("season"),
            )
        points = None
        if self.max_fill is not None:
            points = resolve_max_fill(
                self.max_fill, frame.freq_ns, where=self.where(), field=self.field()
            )
        self._set_fitted({"max_fill_points": points})
        return self

    def transform(self, frame: SeriesFrame) -> SeriesFrame:
        self._require_fitted()
        values = frame.values
        out: NDArray[np.float64] | None = None
        for c in range(frame.n_channels):
            row = values[c]
            missing = np.isnan(row)
            if not missing.any() or missing.all():
                continue
            small = small_gap_mask(missing, self.max_fill_points_)
            if not small.any():
                continue
            if out is None:
                out = np.array(values)  # copied only once some channel really needs a fill
            if self.method == "linear":
                _fill_linear(out[c], small)
            elif self.method == "ffill":
                _fill_ffill(out[c], small)
            else:
                assert self.season is not None
                _fill_seasonal(out[c], small, self.season)
        return frame if out is None else frame.replace(values=out)


def _fill_linear(row: NDArray[np.float64], small: NDArray[np.bool_]) -> None:
    # Only the small-gap points are evaluated; np.interp holds the edge value beyond the ends.
    known = np.flatnonzero(~np.isnan(row))
    targets = np.flatnonzero(small)
    row[targets] = np.interp(targets, known, row[known])


def _fill_ffill(row: NDArray[np.float64], small: NDArray[np.bool_]) -> None:
    n = row.shape[0]
    index = np.where(np.isnan(row), -1, np.arange(n))
    np.maximum.accumulate(index, out=index)
    targets = np.flatnonzero(small)
    source = index[targets]
    # A gap at the very start has nothing before it: take the first known value instead.
    source[source < 0] = int(np.argmax(~np.isnan(row)))
    row[targets] = row[source]


def _fill_seasonal(row: NDArray[np.float64], small: NDArray[np.bool_], season: int) -> None:
    todo = np.flatnonzero(small)
    # Each pass copies from one season away; a gap longer than the season needs several passes.
    for direction in (-season, season):
        while todo.size:
            source = todo + direction
            ok = (source >= 0) & (source < row.shape[0])
            ok[ok] = ~np.isnan(row[source[ok]])
            if not ok.any():
                break
            row[todo[ok]] = row[source[ok]]
            todo = todo[~ok]
    if todo.size:
        rest = np.zeros(row.shape[0], dtype=np.bool_)
        rest[todo] = True
        _fill_linear(row, rest)
